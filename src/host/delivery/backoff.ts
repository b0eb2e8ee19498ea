// When to try again: a send that failed for a passing reason, and a session whose outbound.db the
// runner keeps locked. Pure functions of counts and codes.
import type { DeliveryErrorCode } from '../../db/enums.ts';

const RETRYABLE: ReadonlySet<DeliveryErrorCode> = new Set(['rate_limited', 'transient']);

/** Whether a send that failed with this code may succeed later (and is tried again). */
export function isRetryable(code: DeliveryErrorCode): boolean {
  return RETRYABLE.has(code);
}

/** How long to wait before attempt `attempt + 1` (exponential, capped, honouring Retry-After). */
export function retryDelayMs(attempt: number, retryAfterMs?: number): number {
  const exponential = Math.min(30_000, 500 * 2 ** (attempt - 1));
  return Math.max(exponential, retryAfterMs ?? 0);
}

/** A session whose outbound.db stays locked for longer than this is taken out of service. */
export const BUSY_LIMIT_MS = 30_000;

/**
 * How long to wait before reading a locked outbound.db again, after `retries` locked reads in a row.
 * The first waits are short: a pass woken by a finished commit may find the runner's lock a moment
 * before it is released (commit-events.ts), and the read does not wait on the event loop.
 */
export function busyRetryDelayMs(retries: number): number {
  return Math.min(2000, 2 ** (retries - 1));
}
