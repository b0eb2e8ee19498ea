// Graph API failures → the closed taxonomy of ChannelSendError codes. Meta answers most refusals with
// HTTP 400 and a numeric `error.code`, so the code decides first, the HTTP status second.
import type { DeliveryErrorCode } from '../../../../db/enums.ts';
import { ChannelSendError } from '../../channel.ts';
import { codeForHttpStatus } from '../../http-answers.ts';

/** "Too many messages to the same user": the pair rate limit (about one message per 6 s, with bursts). */
export const PAIR_RATE_LIMIT = 131056;
export const PAIR_RATE_LIMIT_WAIT_MS = 6_000;
/** Throughput per second exceeded (130429), or an HTTP 429 without Retry-After. */
const SHORT_RATE_LIMIT_WAIT_MS = 1_000;
/** Account-wide limits (80007 WABA, 4 app, 613 call volume) are counted per hour: a longer pause. */
const ACCOUNT_RATE_LIMIT_WAIT_MS = 60_000;

const RATE_LIMITS: Record<number, number> = {
  [PAIR_RATE_LIMIT]: PAIR_RATE_LIMIT_WAIT_MS,
  130429: SHORT_RATE_LIMIT_WAIT_MS,
  80007: ACCOUNT_RATE_LIMIT_WAIT_MS,
  4: ACCOUNT_RATE_LIMIT_WAIT_MS,
  613: ACCOUNT_RATE_LIMIT_WAIT_MS,
};

const CODES: Record<number, DeliveryErrorCode> = {
  190: 'auth_failed', // access token expired or invalid
  102: 'auth_failed',
  10: 'forbidden', // permission not granted
  200: 'forbidden',
  131005: 'forbidden',
  131031: 'forbidden', // account locked
  131047: 'forbidden', // more than 24 hours since the person last wrote: only templates may go
  131026: 'not_found', // message undeliverable (not on WhatsApp, old app)
  100: 'invalid_request',
  131008: 'invalid_request',
  131009: 'invalid_request',
  131051: 'unsupported',
  131052: 'invalid_request', // media download failed
  131053: 'invalid_request', // media upload failed
  131000: 'transient',
  131016: 'transient', // service unavailable
  2: 'transient',
  1: 'transient',
};

export interface GraphErrorBody {
  error?: { code?: unknown; message?: unknown; error_subcode?: unknown; error_data?: { details?: unknown } };
}

/** The ChannelSendError for a Graph answer that was not 2xx. */
export function graphError(
  status: number,
  body: GraphErrorBody | undefined,
  retryAfter: string | null,
  what: string,
): ChannelSendError {
  const code = typeof body?.error?.code === 'number' ? body.error.code : undefined;
  const detail = [body?.error?.message, body?.error?.error_data?.details]
    .filter((s): s is string => typeof s === 'string')
    .join(': ')
    .slice(0, 300);
  const message = `whatsapp ${what}: HTTP ${status}${code !== undefined ? ` (code ${code})` : ''}${detail ? ` ${detail}` : ''}`;
  const limitWait = code !== undefined ? RATE_LIMITS[code] : undefined;
  if (limitWait !== undefined || status === 429) {
    const header = Number(retryAfter);
    const wait =
      Number.isFinite(header) && header > 0 ? header * 1000 : (limitWait ?? SHORT_RATE_LIMIT_WAIT_MS);
    return new ChannelSendError('rate_limited', message, wait);
  }
  const known = code !== undefined ? CODES[code] : undefined;
  return new ChannelSendError(known ?? codeForHttpStatus(status), message);
}

/** A fetch that never got an answer (refused, reset, timed out): worth another try. */
export function networkError(error: unknown, what: string): ChannelSendError {
  return new ChannelSendError('transient', `whatsapp ${what}: ${describeFailure(error).slice(0, 300)}`);
}

function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out or stopped';
  // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is its cause.
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const reason =
    typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : '';
  return reason ? `${error.message} (${reason})` : error.message;
}
