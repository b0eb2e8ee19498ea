// An HTTP platform's answer in the closed taxonomy of delivery error codes (src/db/enums.ts), the same
// for every adapter that speaks plain HTTP: what a status means, and how long a 429 asks to wait.
import type { DeliveryErrorCode } from '../../db/enums.ts';

/**
 * A non-2xx status as an error code. `alsoTransient` names statuses a platform means as "try again"
 * beyond 5xx (Teams' 412 for a conversation busy with another update, a callback's 408).
 */
export function codeForHttpStatus(status: number, alsoTransient: readonly number[] = []): DeliveryErrorCode {
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'auth_failed';
  if (status === 403) return 'forbidden';
  if (status === 404 || status === 410) return 'not_found';
  // Retrying cannot make a message smaller.
  if (status === 413) return 'too_large';
  if (status >= 500 || alsoTransient.includes(status)) return 'transient';
  if (status >= 400) return 'invalid_request';
  return 'unknown';
}

/** The wait when a 429 names none, or one that cannot be read. */
const DEFAULT_RETRY_AFTER_MS = 1_000;
/** A longer Retry-After is read as this: delivery's own backoff takes over for long waits anyway. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/** A Retry-After header (delta-seconds or an HTTP date) in milliseconds from `now`, bounded. */
export function retryAfterMs(header: string | null, now: Date): number {
  const trimmed = header?.trim() ?? '';
  if (trimmed === '') return DEFAULT_RETRY_AFTER_MS;
  const seconds = /^\d{1,9}(?:\.\d+)?$/.test(trimmed);
  // An HTTP date names its weekday and month; anything else that is not seconds is not read.
  const date = !seconds && /[A-Za-z]{3}/.test(trimmed);
  const ms = seconds ? Number(trimmed) * 1000 : date ? Date.parse(trimmed) - now.getTime() : NaN;
  if (!Number.isFinite(ms)) return DEFAULT_RETRY_AFTER_MS;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.ceil(ms)));
}
