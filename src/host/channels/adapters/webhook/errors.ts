// The callback's answers → ChannelSendError codes (the closed taxonomy of src/db/enums.ts). Messages name
// the callback by origin only: a URL's path or query may hold the integrator's own token.
import type { DeliveryErrorCode } from '../../../../db/enums.ts';
import { ChannelSendError } from '../../channel.ts';

/** When a 429 comes without a usable Retry-After. */
const DEFAULT_RETRY_AFTER_MS = 1_000;
/** A Retry-After beyond this is taken as this (delivery's own backoff takes over past a minute anyway). */
const MAX_RETRY_AFTER_MS = 3_600_000;

export function codeForStatus(status: number): DeliveryErrorCode {
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'auth_failed';
  if (status === 403) return 'forbidden';
  if (status === 404 || status === 410) return 'not_found';
  if (status === 413) return 'too_large';
  if (status === 408 || status >= 500) return 'transient';
  if (status >= 400) return 'invalid_request';
  return 'unknown';
}

/** A non-2xx answer as a ChannelSendError (a 429 with its wait). */
export function statusError(
  status: number,
  retryAfter: string | null,
  where: string,
  now: Date,
): ChannelSendError {
  const code = codeForStatus(status);
  const message = `webhook callback ${where} answered HTTP ${status}`;
  if (code !== 'rate_limited') return new ChannelSendError(code, message);
  return new ChannelSendError(code, message, retryAfterMs(retryAfter, now));
}

/** Retry-After as seconds or an HTTP date, in milliseconds from `now`. */
export function retryAfterMs(header: string | null, now: Date): number {
  if (header === null) return DEFAULT_RETRY_AFTER_MS;
  const trimmed = header.trim();
  const ms = /^\d{1,10}$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now.getTime();
  if (!Number.isFinite(ms)) return DEFAULT_RETRY_AFTER_MS;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** A request that got no answer (refused, reset, timed out, stopped) as a transient failure. */
export function networkError(error: unknown, where: string, timeoutMs: number): ChannelSendError {
  const name = error instanceof Error ? error.name : '';
  const reason =
    name === 'TimeoutError'
      ? `no answer within ${timeoutMs} ms`
      : name === 'AbortError'
        ? 'the adapter stopped'
        : causeOf(error);
  return new ChannelSendError('transient', `webhook callback ${where}: ${reason}`);
}

function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 200);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return (typeof cause?.message === 'string' ? cause.message : error.message).slice(0, 200);
}
