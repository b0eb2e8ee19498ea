// Slack Web API failures → ChannelSendError codes (the closed taxonomy of src/db/enums.ts), with every
// token scrubbed from the message: errors end up in logs and in delivery_attempts.
import {
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
} from '@slack/web-api';
import type { DeliveryErrorCode } from '../../../../db/enums.ts';
import { ChannelSendError } from '../../channel.ts';
import { codeForHttpStatus } from '../../http-answers.ts';

/** Slack's wait when a rate limit comes without a Retry-After (a 200 `ok:false ratelimited`). */
const DEFAULT_RETRY_AFTER_MS = 1000;

const PLATFORM_ERRORS: Record<string, DeliveryErrorCode> = {
  ratelimited: 'rate_limited',
  rate_limited: 'rate_limited',
  invalid_auth: 'auth_failed',
  not_authed: 'auth_failed',
  account_inactive: 'auth_failed',
  token_revoked: 'auth_failed',
  token_expired: 'auth_failed',
  not_allowed_token_type: 'auth_failed',
  missing_scope: 'forbidden',
  no_permission: 'forbidden',
  not_in_channel: 'forbidden',
  is_archived: 'forbidden',
  channel_is_archived: 'forbidden',
  restricted_action: 'forbidden',
  cant_update_message: 'forbidden',
  edit_window_closed: 'forbidden',
  access_denied: 'forbidden',
  ekm_access_denied: 'forbidden',
  channel_not_found: 'not_found',
  message_not_found: 'not_found',
  thread_not_found: 'not_found',
  user_not_found: 'not_found',
  file_not_found: 'not_found',
  msg_too_long: 'too_large',
  msg_blocks_too_long: 'too_large',
  too_many_attachments: 'too_large',
  file_too_large: 'too_large',
  invalid_blocks: 'invalid_request',
  invalid_blocks_format: 'invalid_request',
  invalid_arguments: 'invalid_request',
  invalid_arg_name: 'invalid_request',
  invalid_name: 'invalid_request',
  no_text: 'invalid_request',
  too_many_reactions: 'invalid_request',
  internal_error: 'transient',
  fatal_error: 'transient',
  service_unavailable: 'transient',
  request_timeout: 'transient',
};

/** The error of a Slack call (or of our own fetch to an upload URL) as a ChannelSendError. */
export function toChannelSendError(error: unknown, what: string): ChannelSendError {
  if (error instanceof ChannelSendError) return error;
  if (error instanceof WebAPIRateLimitedError) {
    return new ChannelSendError('rate_limited', `${what}: rate limited by Slack`, error.retryAfter * 1000);
  }
  if (error instanceof WebAPIPlatformError) {
    const code = PLATFORM_ERRORS[error.data.error] ?? 'unknown';
    const message = `${what}: Slack answered ${scrub(String(error.data.error)).slice(0, 100)}`;
    if (code !== 'rate_limited') return new ChannelSendError(code, message);
    const retryAfter = error.data.response_metadata?.retryAfter;
    return new ChannelSendError(code, message, retryAfter ? retryAfter * 1000 : DEFAULT_RETRY_AFTER_MS);
  }
  if (error instanceof WebAPIHTTPError) {
    return new ChannelSendError(
      codeForHttpStatus(error.statusCode),
      `${what}: Slack answered HTTP ${error.statusCode}`,
    );
  }
  if (error instanceof WebAPIRequestError) {
    return new ChannelSendError('transient', `${what}: ${scrub(error.original.message)}`);
  }
  return new ChannelSendError('transient', `${what}: ${describe(error)}`);
}

/** Slack tokens (bot, user, app, config) and Socket Mode tickets removed from a text. */
export function scrub(text: string): string {
  return text
    .replace(/\bx(?:ox[a-z]|app)-[A-Za-z0-9-]+/g, '[token]')
    .replace(/([?&]ticket=)[^&\s]+/g, '$1[redacted]');
}

/** An error's message, scrubbed of tokens. */
export function describe(error: unknown): string {
  return scrub(error instanceof Error ? error.message : String(error));
}
