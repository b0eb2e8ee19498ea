// Reads the host makes of session files: which platform message a seq or an inbound row stands for,
// which row caused another, where a session answers by default.
import type { MessageInRow } from '../../shared/session-contract.ts';
import { withSessionFile, type SessionPaths } from './files.ts';

/** Platform message ids of inbound rows (the message each reply answers), by row id. */
export function platformIdsOfInbound(paths: SessionPaths, ids: readonly string[]): Map<string, string> {
  if (ids.length === 0) return new Map();
  const rows = withSessionFile(paths, 'inbound', 'read', (db) =>
    db
      .prepare(
        `SELECT id, json_extract(content, '$.platformMessageId') AS platformId FROM messages_in
         WHERE id IN (${ids.map(() => '?').join(', ')})`,
      )
      .all(...ids),
  ) as { id: string; platformId: string | null }[];
  return new Map(rows.filter((r) => r.platformId).map((r) => [r.id, r.platformId!]));
}

/**
 * The platform message a seq (as the agent sees message ids) stands for: an even seq is a message
 * the agent received, an odd seq one it sent and the host delivered. Undefined when there is none.
 */
export function platformIdOfSeq(paths: SessionPaths, seq: number): string | undefined {
  if (seq % 2 === 0) {
    return withSessionFile(paths, 'inbound', 'read', (db) =>
      db
        .prepare("SELECT json_extract(content, '$.platformMessageId') FROM messages_in WHERE seq = ?")
        .pluck()
        .get(seq),
    ) as string | undefined;
  }
  const id = withSessionFile(paths, 'outbound', 'read', (db) =>
    db.prepare('SELECT id FROM messages_out WHERE seq = ?').pluck().get(seq),
  ) as string | undefined;
  if (!id) return undefined;
  return withSessionFile(paths, 'inbound', 'read', (db) =>
    db
      .prepare("SELECT platform_message_id FROM delivered WHERE message_out_id = ? AND status = 'delivered'")
      .pluck()
      .get(id),
  ) as string | undefined;
}

/**
 * The inbound row that made the runner write an outbound row: the row it answers (in_reply_to) when
 * set, else the last row that started a turn before it (seqs order both files). Undefined when none.
 */
export function causeOf(
  paths: SessionPaths,
  row: { in_reply_to: string | null; seq: number },
): Pick<MessageInRow, 'id' | 'kind' | 'content' | 'seq'> | undefined {
  return withSessionFile(paths, 'inbound', 'read', (db) => {
    const replied = row.in_reply_to
      ? db.prepare('SELECT id, kind, content, seq FROM messages_in WHERE id = ?').get(row.in_reply_to)
      : undefined;
    return (
      replied ??
      db
        .prepare(
          'SELECT id, kind, content, seq FROM messages_in WHERE seq < ? AND trigger = 1 ORDER BY seq DESC LIMIT 1',
        )
        .get(row.seq)
    );
  }) as Pick<MessageInRow, 'id' | 'kind' | 'content' | 'seq'> | undefined;
}

/** The newest inbound row that started a turn: written by the host, whatever the runner claims. */
export function latestTriggerOf(
  paths: SessionPaths,
): Pick<MessageInRow, 'id' | 'kind' | 'content' | 'seq'> | undefined {
  return withSessionFile(paths, 'inbound', 'read', (db) =>
    db
      .prepare('SELECT id, kind, content, seq FROM messages_in WHERE trigger = 1 ORDER BY seq DESC LIMIT 1')
      .get(),
  ) as Pick<MessageInRow, 'id' | 'kind' | 'content' | 'seq'> | undefined;
}

/** The seq of an outbound row (as the agent sees it), by row id. */
export function outboundSeqOf(paths: SessionPaths, messageOutId: string): number | undefined {
  return withSessionFile(paths, 'outbound', 'read', (db) =>
    db.prepare('SELECT seq FROM messages_out WHERE id = ?').pluck().get(messageOutId),
  ) as number | undefined;
}

/** The user who sent a chat row, when the host knew them; undefined for other rows and strangers. */
export function senderUserIdOf(paths: SessionPaths, messageInId: string): string | undefined {
  const userId = withSessionFile(paths, 'inbound', 'read', (db) =>
    db
      .prepare(
        "SELECT json_extract(content, '$.sender.userId') FROM messages_in WHERE id = ? AND kind = 'chat'",
      )
      .pluck()
      .get(messageInId),
  ) as string | null | undefined;
  return userId ?? undefined;
}

/** How many delivery_failed system messages the host wrote into the session since `since`. */
export function countDeliveryFailureNotices(paths: SessionPaths, since: string): number {
  return withSessionFile(paths, 'inbound', 'read', (db) =>
    db
      .prepare(
        `SELECT count(*) FROM messages_in
         WHERE kind = 'system' AND json_extract(content, '$.event') = 'delivery_failed' AND timestamp >= ?`,
      )
      .pluck()
      .get(since),
  ) as number;
}
