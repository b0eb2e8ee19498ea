// Bot Connector and token endpoint failures → ChannelSendError codes (the closed taxonomy of
// src/db/enums.ts). Messages never carry a token: errors end up in logs and in delivery_attempts.
import type { DeliveryErrorCode } from '../../../../db/enums.ts';
import { ChannelSendError } from '../../channel.ts';

/** The wait when a 429 names none. */
const DEFAULT_RETRY_AFTER_MS = 1000;
/** A Retry-After beyond this is read as this (delivery's own backoff takes over for long waits). */
const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

export function codeForStatus(status: number): DeliveryErrorCode {
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'auth_failed';
  if (status === 403) return 'forbidden';
  if (status === 404 || status === 410) return 'not_found';
  // The connector refuses an activity over its size limit (~100 KB) with 413: retrying cannot help.
  if (status === 413) return 'too_large';
  // 412 (a conversation busy with another update) and 5xx pass.
  if (status === 412 || status >= 500) return 'transient';
  if (status >= 400) return 'invalid_request';
  return 'unknown';
}

/** A non-2xx answer as a ChannelSendError, with the wait a 429's Retry-After asks for. */
export function errorForResponse(what: string, response: Response, now: Date): ChannelSendError {
  const code = codeForStatus(response.status);
  const message = `${what}: Teams answered HTTP ${response.status}`;
  if (code !== 'rate_limited') return new ChannelSendError(code, message);
  return new ChannelSendError(code, message, retryAfterMs(response.headers.get('retry-after'), now));
}

/** Retry-After as delta-seconds or an HTTP date, bounded; the default when absent or unreadable. */
export function retryAfterMs(header: string | null, now: Date): number {
  if (header === null || header.trim() === '') return DEFAULT_RETRY_AFTER_MS;
  const trimmed = header.trim();
  const ms = /^\d{1,9}(?:\.\d+)?$/.test(trimmed)
    ? Number(trimmed) * 1000
    : Date.parse(trimmed) - now.getTime();
  if (!Number.isFinite(ms)) return DEFAULT_RETRY_AFTER_MS;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.ceil(ms)));
}

/** A fetch that threw (refused, reset, timed out) as a transient failure. */
export function errorForThrow(what: string, error: unknown): ChannelSendError {
  if (error instanceof ChannelSendError) return error;
  return new ChannelSendError('transient', `${what}: ${describe(error)}`);
}

export function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // Bearer tokens are JWTs; none belongs in a log line.
  return text.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, '[token]').slice(0, 300);
}
