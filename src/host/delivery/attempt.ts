// One send through a channel, recorded in delivery_attempts: the attempt is opened before anything can
// fail and closed with the outcome, so every try (and every refusal) leaves its row.
import type { Db } from '../../db/connection.ts';
import { finishAttempt, startAttempt, type AttemptStart, type DeliveryAttempt } from '../../db/deliveries.ts';
import type { DeliveryErrorCode } from '../../db/enums.ts';
import { errorText } from '../../shared/error-text.ts';
import {
  ChannelSendError,
  type Channel,
  type OutboundMessage,
  type ChannelRegistry,
} from '../channels/index.ts';

export type SendOutcome = { ok: true; platformMessageId: string | null } | SendRefusal;

export interface SendRefusal {
  ok: false;
  code: DeliveryErrorCode;
  error: string;
  retryAfterMs?: number;
}

export interface AttemptDeps {
  db: Db;
  clock: () => Date;
}

/**
 * Opens the next attempt, runs `send` and records how it ended. A throw from `send` is recorded as
 * 'unknown' and thrown on: the caller decides what it means for the message.
 */
export async function recordAttempt(
  deps: AttemptDeps,
  start: AttemptStart,
  send: (attempt: DeliveryAttempt) => Promise<SendOutcome>,
): Promise<{ attempt: DeliveryAttempt; outcome: SendOutcome }> {
  const attempt = startAttempt(deps.db, start, deps.clock().toISOString());
  let outcome: SendOutcome;
  try {
    outcome = await send(attempt);
  } catch (err) {
    finishAttempt(
      deps.db,
      attempt.id,
      { status: 'failed', errorCode: 'unknown', error: errorText(err) },
      deps.clock().toISOString(),
    );
    throw err;
  }
  const result = outcome.ok
    ? { status: 'delivered' as const, platformMessageId: outcome.platformMessageId }
    : { status: 'failed' as const, errorCode: outcome.code, error: outcome.error };
  finishAttempt(deps.db, attempt.id, result, deps.clock().toISOString());
  return { attempt, outcome };
}

/** The registered channel of this type, or why there is none. */
export function channelOf(channels: ChannelRegistry, type: string): Channel | SendRefusal {
  try {
    return channels.get(type);
  } catch (err) {
    return { ok: false, code: 'unsupported', error: errorText(err) };
  }
}

/** One call to the channel; its failure classified with the closed taxonomy of error codes. */
export async function sendThrough(channel: Channel, message: OutboundMessage): Promise<SendOutcome> {
  try {
    const result = await channel.send(message);
    return { ok: true, platformMessageId: result.platformMessageId };
  } catch (err) {
    if (err instanceof ChannelSendError) {
      return { ok: false, code: err.code, error: err.message, retryAfterMs: err.retryAfterMs };
    }
    return { ok: false, code: 'unknown', error: errorText(err) };
  }
}
