// What a session's files hold of one person: the chat rows they sent (messages_in) and the replies to
// those rows (messages_out, with their acks and delivery records). Read for an export, deleted for
// a deletion (access/data-rights.ts), looked at for the chats their messages came from.
import { withSessionFile, type SessionPaths } from './files.ts';

/** Who sent a row: their user ids, and their accounts as `kind:external_id` (the sender id). */
export interface SenderKeys {
  userIds: string[];
  accounts: string[];
}

export interface SentRows {
  messagesIn: Record<string, unknown>[];
  messagesOut: Record<string, unknown>[];
}

export interface DeletedSentRows {
  /** Rows removed, by table. */
  counts: { messages_in: number; messages_out: number; processing_ack: number; delivered: number };
  inboundIds: string[];
  outboundIds: string[];
}

/** A chat message on one of the given channels, whether they sent it, and its platform ids. */
export interface ChannelChatRow {
  id: string;
  channel: string;
  chatId: string;
  platformMessageId: string | null;
  mine: boolean;
  /** Ids of the outbound rows that answer this row (only for rows they sent). */
  replyIds: string[];
}

// A chat row they sent: by user id, or by account (rows written before an account was linked to them).
const SENT_BY = `kind = 'chat' AND (json_extract(content, '$.sender.userId') IN (SELECT value FROM json_each(@ids))
  OR json_extract(content, '$.sender.id') IN (SELECT value FROM json_each(@accounts)))`;

const REPLIES_TO = 'in_reply_to IN (SELECT value FROM json_each(?))';

const paramsOf = (sender: SenderKeys) => ({
  ids: JSON.stringify(sender.userIds),
  accounts: JSON.stringify(sender.accounts),
});

export function readSentRows(paths: SessionPaths, sender: SenderKeys): SentRows {
  const messagesIn = withSessionFile(paths, 'inbound', 'read', (db) =>
    db.prepare(`SELECT * FROM messages_in WHERE ${SENT_BY} ORDER BY seq`).all(paramsOf(sender)),
  ) as Record<string, unknown>[];
  if (messagesIn.length === 0) return { messagesIn, messagesOut: [] };
  const ids = JSON.stringify(messagesIn.map((r) => r.id));
  const messagesOut = withSessionFile(paths, 'outbound', 'read', (db) =>
    db.prepare(`SELECT * FROM messages_out WHERE ${REPLIES_TO} ORDER BY seq`).all(ids),
  ) as Record<string, unknown>[];
  return { messagesIn, messagesOut };
}

/** Deletes their rows and the replies to them: outbound.db first, then inbound.db (its writer is the host). */
export function deleteSentRows(paths: SessionPaths, sender: SenderKeys): DeletedSentRows {
  const inboundIds = withSessionFile(paths, 'inbound', 'read', (db) =>
    db.prepare(`SELECT id FROM messages_in WHERE ${SENT_BY}`).pluck().all(paramsOf(sender)),
  ) as string[];
  const ids = JSON.stringify(inboundIds);
  const outbound = withSessionFile(paths, 'outbound', 'write', (db) =>
    db
      .transaction(() => {
        const outboundIds = db
          .prepare(`DELETE FROM messages_out WHERE ${REPLIES_TO} RETURNING id`)
          .pluck()
          .all(ids) as string[];
        const acks = db
          .prepare('DELETE FROM processing_ack WHERE message_id IN (SELECT value FROM json_each(?))')
          .run(ids).changes;
        return { outboundIds, acks };
      })
      .immediate(),
  );
  const inbound = withSessionFile(paths, 'inbound', 'write', (db) =>
    db
      .transaction(() => ({
        messagesIn: db
          .prepare('DELETE FROM messages_in WHERE id IN (SELECT value FROM json_each(?))')
          .run(ids).changes,
        delivered: db
          .prepare('DELETE FROM delivered WHERE message_out_id IN (SELECT value FROM json_each(?))')
          .run(JSON.stringify(outbound.outboundIds)).changes,
      }))
      .immediate(),
  );
  return {
    counts: {
      messages_in: inbound.messagesIn,
      messages_out: outbound.outboundIds.length,
      processing_ack: outbound.acks,
      delivered: inbound.delivered,
    },
    inboundIds,
    outboundIds: outbound.outboundIds,
  };
}

/** Every chat row of the session on the given channels (theirs or not), with the replies to theirs. */
export function readChannelChatRows(
  paths: SessionPaths,
  sender: SenderKeys,
  channels: readonly string[],
): ChannelChatRow[] {
  const params = { ...paramsOf(sender), channels: JSON.stringify(channels) };
  const rows = withSessionFile(paths, 'inbound', 'read', (db) =>
    db
      .prepare(
        `SELECT id, channel_type AS channel, platform_id AS chatId,
           json_extract(content, '$.platformMessageId') AS platformMessageId, coalesce((${SENT_BY}), 0) AS mine
         FROM messages_in WHERE kind = 'chat' AND platform_id IS NOT NULL
           AND channel_type IN (SELECT value FROM json_each(@channels))`,
      )
      .all(params),
  ) as { id: string; channel: string; chatId: string; platformMessageId: string | null; mine: number }[];
  const mine = rows.filter((r) => r.mine === 1).map((r) => r.id);
  const replies =
    mine.length === 0
      ? []
      : (withSessionFile(paths, 'outbound', 'read', (db) =>
          db
            .prepare(`SELECT id, in_reply_to AS inReplyTo FROM messages_out WHERE ${REPLIES_TO}`)
            .all(JSON.stringify(mine)),
        ) as { id: string; inReplyTo: string }[]);
  return rows.map((r) => ({
    ...r,
    mine: r.mine === 1,
    replyIds: replies.filter((o) => o.inReplyTo === r.id).map((o) => o.id),
  }));
}
