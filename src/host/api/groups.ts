// GET /api/groups: every agent group with its model, whether its key is there (never the key), and
// the tokens it used today, as `warren groups list --json` shows them.
import { Hono } from 'hono';
import { z } from 'zod';
import { listAgentGroups, modelConfigSchema } from '../../db/agent-groups.ts';
import type { Db } from '../../db/connection.ts';
import { PROVIDERS } from '../../db/enums.ts';
import { tokensUsedByGroup } from '../../db/model-usage.ts';
import { groupModelView, utcDay } from '../gateway/index.ts';
import { installAdminsOnly, type ApiEnv } from './auth.ts';
import { badCursor, badRequest } from './bad-request.ts';
import type { ApiOperation } from './openapi.ts';
import { keysetPage, pageOf, pageQuery } from './pagination.ts';

const groupView = z.object({
  id: z.string(),
  folder: z.string(),
  name: z.string(),
  provider: z.enum(PROVIDERS),
  model: z.string().nullable(),
  baseUrl: z.string().nullable(),
  /** `NAME present`, `NAME MISSING`, `none` (a local server needs none) or `-` (scripted). */
  key: z.string(),
  modelConfig: modelConfigSchema,
  tokensToday: z.number().int(),
  createdAt: z.string(),
});
const listQuery = pageQuery.strict();

export const groupsOperations: ApiOperation[] = [
  {
    method: 'get',
    path: '/groups',
    summary: 'every agent group: model, key present or not, tokens used today; oldest first',
    query: listQuery,
    response: pageOf(groupView),
    errors: [400, 403],
  },
];

export interface GroupsApiDeps {
  db: Db;
  clock: () => Date;
  /** Whether a secret by that name is set (the model keys the host loaded). */
  hasSecret: (name: string) => boolean;
}

export function groupsApi({ db, clock, hasSecret }: GroupsApiDeps): Hono<ApiEnv> {
  return new Hono<ApiEnv>().get('/', installAdminsOnly(db, 'read agent groups'), (c) => {
    const query = listQuery.safeParse(c.req.query());
    if (!query.success) return badRequest(c, query.error);
    const day = utcDay(clock());
    const page = keysetPage(listAgentGroups(db), (g) => g, query.data);
    if (!page) return badCursor(c);
    const items = page.items.map((g): z.infer<typeof groupView> => ({
      id: g.id,
      ...groupModelView(g, (name) => (hasSecret(name) ? 'set' : undefined)),
      tokensToday: tokensUsedByGroup(db, g.id, day.start, day.end),
      createdAt: g.createdAt,
    }));
    return c.json({ items, nextCursor: page.nextCursor });
  });
}
