// GET /api/tasks: the scheduled tasks of every active session, as `warren tasks list --json` shows
// them, ordered by session and task id. Sessions whose files cannot be read are named in `unreadable`.
import { Hono } from 'hono';
import { z } from 'zod';
import type { Db } from '../../db/connection.ts';
import { listTasks } from '../scheduling/index.ts';
import { installAdminsOnly, type ApiEnv } from './auth.ts';
import { badCursor, badRequest } from './bad-request.ts';
import type { ApiOperation } from './openapi.ts';
import { keysetPage, pageOf, pageQuery } from './pagination.ts';

const nullable = z.string().nullable();
const taskView = z.object({
  sessionId: z.string(),
  agentGroupId: z.string(),
  taskId: z.string(),
  prompt: z.string(),
  cron: nullable,
  at: nullable,
  timezone: nullable,
  catchUp: z.enum(['all', 'skip', 'latest']).nullable().optional(),
  status: z.enum(['active', 'paused', 'finished', 'cancelled']),
  nextRun: nullable,
  lastRun: z.object({ scheduledFor: z.string(), status: z.enum(['completed', 'failed']) }).nullable(),
  failures: z.number().int(),
});
const listQuery = pageQuery
  .extend({ all: z.enum(['true', 'false']).default('false').describe('finished and cancelled too') })
  .strict();

export const tasksOperations: ApiOperation[] = [
  {
    method: 'get',
    path: '/tasks',
    summary: 'active and paused tasks (all=true: finished and cancelled too)',
    query: listQuery,
    response: pageOf(taskView).extend({
      unreadable: z.array(z.object({ sessionId: z.string(), error: z.string() })),
    }),
    errors: [400, 403],
  },
];

export function tasksApi(db: Db, dataDir: string): Hono<ApiEnv> {
  return new Hono<ApiEnv>().get('/', installAdminsOnly(db, 'read tasks'), (c) => {
    const query = listQuery.safeParse(c.req.query());
    if (!query.success) return badRequest(c, query.error);
    const { tasks, unreadable } = listTasks(db, dataDir, { all: query.data.all === 'true' });
    const page = keysetPage(tasks, (t) => ({ createdAt: t.sessionId, id: t.taskId }), query.data);
    if (!page) return badCursor(c);
    const items: z.infer<typeof taskView>[] = page.items;
    return c.json({ items, nextCursor: page.nextCursor, unreadable });
  });
}
