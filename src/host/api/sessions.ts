// /api/sessions: the conversations Warren holds, newest first, one session with its recent
// deliveries, and stop (the chat's next message starts a new session; see `warren sessions`).
import { Hono } from 'hono';
import { z } from 'zod';
import type { Db } from '../../db/connection.ts';
import { listRecentAttempts } from '../../db/deliveries.ts';
import { CONTAINER_STATUSES, SESSION_STATUSES } from '../../db/enums.ts';
import { getSession, listSessionsPage } from '../../db/sessions.ts';
import { sessionViewer, stopSession } from '../sessions/index.ts';
import { installAdminsOnly, type ApiEnv } from './auth.ts';
import { badCursor, badRequest } from './bad-request.ts';
import type { ApiOperation } from './openapi.ts';
import { decodeCursor, encodeCursor, pageOf, pageQuery } from './pagination.ts';

const nullable = z.string().nullable();
const sessionView = z.object({
  id: z.string(),
  agentGroup: z.string(),
  chat: nullable,
  threadId: nullable,
  status: z.enum(SESSION_STATUSES),
  containerStatus: z.enum(CONTAINER_STATUSES),
  lastActive: nullable,
  createdAt: z.string(),
  closedAt: nullable,
  closedReason: nullable,
});
const listQuery = pageQuery
  .extend({ all: z.enum(['true', 'false']).default('false').describe('closed sessions too') })
  .strict();

export const sessionsOperations: ApiOperation[] = [
  {
    method: 'get',
    path: '/sessions',
    summary: 'active sessions (all=true: closed ones too), newest first',
    query: listQuery,
    response: pageOf(sessionView),
    errors: [400, 403],
  },
  {
    method: 'get',
    path: '/sessions/:id',
    summary: 'one session and its ten most recent delivery attempts',
    response: z.object({
      session: sessionView,
      recentDeliveries: z.array(
        z.object({ messageOutId: z.string(), status: z.string(), startedAt: z.string() }).loose(),
      ),
    }),
    errors: [403, 404],
  },
  {
    method: 'post',
    path: '/sessions/:id/stop',
    summary: "close the session: the chat's next message starts a new one",
    response: z.object({ session: sessionView }),
    errors: [403, 404, 409],
  },
];

export function sessionsApi(db: Db, clock: () => Date): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.use(installAdminsOnly(db, 'read or stop sessions'));

  app.get('/', (c) => {
    const query = listQuery.safeParse(c.req.query());
    if (!query.success) return badRequest(c, query.error);
    const { cursor, limit, all } = query.data;
    const before = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && !before) return badCursor(c);
    const rows = listSessionsPage(db, {
      all: all === 'true',
      limit: limit + 1,
      ...(before ? { before } : {}),
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const view = sessionViewer(db);
    return c.json({
      items: page.map(view),
      nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
    });
  });

  app.get('/:id', (c) => {
    const session = getSession(db, c.req.param('id'));
    if (!session) return c.json({ error: `no session ${c.req.param('id')}` }, 404);
    const recentDeliveries = listRecentAttempts(db, { failedOnly: false, limit: 10, sessionId: session.id });
    return c.json({ session: sessionViewer(db)(session), recentDeliveries });
  });

  app.post('/:id/stop', (c) => {
    const outcome = stopSession(db, c.req.param('id'), `api:${c.get('userId')}`, clock());
    if (!outcome.ok) return c.json({ error: outcome.error }, outcome.reason === 'not_found' ? 404 : 409);
    return c.json({ session: sessionViewer(db)(getSession(db, outcome.session.id)!) });
  });

  return app;
}
