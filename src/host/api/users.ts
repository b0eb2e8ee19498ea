// /api/users: the people and bots Warren knows, each with their platform accounts, roles and daily
// token budget, oldest first; the accounts that spoke but are linked to no known person (`warren
// users unmapped`); and setting a user's daily token budget (`warren users budget`).
import { Hono } from 'hono';
import { z } from 'zod';
import type { Db } from '../../db/connection.ts';
import { ROLES, USER_KINDS, USER_STATUSES } from '../../db/enums.ts';
import { listRoles } from '../../db/roles.ts';
import {
  changeUserDailyTokenBudget,
  dailyTokenBudget,
  listUserDailyTokenBudgets,
} from '../../db/user-budgets.ts';
import { getUser, listIdentities, listUsers } from '../../db/users.ts';
import { listUnmappedAccounts } from '../access/index.ts';
import { installAdminsOnly, type ApiEnv } from './auth.ts';
import { badCursor, badRequest } from './bad-request.ts';
import { limitBody, readJsonBody } from './json-body.ts';
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
  /** Tokens per UTC day the model gateway lets calls for this user use; null: no limit of their own. */
  dailyTokenBudget: z.number().int().nullable(),
  createdAt: z.string(),
});
const unmappedAccount = z.object({
  account: z.string(),
  kind: z.string(),
  externalId: z.string(),
  userId: z.string(),
  displayName: z.string().nullable(),
  userKind: z.enum(USER_KINDS),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  droppedMessages: z.number().int(),
  memberOf: z.array(z.string()),
  likelyPeople: z.array(z.object({ userId: z.string(), displayName: z.string() })),
  /** The one command that maps it to a person. */
  command: z.string(),
});
const unmappedQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });
const budgetBody = z.strictObject({ dailyTokenBudget: dailyTokenBudget.nullable() });
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
  {
    method: 'get',
    path: '/users/unmapped',
    summary: 'accounts that spoke but are linked to no known person, most recently seen first',
    query: unmappedQuery,
    response: z.object({ items: z.array(unmappedAccount) }),
    errors: [400, 403],
  },
  {
    method: 'put',
    path: '/users/:id/budget',
    summary: "set (a number) or clear (null) the user's daily token budget",
    body: budgetBody,
    response: z.object({
      userId: z.string(),
      before: z.number().int().nullable(),
      after: z.number().int().nullable(),
    }),
    errors: [400, 403, 404, 409, 413, 415],
  },
];

export function usersApi(db: Db, clock: () => Date): Hono<ApiEnv> {
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
    const budgets = listUserDailyTokenBudgets(db);
    const items = page.items.map((u): z.infer<typeof userView> => ({
      id: u.id,
      displayName: u.displayName,
      kind: u.kind,
      status: u.status,
      mergedInto: u.mergedInto,
      accounts: listIdentities(db, u.id).map((i) => `${i.kind}:${i.externalId}`),
      roles: listRoles(db, u.id).map((r) => ({ role: r.role, agentGroupId: r.agentGroupId ?? null })),
      dailyTokenBudget: budgets.get(u.id) ?? null,
      createdAt: u.createdAt,
    }));
    return c.json({ items, nextCursor: page.nextCursor });
  });

  app.get('/unmapped', (c) => {
    const query = unmappedQuery.safeParse(c.req.query());
    if (!query.success) return badRequest(c, query.error);
    return c.json({ items: listUnmappedAccounts(db, { limit: query.data.limit }) });
  });

  app.put('/:id/budget', limitBody(), async (c) => {
    const body = await readJsonBody(c, budgetBody);
    if (!body.ok) return body.response;
    const user = getUser(db, c.req.param('id'));
    if (!user) return c.json({ error: `no user ${c.req.param('id')}` }, 404);
    if (user.mergedInto)
      return c.json({ error: `${user.id} was merged into ${user.mergedInto}; change that user` }, 409);
    const actor = `api:${c.get('userId')}`;
    return c.json(
      changeUserDailyTokenBudget(db, user.id, body.value.dailyTokenBudget, actor, clock().toISOString()),
    );
  });
  return app;
}
