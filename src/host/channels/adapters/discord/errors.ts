// Discord's REST errors → the closed taxonomy of ChannelSendError codes. Messages name the method, the
// route's shape and Discord's own message, never a URL: interaction callback URLs carry a token.
import { DiscordAPIError, HTTPError, RateLimitError } from 'discord.js';
import type { DeliveryErrorCode } from '../../../../db/enums.ts';
import { ChannelSendError } from '../../channel.ts';

/** Discord's JSON error codes that mean "too long / too big" although the status is 400. */
const TOO_LARGE_CODES = new Set([40005, 50035]);

export function toChannelSendError(err: unknown, what: string): ChannelSendError {
  if (err instanceof ChannelSendError) return err;
  if (err instanceof RateLimitError) {
    return new ChannelSendError(
      'rate_limited',
      `${what}: rate limited (${err.route})`,
      Math.max(err.retryAfter, 0),
    );
  }
  if (err instanceof DiscordAPIError) {
    const code = codeForStatus(err.status, err);
    const retryAfterMs = err.status === 429 ? retryAfterOf(err.rawError) : undefined;
    return new ChannelSendError(
      code,
      `${what}: Discord answered ${err.status} (${err.code}: ${err.message})`,
      retryAfterMs,
    );
  }
  if (err instanceof HTTPError) {
    return new ChannelSendError('transient', `${what}: Discord answered ${err.status} ${err.name}`);
  }
  return new ChannelSendError('transient', `${what}: ${networkText(err)}`);
}

function codeForStatus(status: number, err: DiscordAPIError): DeliveryErrorCode {
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'auth_failed';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 413) return 'too_large';
  if (status === 400) return isTooLong(err) ? 'too_large' : 'invalid_request';
  if (status >= 500) return 'transient';
  return 'unknown';
}

function isTooLong(err: DiscordAPIError): boolean {
  if (err.code === 40005) return true;
  return TOO_LARGE_CODES.has(Number(err.code)) && JSON.stringify(err.rawError).includes('MAX_LENGTH');
}

function retryAfterOf(raw: unknown): number | undefined {
  const seconds = (raw as { retry_after?: unknown } | null)?.retry_after;
  return typeof seconds === 'number' && Number.isFinite(seconds) ? Math.ceil(seconds * 1000) : undefined;
}

/** A network failure's kind without its URL (aborts, timeouts, refused connections). */
export function networkText(err: unknown): string {
  if (!(err instanceof Error)) return 'request failed';
  if (err.name === 'AbortError') return 'request aborted or timed out';
  const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `network error ${code}` : `network error (${err.name})`;
}

/** A log-safe line for any error: Discord's answer, or the network failure's kind. */
export function describe(err: unknown): string {
  return toChannelSendError(err, 'request').message;
}
