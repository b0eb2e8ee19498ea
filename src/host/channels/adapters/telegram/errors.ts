// Telegram's failures → the closed taxonomy of ChannelSendError codes, with the bot token scrubbed from
// every message (grammY's errors and fetch's can carry the request URL, which holds the token).
import { GrammyError, HttpError } from 'grammy';
import type { DeliveryErrorCode } from '../../../../db/enums.ts';
import { ChannelSendError } from '../../channel.ts';

/** When Telegram asks for a wait without saying how long. */
const DEFAULT_RETRY_AFTER_MS = 1_000;

export function toChannelSendError(error: unknown, token: string, action: string): ChannelSendError {
  if (error instanceof ChannelSendError) return error;
  if (error instanceof GrammyError) {
    const description = scrub(error.description, token);
    const message = `telegram ${action}: ${error.error_code} ${description}`;
    if (error.error_code === 429) {
      const seconds = error.parameters.retry_after;
      const retryAfterMs = seconds !== undefined && seconds >= 0 ? seconds * 1000 : DEFAULT_RETRY_AFTER_MS;
      return new ChannelSendError('rate_limited', message, retryAfterMs);
    }
    return new ChannelSendError(codeOf(error.error_code, description), message);
  }
  return new ChannelSendError('transient', `telegram ${action}: ${describeError(error, token)}`);
}

function codeOf(status: number, description: string): DeliveryErrorCode {
  if (status === 401) return 'auth_failed';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 413) return 'too_large';
  if (status === 400) {
    if (/not found/i.test(description)) return 'not_found';
    if (/too long|too big|too large/i.test(description)) return 'too_large';
    return 'invalid_request';
  }
  if (status >= 500) return 'transient';
  return 'unknown';
}

/** A one-line description safe to log: no token, no URL query, no stack. */
export function describeError(error: unknown, token: string): string {
  if (error instanceof GrammyError) return scrub(`${error.error_code} ${error.description}`, token);
  if (error instanceof HttpError) return scrub(`${error.message} (${causeOf(error.error)})`, token);
  if (error instanceof Error) return scrub(error.message, token);
  return scrub(String(error), token);
}

function causeOf(error: unknown): string {
  if (error instanceof Error) return error.name === 'AbortError' ? 'aborted' : error.message;
  return String(error);
}

/** What failed() reports: the description only, as fetch's errors name the URL, token and all. */
export function linkError(error: unknown, token: string): Error {
  return new Error(`telegram: ${describeError(error, token)}`);
}

export function scrub(text: string, token: string): string {
  const bounded = text.length > 500 ? `${text.slice(0, 500)}…` : text;
  if (token === '') return bounded;
  return bounded.split(token).join('<token>').split(encodeURIComponent(token)).join('<token>');
}

/** Telegram's "message is not modified": the edit asked for what is already there. */
export function isNotModified(error: unknown): boolean {
  return error instanceof GrammyError && error.error_code === 400 && /not modified/i.test(error.description);
}

export function isAuthFailure(error: unknown): boolean {
  return error instanceof GrammyError && (error.error_code === 401 || error.error_code === 404);
}
