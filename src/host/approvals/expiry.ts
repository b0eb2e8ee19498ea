// Approvals whose time is up. The sweep settles them as their expiry action says; a decision that
// arrives too late settles its approval the same way (apply-decision.ts). Fail closed: an effect
// that cannot be applied on expiry leaves the approval rejected.
import { appendAuditEvent } from '../../db/audit.ts';
import { getApproval, listExpiredApprovals, settleApproval } from '../../db/approvals.ts';
import type { Db } from '../../db/connection.ts';
import { errorText } from '../../shared/error-text.ts';
import type { Logger } from '../logger.ts';
import { KIND_HANDLERS, type ApplyContext } from './kinds/index.ts';

/** Whether a row's time is up at `now` (both ISO times; compared as instants, not as strings). */
export const isPastExpiry = (row: { expiresAt: string }, now: string): boolean =>
  Date.parse(row.expiresAt) <= Date.parse(now);

/** The sweep's share: settles up to `limit` approvals past their time (an index read when none). */
export function expireDueApprovals(deps: { db: Db; clock: () => Date; log: Logger }, limit = 50): number {
  const now = deps.clock().toISOString();
  let expired = 0;
  for (const approval of listExpiredApprovals(deps.db, now, limit)) {
    if (!expireApproval(deps.db, approval.id, now)) continue;
    expired++;
    deps.log.info({ approvalId: approval.id, kind: approval.kind }, 'approval expired');
  }
  return expired;
}

/**
 * Settles an approval whose time is up: expired_rejected, or (only when the request said so)
 * expired_approved with its effect applied. An effect that cannot be applied any more fails closed.
 * False when it was no longer pending.
 */
export function expireApproval(db: Db, approvalId: string, now: string): boolean {
  return db
    .transaction(() => {
      const approval = getApproval(db, approvalId);
      if (!approval || approval.status !== 'pending' || !isPastExpiry(approval, now)) return false;
      const handler = KIND_HANDLERS[approval.kind];
      const ctx: ApplyContext = { db, now, actor: 'expiry' };
      let status: 'expired_approved' | 'expired_rejected' = 'expired_rejected';
      let note: string | null = null;
      let applied: unknown = null;
      if (approval.expiryAction === 'approve' && handler) {
        try {
          const payload = handler.schema.parse(approval.payload);
          // A savepoint: a failed effect leaves nothing behind, and the row still settles.
          db.transaction(() => handler.apply(ctx, approval, payload, undefined))();
          status = 'expired_approved';
          applied = payload;
        } catch (err) {
          note = `expired; approving on expiry failed: ${errorText(err)}`;
        }
      }
      if (status === 'expired_rejected' && handler?.onReject) {
        const payload = handler.schema.safeParse(approval.payload);
        if (payload.success) db.transaction(() => handler.onReject!(ctx, approval, payload.data))();
      }
      settleApproval(
        db,
        approval.id,
        { status, decidedBy: 'expiry', note, decision: { via: 'expiry' }, appliedPayload: applied },
        now,
      );
      appendAuditEvent(
        db,
        {
          actor: 'expiry',
          action: 'approval.expired',
          targetKind: 'approval',
          targetId: approval.id,
          payloadHash: approval.payloadHash,
          detail: { kind: approval.kind, status, ...(note ? { note } : {}) },
        },
        now,
      );
      return true;
    })
    .immediate();
}
