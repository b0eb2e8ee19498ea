// The host's writes into inbound.db: it is that file's only writer.
import { nextSeq, type MessageInKind, type DeliveredStatus } from '../../shared/session-contract.ts';
import { messageInContent, type SystemContent } from '../../shared/session-content.ts';
import type { DestinationKind } from '../../db/enums.ts';
import { newId } from '../../db/ids.ts';
import { ringBell } from '../../shared/commit-events.ts';
import { withSessionFile, type SessionPaths } from './files.ts';
import { maxOutboundSeq } from './outbound.ts';
import { OUTPUT_LIMITS, withOutbound } from './output.ts';

export interface NewMessageIn {
  id?: string;
  kind: MessageInKind;
  /** Validated against the kind's schema before anything is written. */
  content: unknown;
  timestamp: string;
  processAfter?: string | null;
  recurrence?: string | null;
  timezone?: string | null;
  seriesId?: string | null;
  /** false: stored as context for the next turn without waking the agent (accumulate). */
  trigger?: boolean;
  platformId?: string | null;
  channelType?: string | null;
  threadId?: string | null;
  sourceSessionId?: string | null;
}

export interface WrittenMessage {
  id: string;
  seq: number;
  /** true when a row with this id already existed; nothing was written. */
  duplicate: boolean;
}

export class InvalidMessageError extends Error {
  override name = 'InvalidMessageError';
}

/**
 * Writes messages with even seqs above the highest seq of both files, all in one transaction
 * (BEGIN IMMEDIATE: the seq read and the insert cannot interleave with another host writer), then
 * rings the runner's bell. A message whose id already exists is skipped, so routing the same platform
 * message twice is harmless.
 */
export function insertMessagesIn(paths: SessionPaths, messages: readonly NewMessageIn[]): WrittenMessage[] {
  const rows = messages.map(toRow);
  const maxOut = maxOutboundSeq(paths);
  const written = withSessionFile(paths, 'inbound', 'write', (db) => {
    const insert = db.prepare(`INSERT INTO messages_in
      (id, seq, kind, timestamp, status, process_after, recurrence, timezone, series_id, tries, trigger,
       platform_id, channel_type, thread_id, content, source_session_id)
      VALUES (@id, @seq, @kind, @timestamp, 'pending', @process_after, @recurrence, @timezone, @series_id, 0,
       @trigger, @platform_id, @channel_type, @thread_id, @content, @source_session_id)
      ON CONFLICT (id) DO NOTHING`);
    const existing = db.prepare('SELECT seq FROM messages_in WHERE id = ?').pluck();
    const maxIn = db.prepare('SELECT coalesce(max(seq), 0) AS m FROM messages_in').pluck();
    const run = db.transaction(() => {
      let seq = Math.max(maxIn.get() as number, maxOut);
      return rows.map((row) => {
        const next = nextSeq(seq, 'even');
        if (insert.run({ ...row, seq: next }).changes === 0) {
          // Same id written before (a redelivery routed again after a crash): keep the first.
          return { id: row.id, seq: existing.get(row.id) as number, duplicate: true };
        }
        seq = next;
        return { id: row.id, seq, duplicate: false };
      });
    });
    return run.immediate();
  });
  ringBell(paths.inDir);
  return written;
}

export interface SystemMessage {
  /** A stable id makes writing it again (a step run again after a crash) a no-op; default a new id. */
  id?: string;
  content: SystemContent;
  timestamp: string;
  /** false: read with the agent's next turn instead of starting one. */
  trigger?: boolean;
}

/** Something the host tells the agent (`kind: 'system'`, an `event` and its fields): one row. */
export function writeSystemMessage(paths: SessionPaths, message: SystemMessage): WrittenMessage {
  return insertMessagesIn(paths, [{ ...message, kind: 'system' }])[0]!;
}

function toRow(msg: NewMessageIn) {
  const parsed = messageInContent[msg.kind].safeParse(msg.content);
  if (!parsed.success) {
    throw new InvalidMessageError(
      `${msg.kind} message content is invalid: ${parsed.error.issues[0]?.message}`,
    );
  }
  return {
    id: msg.id ?? newId('msg'),
    kind: msg.kind,
    timestamp: msg.timestamp,
    process_after: msg.processAfter ?? null,
    recurrence: msg.recurrence ?? null,
    timezone: msg.timezone ?? null,
    series_id: msg.seriesId ?? null,
    trigger: msg.trigger === false ? 0 : 1,
    platform_id: msg.platformId ?? null,
    channel_type: msg.channelType ?? null,
    thread_id: msg.threadId ?? null,
    content: JSON.stringify(parsed.data),
    source_session_id: msg.sourceSessionId ?? null,
  };
}

/**
 * Folds the runner's processing_ack rows into messages_in.status. Only pending rows move, so a
 * row the host cancelled or paused keeps that status. Returns how many rows changed.
 */
export function foldAcks(paths: SessionPaths): number {
  // Only pending rows can change: look their acks up, not the session's whole history.
  const pending = withSessionFile(paths, 'inbound', 'read', (db) =>
    db.prepare("SELECT id FROM messages_in WHERE status = 'pending'").pluck().all(),
  ) as string[];
  if (pending.length === 0) return 0;
  // No wait for the runner's lock: the sweep reads a locked file again next tick.
  const acks = withOutbound(
    paths,
    'read',
    (db) =>
      db
        .prepare(
          `SELECT message_id, status FROM processing_ack
           WHERE status IN ('completed', 'failed') AND message_id IN (SELECT value FROM json_each(?))`,
        )
        .all(JSON.stringify(pending)),
    OUTPUT_LIMITS.deliveryLockWaitMs,
  ) as { message_id: string; status: 'completed' | 'failed' }[];
  if (acks.length === 0) return 0;
  return withSessionFile(paths, 'inbound', 'write', (db) => {
    const update = db.prepare("UPDATE messages_in SET status = ? WHERE id = ? AND status = 'pending'");
    return db
      .transaction(() => acks.reduce((n, a) => n + update.run(a.status, a.message_id).changes, 0))
      .immediate();
  });
}

export interface DeliveredRecord {
  messageOutId: string;
  platformMessageId: string | null;
  status: DeliveredStatus;
  deliveredAt: string;
}

/** Records the outcome of delivering an outbound row; a repeat for the same row is a no-op. */
export function recordDelivered(paths: SessionPaths, record: DeliveredRecord): boolean {
  return withSessionFile(paths, 'inbound', 'write', (db) => {
    const result = db
      .prepare(
        `INSERT INTO delivered (message_out_id, platform_message_id, status, delivered_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (message_out_id) DO NOTHING`,
      )
      .run(record.messageOutId, record.platformMessageId, record.status, record.deliveredAt);
    return result.changes === 1;
  });
}

export interface DestinationProjection {
  name: string;
  kind: DestinationKind;
  channelType?: string | null;
  platformId?: string | null;
  agentGroupId?: string | null;
}

/** Rewrites the agent's destination list (a projection of agent_destinations) in one transaction. */
export function writeDestinations(paths: SessionPaths, destinations: readonly DestinationProjection[]): void {
  const rows = destinations.map((d) => [
    d.name,
    d.kind,
    d.channelType ?? null,
    d.platformId ?? null,
    d.agentGroupId ?? null,
  ]);
  withSessionFile(paths, 'inbound', 'write', (db) => {
    // Rewritten before every container start, and unchanged nearly always: a durable commit (four
    // fsyncs) only when the list differs.
    const current = db
      .prepare('SELECT name, kind, channel_type, platform_id, agent_group_id FROM destinations')
      .raw()
      .all() as unknown[][];
    const asText = (list: unknown[][]) =>
      list
        .map((row) => JSON.stringify(row))
        .sort()
        .join('\n');
    if (asText(current) === asText(rows)) return;
    const insert = db.prepare(
      'INSERT INTO destinations (name, kind, channel_type, platform_id, agent_group_id) VALUES (?, ?, ?, ?, ?)',
    );
    db.transaction(() => {
      db.prepare('DELETE FROM destinations').run();
      for (const row of rows) insert.run(...row);
    }).immediate();
  });
}

export interface SessionRouting {
  channelType: string | null;
  platformId: string | null;
  threadId: string | null;
}

/** The session's default reply address; every field null when none was set. */
export function readRouting(paths: SessionPaths): SessionRouting {
  const row = withSessionFile(paths, 'inbound', 'read', (db) =>
    db.prepare('SELECT channel_type, platform_id, thread_id FROM session_routing WHERE id = 1').get(),
  ) as { channel_type: string | null; platform_id: string | null; thread_id: string | null } | undefined;
  return {
    channelType: row?.channel_type ?? null,
    platformId: row?.platform_id ?? null,
    threadId: row?.thread_id ?? null,
  };
}

/** Sets the session's default reply address (the single session_routing row). */
export function writeRouting(paths: SessionPaths, routing: SessionRouting): void {
  withSessionFile(paths, 'inbound', 'write', (db) => {
    db.prepare(
      `INSERT INTO session_routing (id, channel_type, platform_id, thread_id) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET channel_type = excluded.channel_type,
         platform_id = excluded.platform_id, thread_id = excluded.thread_id`,
    ).run(routing.channelType, routing.platformId, routing.threadId);
  });
}

/** A message a crashed runner left behind: waiting for another try, or given up on after maxTries. */
export interface TroubledMessage {
  messageId: string;
  status: 'pending' | 'failed';
  tries: number;
  timestamp: string;
}

/**
 * The session's messages a crash interrupted (`warren status`): pending after at least one failed try,
 * or failed since `since`. Read-only; at most `limit`.
 */
export function troubledMessages(paths: SessionPaths, since: string, limit: number): TroubledMessage[] {
  return withSessionFile(paths, 'inbound', 'read', (db) =>
    db
      .prepare(
        `SELECT id AS messageId, status, tries, timestamp FROM messages_in
         WHERE (status = 'pending' AND tries > 0) OR (status = 'failed' AND timestamp >= ?)
         ORDER BY seq LIMIT ?`,
      )
      .all(since, limit),
  ) as TroubledMessage[];
}
