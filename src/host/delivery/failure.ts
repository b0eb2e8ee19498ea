// A row that will never be delivered: recorded as failed in `delivered` (so it is not read again) and
// the agent told with a delivery_failed system message, at most a few times in a row.
import type { DeliveryErrorCode } from '../../db/enums.ts';
import type { Session } from '../../db/sessions.ts';
import {
  countDeliveryFailureNotices,
  writeSystemMessage,
  recordDelivered,
  type OutboundRow,
  type SessionPaths,
} from '../sessions/index.ts';
import { corrOf } from './corr.ts';
import type { DeliveryDeps } from './deps.ts';

/** At most this many delivery_failed notices per session within FAILURE_NOTICE_WINDOW_MS. */
const MAX_FAILURE_NOTICES = 3;
const FAILURE_NOTICE_WINDOW_MS = 10 * 60_000;

export type FailureDeps = Pick<DeliveryDeps, 'clock' | 'log' | 'wake' | 'onFailed' | 'metrics'>;

export interface RowFailure {
  session: Session;
  paths: SessionPaths;
  row: OutboundRow;
  code: DeliveryErrorCode;
  error: string;
}

export function failRow(deps: FailureDeps, failure: RowFailure): void {
  const { session, paths, row, code } = failure;
  const now = deps.clock().toISOString();
  recordDelivered(paths, {
    messageOutId: row.id,
    platformMessageId: null,
    status: 'failed',
    deliveredAt: now,
  });
  notifyAgentOfFailure(deps, failure, now);
  deps.metrics?.deliveryFailed(code);
  deps.onFailed?.({ sessionId: session.id, messageOutId: row.id, code });
}

function notifyAgentOfFailure(deps: FailureDeps, failure: RowFailure, now: string): void {
  const { session, paths, row, code, error } = failure;
  const logged = { sessionId: session.id, corr: corrOf(row), messageOutId: row.id, code, error };
  if (recentFailureNotices(paths, now) >= MAX_FAILURE_NOTICES) {
    // The agent's answers to these notices fail too: telling it again would loop forever.
    deps.log.error(logged, 'delivery failed; agent not told again');
    return;
  }
  deps.log.warn(logged, 'delivery failed; the agent is told');
  writeSystemMessage(paths, {
    timestamp: now,
    content: { event: 'delivery_failed', messageOutId: row.id, seq: row.seq, code, error },
  });
  deps.wake(session.id);
}

function recentFailureNotices(paths: SessionPaths, now: string): number {
  const since = new Date(Date.parse(now) - FAILURE_NOTICE_WINDOW_MS).toISOString();
  return countDeliveryFailureNotices(paths, since);
}
