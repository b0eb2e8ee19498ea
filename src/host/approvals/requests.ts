// Approval requests: from a kind's payload (validated by its handler, rendered in full, too large
// refused), one row per request (a dedupe key returns the pending one), its cards sent; and agents'
// `op: 'action'` rows (request_approval, install_packages, add_mcp_server, create_agent) turned into
// such requests, the agent told when one is refused.
import { getAgentGroup } from '../../db/agent-groups.ts';
import {
  createApproval,
  findLatestApprovalByKey,
  findPendingApprovalByKey,
  type Approval,
  type NewApproval,
} from '../../db/approvals.ts';
import { appendAuditEvent } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import type { ApprovalKind } from '../../db/enums.ts';
import { holdMessage } from '../../db/held-messages.ts';
import { getSession } from '../../db/sessions.ts';
import {
  approvalActionPayloads,
  isApprovalAction,
  type ApprovalAction,
} from '../../shared/session-content.ts';
import type { Logger } from '../logger.ts';
import { recordDelivered, sessionPaths } from '../sessions/index.ts';
import { toStored } from './held.ts';
import type { ApprovalRequest, RequestOutcome } from './index.ts';
import { KIND_HANDLERS } from './kinds/index.ts';
import { notifyAgent, type NotifyAgentDeps } from './notify-agent.ts';
import { MAX_RENDERED_CHARS, renderEffect } from './render.ts';

export interface ApprovalsSettings {
  /** Time to live of a request that names none. */
  ttlMs: number;
  /** The longest time to live a request may ask for. */
  maxTtlMs: number;
}

export const DEFAULT_APPROVALS: ApprovalsSettings = { ttlMs: 24 * 3_600_000, maxTtlMs: 30 * 86_400_000 };

export interface RequestsDeps {
  db: Db;
  clock: () => Date;
  log: Logger;
  settings: ApprovalsSettings;
  /** Shows a new approval to its approvers; returns how many cards were sent. */
  sendCards(approval: Approval): Promise<number>;
}

/** Agent actions and the approval kind each becomes. */
const ACTION_KINDS: Record<ApprovalAction, ApprovalKind> = {
  request_approval: 'agent_action',
  install_packages: 'install_packages',
  add_mcp_server: 'add_mcp_server',
  create_agent: 'create_agent',
};

/** A request checked and ready to store: the payload as the handler prepared it, shown in full. */
interface CheckedRequest {
  agentGroupId: string | null;
  payload: unknown;
  rendered: string;
  ttlMs: number;
}

export async function requestApproval(deps: RequestsDeps, req: ApprovalRequest): Promise<RequestOutcome> {
  const checked = checkRequest(deps.db, deps.settings, req);
  if ('error' in checked) return { ok: false, error: checked.error };
  const { approval, created } = storeRequest(deps.db, req, checked, deps.clock());
  const cardsSent = created ? await deps.sendCards(approval) : 0;
  if (created)
    deps.log.info({ approvalId: approval.id, kind: approval.kind, cardsSent }, 'approval requested');
  return { ok: true, approval, created, cardsSent };
}

function checkRequest(
  db: Db,
  settings: ApprovalsSettings,
  req: ApprovalRequest,
): CheckedRequest | { error: string } {
  const handler = KIND_HANDLERS[req.kind];
  if (!handler) return { error: `approvals of kind ${req.kind} are not handled by this host` };
  const agentGroupId = req.agentGroupId ?? null;
  if (handler.needsAgentGroup && !agentGroupId)
    return { error: `a ${req.kind} request must name its agent group` };
  if (agentGroupId && !getAgentGroup(db, agentGroupId))
    return { error: `there is no agent group ${agentGroupId}` };
  const parsed = handler.schema.safeParse(req.payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { error: `${req.kind}: ${issue?.path.join('.') || 'payload'}: ${issue?.message}` };
  }
  const payload = handler.prepare ? handler.prepare(parsed.data, db, { agentGroupId }) : parsed.data;
  const ttlMs = req.ttlMs ?? settings.ttlMs;
  if (!(Number.isInteger(ttlMs) && ttlMs >= 1000 && ttlMs <= settings.maxTtlMs)) {
    return { error: `ttlMs must be a whole number from 1000 to ${settings.maxTtlMs}` };
  }
  const rendered = renderEffect(handler.effect(payload, db, agentGroupId), payload);
  if (rendered.length > MAX_RENDERED_CHARS) {
    return {
      error: `the request is too large to show in full on a card (${rendered.length} characters, at most ${MAX_RENDERED_CHARS}); nothing was asked`,
    };
  }
  return { agentGroupId, payload, rendered, ttlMs };
}

/** One transaction: the pending row for the dedupe key, else a new audited one; the held message kept. */
function storeRequest(
  db: Db,
  req: ApprovalRequest,
  checked: CheckedRequest,
  now: Date,
): { approval: Approval; created: boolean } {
  const nowIso = now.toISOString();
  return db
    .transaction(() => {
      const pending = req.dedupeKey ? findPendingApprovalByKey(db, req.dedupeKey) : undefined;
      const row =
        pending ??
        createApproval(
          db,
          {
            kind: req.kind,
            agentGroupId: checked.agentGroupId,
            sessionId: req.sessionId ?? null,
            requestedBy: req.requestedBy,
            payload: checked.payload as NewApproval['payload'],
            renderedEffect: checked.rendered,
            expiresAt: new Date(now.getTime() + checked.ttlMs).toISOString(),
            expiryAction: req.expiryAction ?? 'reject',
            dedupeKey: req.dedupeKey ?? null,
          },
          nowIso,
        );
      if (!pending) auditRequested(db, req.requestedBy, row, nowIso);
      if (req.hold) holdMessage(db, row.id, req.hold.platformMessageId, toStored(req.hold), nowIso);
      return { approval: row, created: !pending };
    })
    .immediate();
}

function auditRequested(db: Db, actor: string, approval: Approval, now: string): void {
  appendAuditEvent(
    db,
    {
      actor,
      action: 'approval.requested',
      targetKind: 'approval',
      targetId: approval.id,
      payloadHash: approval.payloadHash,
      detail: { kind: approval.kind, expiresAt: approval.expiresAt, expiryAction: approval.expiryAction },
    },
    now,
  );
}

export interface AgentActionDeps extends RequestsDeps, NotifyAgentDeps {}

/** The fields of an agent's `op: 'action'` row that an approval request is made from. */
export interface AgentActionRow {
  id: string;
  action: string;
  payload: Record<string, unknown>;
}

/** Delivery hands over an agent's request_approval, install_packages, add_mcp_server, create_agent. */
export async function applyAgentAction(
  deps: AgentActionDeps,
  sessionId: string,
  row: AgentActionRow,
): Promise<void> {
  const { db, clock, log } = deps;
  const session = getSession(db, sessionId);
  if (!session || !isApprovalAction(row.action)) return;
  const paths = sessionPaths(deps.dataDir, session.agentGroupId, session.id);
  const dedupeKey = `action:${sessionId}:${row.id}`;
  const done = (status: 'delivered' | 'failed') =>
    recordDelivered(paths, {
      messageOutId: row.id,
      platformMessageId: null,
      status,
      deliveredAt: clock().toISOString(),
    });
  if (findLatestApprovalByKey(db, dedupeKey)) return void done('delivered'); // asked before a crash
  // The runner checked it too; the host never trusts it.
  const checked = approvalActionPayloads[row.action].safeParse(row.payload);
  const outcome = checked.success
    ? await requestApproval(deps, {
        kind: ACTION_KINDS[row.action],
        agentGroupId: session.agentGroupId,
        sessionId,
        requestedBy: `agent:${session.agentGroupId}`,
        payload: checked.data,
        dedupeKey,
      })
    : {
        ok: false as const,
        error: `${row.action}: ${checked.error.issues[0]?.message ?? 'invalid payload'}`,
      };
  if (outcome.ok) return void done('delivered');
  done('failed');
  log.warn(
    { sessionId, action: row.action, error: outcome.error },
    'approval request refused; the agent is told',
  );
  notifyAgent(
    deps,
    sessionId,
    { event: 'approval_request_refused', action: row.action, messageOutId: row.id, error: outcome.error },
    `refused:${row.id}`,
  );
}
