// GET /api/usage: model tokens per (agent group, user), biggest spender first, as `warren usage
// --json` shows them; filters by group folder, user id and a start time.
import { Hono } from 'hono';
import { z } from 'zod';
import { getAgentGroupByFolder, listAgentGroups } from '../../db/agent-groups.ts';
import type { Db } from '../../db/connection.ts';
import { usageTotals, type UsageFilter } from '../../db/model-usage.ts';
import { getUser } from '../../db/users.ts';
import { installAdminsOnly, type ApiEnv } from './auth.ts';
import { badRequest } from './bad-request.ts';
import type { ApiOperation } from './openapi.ts';

const usageRow = z.object({
  group: z.string(),
  agentGroupId: z.string(),
  userId: z.string().nullable(),
  userName: z.string().nullable(),
  requests: z.number().int(),
  errors: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  cacheReadTokens: z.number().int(),
  cacheWriteTokens: z.number().int(),
  firstAt: z.string(),
  lastAt: z.string(),
});
const query = z.strictObject({
  group: z.string().min(1).max(200).optional(),
  user: z.string().min(1).max(200).optional(),
  since: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
});

export const usageOperations: ApiOperation[] = [
  {
    method: 'get',
    path: '/usage',
    summary: 'model tokens per agent group and user, biggest spender first',
    query,
    response: z.object({ items: z.array(usageRow) }),
    errors: [400, 403, 404],
  },
];

export function usageApi(db: Db): Hono<ApiEnv> {
  return new Hono<ApiEnv>().get('/', installAdminsOnly(db, 'read model usage'), (c) => {
    const parsed = query.safeParse(c.req.query());
    if (!parsed.success) return badRequest(c, parsed.error);
    const { group, user, since } = parsed.data;
    const filter: UsageFilter = {};
    if (group !== undefined) {
      const found = getAgentGroupByFolder(db, group);
      if (!found) return c.json({ error: `group: no agent group "${group}"` }, 404);
      filter.agentGroupId = found.id;
    }
    if (user !== undefined) filter.userId = user;
    if (since !== undefined) filter.since = new Date(since).toISOString();
    const folders = new Map(listAgentGroups(db).map((g) => [g.id, g.folder]));
    const items = usageTotals(db, filter).map((t): z.infer<typeof usageRow> => ({
      ...t,
      group: folders.get(t.agentGroupId) ?? t.agentGroupId,
      userName: t.userId === null ? null : (getUser(db, t.userId)?.displayName ?? null),
    }));
    return c.json({ items });
  });
}
