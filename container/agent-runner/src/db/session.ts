// The runner's side of the session file contract: inbound.db read-only, outbound.db its own.
import { randomUUID } from 'node:crypto';
import {
  nextSeq,
  openSessionFile,
  outboundOperation,
  type AckStatus,
  type MessageInRow,
  type MessageOutKind,
  type OutboundOperation,
  type SessionDb,
} from '../../../../src/db/session-schema.ts';

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
  const inbound = openSessionFile({
    sessionId: opts.sessionId,
    file: 'inbound',
    path: opts.inboundPath,
    readonly: true,
  });
  try {
    const outbound = openSessionFile({
      sessionId: opts.sessionId,
      file: 'outbound',
      path: opts.outboundPath,
      readonly: false,
    });
    return { sessionId: opts.sessionId, inbound, outbound };
  } catch (err) {
    inbound.close();
    throw err;
  }
}

export function closeRunnerSession(session: RunnerSession): void {
  session.inbound.close();
  session.outbound.close();
}

/** Pending inbound rows that are due and not yet finished by any runner, in seq order. */
export function readPendingMessages(session: RunnerSession, now: string): MessageInRow[] {
  const finished = new Set(
    session.outbound
      .prepare("SELECT message_id FROM processing_ack WHERE status IN ('completed', 'failed')")
      .pluck()
      .all() as string[],
  );
  const rows = session.inbound
    .prepare(
      `SELECT * FROM messages_in WHERE status = 'pending' AND (process_after IS NULL OR process_after <= ?)
       ORDER BY seq`,
    )
    .all(now) as MessageInRow[];
  return rows.filter((row) => !finished.has(row.id));
}

export interface NewMessageOut {
  id?: string;
  kind: MessageOutKind;
  operation: OutboundOperation;
  timestamp: string;
  inReplyTo?: string | null;
  deliverAfter?: string | null;
  platformId?: string | null;
  channelType?: string | null;
  threadId?: string | null;
}

/** Writes replies with odd seqs above the highest seq either file holds, in one transaction. */
export function writeMessagesOut(
  session: RunnerSession,
  messages: readonly NewMessageOut[],
): { id: string; seq: number }[] {
  const insert = session.outbound.prepare(`INSERT INTO messages_out
    (id, seq, in_reply_to, timestamp, deliver_after, kind, platform_id, channel_type, thread_id, content)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const maxOut = session.outbound.prepare('SELECT coalesce(max(seq), 0) FROM messages_out').pluck();
  const maxIn = session.inbound.prepare('SELECT coalesce(max(seq), 0) FROM messages_in').pluck();
  const rows = messages.map((m) => ({ ...m, content: JSON.stringify(outboundOperation.parse(m.operation)) }));
  return session.outbound
    .transaction(() => {
      let seq = Math.max(maxOut.get() as number, maxIn.get() as number);
      return rows.map((m) => {
        seq = nextSeq(seq, 'odd');
        const id = m.id ?? randomUUID();
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
