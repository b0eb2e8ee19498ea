// A decision, applied exactly once: one BEGIN IMMEDIATE transaction re-reads the row, checks the
// decider's right (now, not when the card was sent), checks that the payload is the one the decider
// saw, applies the kind's effect and settles the row with a conditional UPDATE. A second decider
// (another admin, another process) waits for the lock and then finds the row settled. Every
// decision and every refused attempt is audited with the payload hash.
import { appendAuditEvent } from '../../db/audit.ts';
import {
  getApproval,
  payloadHashOf,
  settleApproval,
  type Approval,
  type ApprovalDecisionDetail,
} from '../../db/approvals.ts';
import type { Db } from '../../db/connection.ts';
import { mayDecide } from './approvers.ts';
import { expireApproval, isPastExpiry } from './expiry.ts';
import { ApplyError, KIND_HANDLERS, type ApplyContext, type KindHandler } from './kinds/index.ts';
import type { DecisionInput, DecisionOutcome, DecisionRefusal } from './index.ts';

/** The actor recorded for a decider: their user id, or the operator's CLI login. */
const actorOf = (decider: DecisionInput['decider']): string =>
  'userId' in decider ? decider.userId : decider.operator;

class Refused extends Error {
  constructor(
    readonly code: DecisionRefusal,
    message: string,
  ) {
    super(message);
  }
}

export function applyDecision(db: Db, input: DecisionInput, now: string): DecisionOutcome {
  const actor = actorOf(input.decider);
  try {
    const approval = db.transaction(() => settle(db, input, actor, now)).immediate();
    return { ok: true, approval };
  } catch (err) {
    if (!(err instanceof Refused || err instanceof ApplyError)) throw err;
    const code = err instanceof Refused ? err.code : 'apply_failed';
    // Refused as expired: settle it the way the sweep would, now, so nobody tries again.
    if (code === 'expired') expireApproval(db, input.approvalId, now);
    const approval = getApproval(db, input.approvalId);
    // The transaction was rolled back: the refusal is recorded on its own.
    appendAuditEvent(
      db,
      {
        actor,
        action: 'approval.decision_refused',
        targetKind: 'approval',
        targetId: input.approvalId,
        payloadHash: approval?.payloadHash ?? null,
        detail: {
          code,
          via: input.via,
          decision: input.decision,
          seenHash: /^[0-9a-f]{64}$/.test(input.payloadHash) ? input.payloadHash : null,
          reason: err.message,
        },
      },
      now,
    );
    return { ok: false, code, error: err.message, ...(approval ? { approval } : {}) };
  }
}

function settle(db: Db, input: DecisionInput, actor: string, now: string): Approval {
  const approval = decidableApproval(db, input, now);
  const handler = KIND_HANDLERS[approval.kind];
  if (!handler) throw new ApplyError(`approvals of kind ${approval.kind} cannot be applied by this host`);
  const stored = handler.schema.safeParse(approval.payload);
  if (!stored.success)
    throw new ApplyError(`the stored payload is not valid: ${stored.error.issues[0]?.message}`);

  const approve = input.decision === 'approve';
  const { applied, detail } = decidedPayload(handler, approval, stored.data, input);
  const ctx: ApplyContext = { db, now, actor };
  if (approve) handler.apply(ctx, approval, applied, input.choice);
  else handler.onReject?.(ctx, approval, stored.data);
  const settled = settleApproval(
    db,
    approval.id,
    {
      status: approve ? 'approved' : 'rejected',
      decidedBy: actor,
      note: input.note ?? null,
      decision: detail,
      appliedPayload: approve ? applied : null,
    },
    now,
  );
  // Cannot happen inside BEGIN IMMEDIATE after reading it pending; a guard, not a path.
  if (!settled) throw new Refused('already_decided', `approval ${approval.id} was decided meanwhile`);
  appendAuditEvent(
    db,
    {
      actor,
      action: 'approval.decided',
      targetKind: 'approval',
      targetId: approval.id,
      payloadHash: approval.payloadHash,
      detail: {
        kind: approval.kind,
        status: approve ? 'approved' : 'rejected',
        via: input.via,
        ...(detail.choice ? { choice: detail.choice } : {}),
        ...(detail.edited ? { edited: { ...detail.edited } } : {}),
        ...(input.note ? { note: input.note } : {}),
      },
    },
    now,
  );
  return getApproval(db, approval.id)!;
}

/** The approval, if this decider may decide it now, as they saw it; else why not (Refused). */
function decidableApproval(db: Db, input: DecisionInput, now: string): Approval {
  const approval = getApproval(db, input.approvalId);
  if (!approval) throw new Refused('not_found', `there is no approval ${input.approvalId}`);
  if ('userId' in input.decider) {
    const right = mayDecide(db, input.decider.userId, approval.agentGroupId);
    if (!right.allowed)
      throw new Refused('unauthorized', `you may not decide this approval: ${right.reason}`);
  }
  if (approval.status !== 'pending') {
    throw new Refused(
      'already_decided',
      `approval ${approval.id} was already decided (${approval.status}${approval.decidedBy ? ` by ${approval.decidedBy}` : ''})`,
    );
  }
  // Checked here, inside the decision's transaction and against the caller's clock: a pending row
  // past its time is expired whether or not the sweep has run (the host may be stopped).
  if (isPastExpiry(approval, now)) {
    throw new Refused(
      'expired',
      `approval ${approval.id} expired at ${approval.expiresAt} and can no longer be decided; ` +
        `it is settled as its expiry says (${approval.expiryAction === 'approve' ? 'approved on expiry' : 'rejected'})`,
    );
  }
  // Both: the hash the decider saw is the row's, and the row's payload still hashes to it.
  if (
    input.payloadHash !== approval.payloadHash ||
    payloadHashOf(approval.payload) !== approval.payloadHash
  ) {
    throw new Refused(
      'payload_changed',
      `the request changed after it was shown (shown ${short(input.payloadHash)}, now ${short(payloadHashOf(approval.payload))}); look at it again before deciding`,
    );
  }
  return approval;
}

/** The payload approving applies (the reviewer's edit, if any) and what the decision records of it. */
function decidedPayload(
  handler: KindHandler,
  approval: Approval,
  stored: unknown,
  input: DecisionInput,
): { applied: unknown; detail: ApprovalDecisionDetail } {
  const approve = input.decision === 'approve';
  const detail: ApprovalDecisionDetail = { via: input.via };
  let applied = stored;
  if (input.editedPayload !== undefined) {
    if (!approve || !handler.editable) {
      throw new Refused(
        'invalid_edit',
        `a ${approval.kind} request cannot be edited${approve ? '' : ' when rejecting'}`,
      );
    }
    const edited = handler.schema.safeParse(input.editedPayload);
    if (!edited.success) {
      const issue = edited.error.issues[0];
      throw new Refused(
        'invalid_edit',
        `the edited payload is not valid: ${issue?.path.join('.') || 'payload'}: ${issue?.message}`,
      );
    }
    applied = edited.data;
    detail.edited = { beforeHash: approval.payloadHash, afterHash: payloadHashOf(edited.data) };
  }
  if (input.choice !== undefined) {
    if (!approve || !handler.choices)
      throw new Refused('invalid_choice', `a ${approval.kind} request has no choices`);
    detail.choice = input.choice;
  }
  return { applied, detail };
}

const short = (hash: string) =>
  /^[0-9a-f]{64}$/.test(hash) ? `${hash.slice(0, 12)}…` : JSON.stringify(hash.slice(0, 20));
