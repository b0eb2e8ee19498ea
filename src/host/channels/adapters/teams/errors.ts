// Bot Connector and token endpoint failures → ChannelSendError codes (the closed taxonomy of
// src/db/enums.ts). Messages never carry a token: errors end up in logs and in delivery_attempts.
import { ChannelSendError } from '../../channel.ts';
import { codeForHttpStatus, retryAfterMs } from '../../http-answers.ts';

/** Teams answers 412 when a conversation is busy with another update: try again. */
const TEAMS_TRANSIENT = [412];

/** A non-2xx answer as a ChannelSendError, with the wait a 429's Retry-After asks for. */
export function errorForResponse(what: string, response: Response, now: Date): ChannelSendError {
  const code = codeForHttpStatus(response.status, TEAMS_TRANSIENT);
  const message = `${what}: Teams answered HTTP ${response.status}`;
  if (code !== 'rate_limited') return new ChannelSendError(code, message);
  return new ChannelSendError(code, message, retryAfterMs(response.headers.get('retry-after'), now));
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
