// One row per attempt to deliver an outbound message: the record behind retries, metrics and
// `warren deliveries`.
import { z } from 'zod';
import type { Db } from './connection.ts';
import { DELIVERY_ERROR_CODES, type DeliveryErrorCode, type DeliveryStatus } from './enums.ts';

export interface DeliveryAttempt {
  id: number;
  /** Null for a host notice outside any session (its messageOutId starts with 'notice:'). */
  sessionId: string | null;
  messageOutId: string;
  attempt: number;
  idempotencyKey: string;
  channelType: string;
  /** The conversation it went to: the chat, and the thread within it (null: none, or not known). */
  chatId: string | null;
  threadId: string | null;
  status: DeliveryStatus;
  errorCode: DeliveryErrorCode | null;
  error: string | null;
  platformMessageId: string | null;
  startedAt: string;
  finishedAt: string | null;
}

export interface AttemptStart {
  /** Null only for a host notice outside any session (messageOutId 'notice:…'). */
  sessionId: string | null;
  messageOutId: string;
  /** The same for every attempt of one message, so a platform that honours it never posts twice. */
  idempotencyKey: string;
  channelType: string;
  chatId?: string | null;
  threadId?: string | null;
}

const outcome = z.discriminatedUnion('status', [
  z.object({ status: z.literal('delivered'), platformMessageId: z.string().nullish() }),
  z.object({
    status: z.literal('failed'),
    errorCode: z.enum(DELIVERY_ERROR_CODES),
    error: z.string().nullish(),
  }),
  z.object({ status: z.literal('skipped'), error: z.string().nullish() }),
]);

export type AttemptOutcome = z.input<typeof outcome>;

const MAX_ERROR_LENGTH = 1024;

const COLUMNS = `id, session_id AS sessionId, message_out_id AS messageOutId, attempt, idempotency_key AS idempotencyKey,
  channel_type AS channelType, chat_id AS chatId, thread_id AS threadId, status, error_code AS errorCode, error, platform_message_id AS platformMessageId,
  started_at AS startedAt, finished_at AS finishedAt`;

/** Opens the next attempt (numbered from 1) for the message, in status 'sending'. */
export function startAttempt(db: Db, start: AttemptStart, now: string): DeliveryAttempt {
  return db
    .transaction(
      () =>
        db
          .prepare(
            `INSERT INTO delivery_attempts (session_id, message_out_id, attempt, idempotency_key, channel_type, chat_id,
               thread_id, status, started_at)
             SELECT @sessionId, @messageOutId, coalesce(max(attempt), 0) + 1, @idempotencyKey, @channelType,
               @chatId, @threadId, 'sending', @now
             FROM delivery_attempts WHERE session_id IS @sessionId AND message_out_id = @messageOutId
             RETURNING ${COLUMNS}`,
          )
          .get({ chatId: null, threadId: null, ...start, now }) as DeliveryAttempt,
    )
    .immediate();
}

/** Records how an attempt ended; false when it was not 'sending' (already finished). */
export function finishAttempt(db: Db, id: number, result: AttemptOutcome, now: string): boolean {
  const r = outcome.parse(result);
  const error = 'error' in r && r.error != null ? truncate(r.error) : null;
  return (
    db
      .prepare(
        `UPDATE delivery_attempts SET status = ?, error_code = ?, error = ?, platform_message_id = ?, finished_at = ?
         WHERE id = ? AND status = 'sending'`,
      )
      .run(
        r.status,
        r.status === 'failed' ? r.errorCode : null,
        error,
        r.status === 'delivered' ? (r.platformMessageId ?? null) : null,
        now,
        id,
      ).changes === 1
  );
}

/** Every attempt for one outbound message, first attempt first. */
export function listAttempts(db: Db, sessionId: string | null, messageOutId: string): DeliveryAttempt[] {
  return db
    .prepare(
      `SELECT ${COLUMNS} FROM delivery_attempts WHERE session_id IS ? AND message_out_id = ? ORDER BY attempt`,
    )
    .all(sessionId, messageOutId) as DeliveryAttempt[];
}

/** The latest attempts, newest first: every status, or only 'failed' ones (`warren deliveries`). */
export function listRecentAttempts(
  db: Db,
  options: { failedOnly: boolean; limit: number; sessionId?: string },
): DeliveryAttempt[] {
  return db
    .prepare(
      `SELECT ${COLUMNS} FROM delivery_attempts
       WHERE (@failedOnly = 0 OR status = 'failed') AND (@sessionId IS NULL OR session_id = @sessionId)
       ORDER BY id DESC LIMIT @limit`,
    )
    .all({
      failedOnly: options.failedOnly ? 1 : 0,
      sessionId: options.sessionId ?? null,
      limit: options.limit,
    }) as DeliveryAttempt[];
}

function truncate(text: string): string {
  if (text.length <= MAX_ERROR_LENGTH) return text;
  // Cut between code points (never half a surrogate pair) and show that something was cut.
  let cut = text.slice(0, MAX_ERROR_LENGTH - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

export interface DeliveryPageQuery {
  channelType?: string;
  /** The delivery's latest attempt has this status. */
  status?: DeliveryStatus;
  /** Deliveries whose first attempt came before this one (the previous page's last). */
  beforeId?: number;
  limit: number;
}

/** One outbound message's delivery: its first attempt's row, and every attempt in order. */
export interface Delivery {
  first: DeliveryAttempt;
  attempts: DeliveryAttempt[];
}

/**
 * Deliveries newest first, a page at a time (the admin API): keyset on the first attempt's id, so a
 * page is an index walk however many attempts are kept, and rows added meanwhile do not shift it.
 */
export function listDeliveries(db: Db, query: DeliveryPageQuery): Delivery[] {
  const firsts = db
    .prepare(
      `SELECT ${COLUMNS} FROM delivery_attempts AS d
       WHERE attempt = 1 AND (@beforeId IS NULL OR id < @beforeId)
         AND (@channelType IS NULL OR channel_type = @channelType)
         AND (@status IS NULL OR @status = (SELECT status FROM delivery_attempts AS l
               WHERE l.session_id IS d.session_id AND l.message_out_id = d.message_out_id
               ORDER BY l.attempt DESC LIMIT 1))
       ORDER BY id DESC LIMIT @limit`,
    )
    .all({
      beforeId: query.beforeId ?? null,
      channelType: query.channelType ?? null,
      status: query.status ?? null,
      limit: query.limit,
    }) as DeliveryAttempt[];
  return firsts.map((first) => ({ first, attempts: listAttempts(db, first.sessionId, first.messageOutId) }));
}

/** Attempts that failed since `since` (`warren status`). */
export function countFailedAttemptsSince(db: Db, since: string): number {
  return db
    .prepare(`SELECT count(*) FROM delivery_attempts WHERE status = 'failed' AND started_at >= ?`)
    .pluck()
    .get(since) as number;
}
