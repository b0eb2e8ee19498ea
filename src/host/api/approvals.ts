// The admin API's approvals: list (filter by status, cursor pages), show, decide. The decider is the
// token's user, authorized by the access check when the decision arrives; a user sees only the
// approvals they could decide (cards show env values and other payload fields in full).
import { Hono } from 'hono';
import { z } from 'zod';
import { getApproval, listApprovals, type Approval } from '../../db/approvals.ts';
import type { Db } from '../../db/connection.ts';
import { APPROVAL_STATUSES } from '../../db/enums.ts';
import { listRoles } from '../../db/roles.ts';
import { can } from '../access/index.ts';
import type { DecisionInput, DecisionOutcome, DecisionRefusal } from '../approvals/index.ts';
import type { ApiEnv } from './auth.ts';
import type { ApiOperation } from './openapi.ts';
import { badRequest } from './bad-request.ts';
import { limitBody, readJsonBody } from './json-body.ts';
import { decodeCursor, encodeCursor, pageOf, pageQuery } from './pagination.ts';

export interface ApprovalsApiDeps {
  db: Db;
  submitDecision(input: DecisionInput): Promise<DecisionOutcome>;
}

const listQuery = pageQuery.extend({ status: z.enum(APPROVAL_STATUSES).optional() }).strict();
const decisionBody = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  payloadHash: z.string().regex(/^[0-9a-f]{64}$/, 'the sha256 (64 hex digits) of the payload you looked at'),
  note: z.string().trim().min(1).max(1000).optional(),
  editedPayload: z.json().optional(),
  choice: z.string().min(1).max(200).optional(),
});

const nullable = z.string().nullable();
const approvalView = z.object({
  id: z.string(),
  kind: z.string(),
  status: z.enum(APPROVAL_STATUSES),
  agentGroupId: nullable,
  sessionId: nullable,
  requestedBy: z.string(),
  payload: z.unknown(),
  payloadHash: z.string(),
  renderedEffect: z.string(),
  expiresAt: z.string(),
  expiryAction: z.string(),
  createdAt: z.string(),
  decidedBy: nullable,
  decidedAt: nullable,
  note: nullable,
  decision: z
    .object({
      via: z.string(),
      choice: z.string().optional(),
      edited: z.object({ beforeHash: z.string(), afterHash: z.string() }).optional(),
    })
    .nullable(),
  appliedPayload: z.unknown(),
});
const oneApproval = z.object({ approval: approvalView });

export const approvalsOperations: ApiOperation[] = [
  {
    method: 'get',
    path: '/approvals',
    summary: 'approvals the token may decide, newest first',
    query: listQuery,
    response: pageOf(approvalView),
    errors: [400, 403],
  },
  {
    method: 'get',
    path: '/approvals/:id',
    summary: 'one approval',
    response: oneApproval,
    errors: [403, 404],
  },
  {
    method: 'post',
    path: '/approvals/:id/decision',
    summary: 'approve (with an edit or a choice) or reject, as the token user',
    body: decisionBody,
    response: oneApproval,
    errors: [400, 403, 404, 409, 410, 413, 415, 422],
  },
];

const STATUS_OF: Record<DecisionRefusal, 403 | 404 | 409 | 410 | 422> = {
  unauthorized: 403,
  not_found: 404,
  already_decided: 409,
  expired: 410,
  payload_changed: 409,
  invalid_edit: 422,
  invalid_choice: 422,
  apply_failed: 422,
};

export function approvalsApi(deps: ApprovalsApiDeps): Hono<ApiEnv> {
  const { db } = deps;
  const app = new Hono<ApiEnv>();

  app.get('/', (c) => {
    const query = listQuery.safeParse(c.req.query());
    if (!query.success) return badRequest(c, query.error);
    const scope = visibleGroups(c.get('userId'));
    if (scope === 'none') return c.json({ error: 'only owners and admins may read approvals' }, 403);
    const after = query.data.cursor === undefined ? undefined : decodeCursor(query.data.cursor);
    if (query.data.cursor !== undefined && !after)
      return c.json({ error: 'cursor: not a cursor this API gave' }, 400);
    const items = listApprovals(db, {
      status: query.data.status,
      agentGroupIds: scope === 'all' ? undefined : scope,
      after,
      limit: query.data.limit + 1,
    });
    const page = items.slice(0, query.data.limit);
    const last = page.at(-1);
    const nextCursor = items.length > query.data.limit && last ? encodeCursor(last) : null;
    return c.json({ items: page.map(view), nextCursor });
  });

  app.get('/:id', (c) => {
    const approval = getApproval(db, c.req.param('id'));
    if (!approval) return c.json({ error: `there is no approval ${c.req.param('id')}` }, 404);
    if (!mayRead(c.get('userId'), approval)) return c.json({ error: 'you may not read this approval' }, 403);
    return c.json({ approval: view(approval) });
  });

  app.post('/:id/decision', limitBody(), async (c) => {
    const body = await readJsonBody(c, decisionBody);
    if (!body.ok) return body.response;
    const outcome = await deps.submitDecision({
      approvalId: c.req.param('id'),
      decider: { userId: c.get('userId') },
      via: 'api',
      ...body.value,
    });
    if (outcome.ok) return c.json({ approval: view(outcome.approval) });
    return c.json({ error: outcome.error, code: outcome.code }, STATUS_OF[outcome.code]);
  });

  return app;

  /** 'all' for owners and global admins; else the groups the user administers; 'none' without any. */
  function visibleGroups(userId: string): 'all' | 'none' | string[] {
    if (can(db, userId, { kind: 'decide_approval', agentGroupId: null }).allowed) return 'all';
    const groups = listRoles(db, userId)
      .flatMap((r) => (r.role === 'admin' && r.agentGroupId ? [r.agentGroupId] : []))
      .filter((g) => can(db, userId, { kind: 'decide_approval', agentGroupId: g }).allowed);
    return groups.length > 0 ? groups : 'none';
  }

  function mayRead(userId: string, approval: Approval): boolean {
    return can(db, userId, { kind: 'decide_approval', agentGroupId: approval.agentGroupId }).allowed;
  }
}

/** What the API shows of an approval: everything a decider needs, the hash to send back included. */
function view(a: Approval): z.infer<typeof approvalView> {
  return {
    id: a.id,
    kind: a.kind,
    status: a.status,
    agentGroupId: a.agentGroupId,
    sessionId: a.sessionId,
    requestedBy: a.requestedBy,
    payload: a.payload,
    payloadHash: a.payloadHash,
    renderedEffect: a.renderedEffect,
    expiresAt: a.expiresAt,
    expiryAction: a.expiryAction,
    createdAt: a.createdAt,
    decidedBy: a.decidedBy,
    decidedAt: a.decidedAt,
    note: a.note,
    decision: a.decision,
    appliedPayload: a.appliedPayload,
  };
}
