// GET /api/users: the people and bots Warren knows, each with their platform accounts and roles, as
// `warren users list --json` shows them plus accounts and roles; oldest first.
import { Hono } from 'hono';
import { z } from 'zod';
import type { Db } from '../../db/connection.ts';
import { ROLES, USER_KINDS, USER_STATUSES } from '../../db/enums.ts';
import { listRoles } from '../../db/roles.ts';
import { listIdentities, listUsers } from '../../db/users.ts';
import { installAdminsOnly, type ApiEnv } from './auth.ts';
import { badCursor, badRequest } from './bad-request.ts';
import type { ApiOperation } from './openapi.ts';
import { keysetPage, pageOf, pageQuery } from './pagination.ts';

const userView = z.object({
  id: z.string(),
  displayName: z.string().nullable(),
  kind: z.enum(USER_KINDS),
  status: z.enum(USER_STATUSES),
  mergedInto: z.string().nullable(),
  /** KIND:EXTERNAL_ID, e.g. telegram:123. */
  accounts: z.array(z.string()),
  roles: z.array(z.object({ role: z.enum(ROLES), agentGroupId: z.string().nullable() })),
  createdAt: z.string(),
});
const listQuery = pageQuery
  .extend({ all: z.enum(['true', 'false']).default('false').describe('merged users too') })
  .strict();

export const usersOperations: ApiOperation[] = [
  {
    method: 'get',
    path: '/users',
    summary: 'users with their accounts and roles, oldest first',
    query: listQuery,
    response: pageOf(userView),
    errors: [400, 403],
  },
];

export function usersApi(db: Db): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.use(installAdminsOnly(db, 'read users'));
  app.get('/', (c) => {
    const query = listQuery.safeParse(c.req.query());
    if (!query.success) return badRequest(c, query.error);
    const page = keysetPage(
      listUsers(db, { includeMerged: query.data.all === 'true' }),
      (u) => u,
      query.data,
    );
    if (!page) return badCursor(c);
    const items = page.items.map((u): z.infer<typeof userView> => ({
      id: u.id,
      displayName: u.displayName,
      kind: u.kind,
      status: u.status,
      mergedInto: u.mergedInto,
      accounts: listIdentities(db, u.id).map((i) => `${i.kind}:${i.externalId}`),
      roles: listRoles(db, u.id).map((r) => ({ role: r.role, agentGroupId: r.agentGroupId ?? null })),
      createdAt: u.createdAt,
    }));
    return c.json({ items, nextCursor: page.nextCursor });
  });
  return app;
}
