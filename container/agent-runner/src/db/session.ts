// The runner's side of the session file contract: inbound.db read-only, outbound.db its own.
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import {
  nextSeq,
  openSessionFile,
  type AckStatus,
  type DestinationKind,
  parityOf,
  type MessageInRow,
  type MessageOutKind,
  type MessageOutRow,
  type SessionDb,
} from '../../../../src/shared/session-contract.ts';
import { outboundOperation, type OutboundOperation } from '../../../../src/shared/session-content.ts';
import { ringBell } from '../../../../src/shared/commit-events.ts';
import { readWaitingForLock } from '../../../../src/shared/commit-tail.ts';
import { cacheStatements } from '../../../../src/shared/statement-cache.ts';

export interface RunnerSession {
  sessionId: string;
  inbound: SessionDb;
  outbound: SessionDb;
}

export function openRunnerSession(opts: {
  sessionId: string;
  inboundPath: string;
  outboundPath: string;
}): RunnerSession {
  // Both stay open for the runner's life: each statement is compiled once.
  const inbound = cacheStatements(
    waitingForHostLock(
      openSessionFile({ sessionId: opts.sessionId, file: 'inbound', path: opts.inboundPath, readonly: true }),
      `${opts.inboundPath}-journal`,
    ),
  );
  try {
    const outbound = cacheStatements(
      openSessionFile({
        sessionId: opts.sessionId,
        file: 'outbound',
        path: opts.outboundPath,
        readonly: false,
      }),
    );
    return { sessionId: opts.sessionId, inbound, outbound };
  } catch (err) {
    inbound.close();
    throw err;
  }
}

/**
 * inbound.db's reads wait for the host's lock for as long as the contract's busy timeout (5 s), but
 * in finer steps than SQLite's own 1, 2, 5, 10 … ms: the runner wakes on the host's commit while the
 * host still holds its lock for a fraction of a millisecond (shared/commit-tail.ts). The runner only
 * reads this file, each statement on its own, so a statement that found the lock simply runs again.
 */
function waitingForHostLock(db: SessionDb, journal: string): SessionDb {
  db.pragma('busy_timeout = 0');
  const wait = { maxMs: 5000, midCommitStepMs: 1 };
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    const statement = prepare(sql);
    const { get, all } = statement;
    statement.get = (...params: unknown[]) =>
      readWaitingForLock(() => get.apply(statement, params), journal, wait);
    statement.all = (...params: unknown[]) =>
      readWaitingForLock(() => all.apply(statement, params), journal, wait);
    return statement;
  }) as SessionDb['prepare'];
  return db;
}

export function closeRunnerSession(session: RunnerSession): void {
  session.inbound.close();
  session.outbound.close();
}

/** What a check for work found: the rows due now, and when the next pending row falls due. */
export interface PendingWork {
  /** Pending rows due now and not yet finished by any runner, in seq order. */
  rows: MessageInRow[];
  /** The earliest `process_after` still ahead of `now` among pending rows; null when none is. */
  nextDueAt: string | null;
}

/**
 * Pending inbound rows that are due and not yet finished by any runner, in seq order, and when the
 * next one falls due. A row an earlier runner claimed ('processing') and never finished is returned
 * again. The host folds acks into messages_in only now and then (its sweep), so most pending rows
 * are already finished: their ids and acks are looked up first, and only the unfinished rows are
 * read whole. The cost follows the rows waiting, not the session's history, and finished rows are
 * never parsed into objects. Times compare as text, as SQLite compares them.
 */
export function readPendingWork(session: RunnerSession, now: string): PendingWork {
  const pending = session.inbound
    .prepare("SELECT id, process_after FROM messages_in WHERE status = 'pending'")
    .raw()
    .all() as [string, string | null][];
  const dueIds: string[] = [];
  let nextDueAt: string | null = null;
  for (const [id, after] of pending) {
    if (after === null || after <= now) dueIds.push(id);
    else if (nextDueAt === null || after < nextDueAt) nextDueAt = after;
  }
  return { rows: unfinishedRows(session, dueIds, now), nextDueAt };
}

function unfinishedRows(session: RunnerSession, dueIds: string[], now: string): MessageInRow[] {
  if (dueIds.length === 0) return [];
  const finished = new Set(
    session.outbound
      .prepare(
        `SELECT message_id FROM processing_ack
         WHERE status IN ('completed', 'failed') AND message_id IN (SELECT value FROM json_each(?))`,
      )
      .pluck()
      .all(JSON.stringify(dueIds)) as string[],
  );
  const open = dueIds.filter((id) => !finished.has(id));
  if (open.length === 0) return [];
  // The same conditions again: the host may have folded or cancelled a row since the first read.
  return session.inbound
    .prepare(
      `SELECT * FROM messages_in WHERE id IN (SELECT value FROM json_each(@ids))
       AND status = 'pending' AND (process_after IS NULL OR process_after <= @now) ORDER BY seq`,
    )
    .all({ ids: JSON.stringify(open), now }) as MessageInRow[];
}

export interface NewMessageOut {
  id?: string;
  kind: MessageOutKind;
  operation: OutboundOperation;
  timestamp: string;
  inReplyTo?: string | null;
  /** The inbound message whose turn writes the row, stored in its content for the host's logs. */
  corr?: string;
  deliverAfter?: string | null;
  platformId?: string | null;
  channelType?: string | null;
  threadId?: string | null;
}

/**
 * Writes replies with odd seqs above the highest seq either file holds, in one transaction.
 * A message whose id is already stored is not written again: a turn retried after a crash
 * derives the same ids for the same sends, so the user gets them once.
 */
export function writeMessagesOut(
  session: RunnerSession,
  messages: readonly NewMessageOut[],
): { id: string; seq: number }[] {
  const insert = session.outbound.prepare(`INSERT INTO messages_out
    (id, seq, in_reply_to, timestamp, deliver_after, kind, platform_id, channel_type, thread_id, content)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const existing = session.outbound.prepare('SELECT seq FROM messages_out WHERE id = ?').pluck();
  const maxOut = session.outbound.prepare('SELECT coalesce(max(seq), 0) FROM messages_out').pluck();
  const maxIn = session.inbound.prepare('SELECT coalesce(max(seq), 0) FROM messages_in').pluck();
  const rows = messages.map((m) => ({
    ...m,
    content: JSON.stringify(outboundOperation.parse({ ...m.operation, corr: m.corr })),
  }));
  const written = session.outbound
    .transaction(() => {
      let seq = Math.max(maxOut.get() as number, maxIn.get() as number);
      return rows.map((m) => {
        const id = m.id ?? randomUUID();
        const stored = existing.get(id) as number | undefined;
        if (stored !== undefined) return { id, seq: stored };
        seq = nextSeq(seq, 'odd');
        insert.run(
          id,
          seq,
          m.inReplyTo ?? null,
          m.timestamp,
          m.deliverAfter ?? null,
          m.kind,
          m.platformId ?? null,
          m.channelType ?? null,
          m.threadId ?? null,
          m.content,
        );
        return { id, seq };
      });
    })
    .immediate();
  ringHost(session);
  return written;
}

/** Records progress on inbound rows: the only way the runner reports back on them. */
export function ackMessages(
  session: RunnerSession,
  ids: readonly string[],
  status: AckStatus,
  now: string,
  error: string | null = null,
): void {
  const upsert = session.outbound
    .prepare(`INSERT INTO processing_ack (message_id, status, status_changed, error)
    VALUES (?, ?, ?, ?) ON CONFLICT (message_id) DO UPDATE SET
      status = excluded.status, status_changed = excluded.status_changed, error = excluded.error`);
  session.outbound.transaction(() => ids.forEach((id) => upsert.run(id, status, now, error))).immediate();
}

export interface TurnOutcome {
  replies: readonly NewMessageOut[];
  ackIds: readonly string[];
  status: 'completed' | 'failed';
  error?: string | null;
  /** session_state entries to write; a null value removes the key. */
  state?: readonly { key: string; value: string | null }[];
  now: string;
}

/**
 * Ends a turn in one transaction: its replies, the acks of the rows it answered and any state.
 * A crash leaves either all of it or none of it, so a row is never completed without its reply.
 */
export function finishTurn(session: RunnerSession, outcome: TurnOutcome): { id: string; seq: number }[] {
  const written = session.outbound
    .transaction(() => {
      const replies = writeMessagesOut(session, outcome.replies);
      ackMessages(session, outcome.ackIds, outcome.status, outcome.now, outcome.error ?? null);
      for (const { key, value } of outcome.state ?? []) {
        if (value === null) deleteState(session, key);
        else writeState(session, key, value, outcome.now);
      }
      return replies;
    })
    .immediate();
  if (written.length > 0) ringHost(session);
  return written;
}

/**
 * Tells the host that rows for it are committed (shared/commit-events.ts): only once the outermost
 * transaction has ended, so the host never wakes to find the runner's lock still held. Claims and
 * state are not rung for: the host has nothing to do on them at once.
 */
function ringHost(session: RunnerSession): void {
  if (!session.outbound.inTransaction) ringBell(dirname(session.outbound.name));
}

export function readState(session: RunnerSession, key: string): string | null {
  const value = session.outbound.prepare('SELECT value FROM session_state WHERE key = ?').pluck().get(key);
  return (value as string | undefined) ?? null;
}

export function writeState(session: RunnerSession, key: string, value: string, now: string): void {
  session.outbound
    .prepare(
      `INSERT INTO session_state (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    )
    .run(key, value, now);
}

export function deleteState(session: RunnerSession, key: string): void {
  session.outbound.prepare('DELETE FROM session_state WHERE key = ?').run(key);
}

/** Where a message goes on the host's side: a channel address (all null = unknown). */
export interface Address {
  channelType: string | null;
  platformId: string | null;
  threadId: string | null;
}

export interface Destination {
  name: string;
  kind: DestinationKind;
  channelType: string | null;
  platformId: string | null;
  agentGroupId: string | null;
}

/** The agent's named destinations, as the host last projected them. */
export function readDestinations(session: RunnerSession): Destination[] {
  return session.inbound
    .prepare(
      `SELECT name, kind, channel_type AS channelType, platform_id AS platformId, agent_group_id AS agentGroupId
       FROM destinations ORDER BY name`,
    )
    .all() as Destination[];
}

/** The session's default reply address, or null when the host has not written one. */
export function readRouting(session: RunnerSession): Address | null {
  const row = session.inbound
    .prepare(
      'SELECT channel_type AS channelType, platform_id AS platformId, thread_id AS threadId FROM session_routing',
    )
    .get() as Address | undefined;
  return row ?? null;
}

export type StoredMessage = { table: 'in'; row: MessageInRow } | { table: 'out'; row: MessageOutRow };

/** The message a seq names in this session; parity says which file holds it. */
export function findMessageBySeq(session: RunnerSession, seq: number): StoredMessage | null {
  if (parityOf(seq) === 'even') {
    const row = session.inbound.prepare('SELECT * FROM messages_in WHERE seq = ?').get(seq);
    return row ? { table: 'in', row: row as MessageInRow } : null;
  }
  const row = session.outbound.prepare('SELECT * FROM messages_out WHERE seq = ?').get(seq);
  return row ? { table: 'out', row: row as MessageOutRow } : null;
}
