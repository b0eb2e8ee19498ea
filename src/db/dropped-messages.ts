// Messages that were not routed, counted per (chat, sender, reason): nothing disappears silently,
// and a noisy sender costs one row, not one per message.
import { z } from 'zod';
import type { Db } from './connection.ts';
import { DROP_REASONS, type DropReason } from './enums.ts';

export interface DroppedMessages {
  channelType: string;
  chatId: string;
  /** '' when the platform gave no sender. */
  senderId: string;
  reason: DropReason;
  count: number;
  firstAt: string;
  lastAt: string;
  lastMessageId: string | null;
}

const drop = z.object({
  channelType: z.string().min(1),
  chatId: z.string().min(1),
  senderId: z.string().default(''),
  reason: z.enum(DROP_REASONS),
  messageId: z.string().min(1).nullish(),
});

export type Drop = z.input<typeof drop>;

/** Counts one more dropped message; returns the new count for its (chat, sender, reason). */
export function recordDroppedMessage(db: Db, input: Drop, now: string): number {
  const d = drop.parse(input);
  return db
    .prepare(
      `INSERT INTO dropped_messages (channel_type, chat_id, sender_id, reason, first_at, last_at, last_message_id)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (channel_type, chat_id, sender_id, reason) DO UPDATE
         SET count = count + 1, last_at = excluded.last_at,
             last_message_id = coalesce(excluded.last_message_id, last_message_id)
       RETURNING count`,
    )
    .pluck()
    .get(d.channelType, d.chatId, d.senderId, d.reason, now, now, d.messageId ?? null) as number;
}

/** Most recent first. */
export function listDroppedMessages(db: Db, limit = 50): DroppedMessages[] {
  return db
    .prepare(
      `SELECT channel_type AS channelType, chat_id AS chatId, sender_id AS senderId, reason, count,
         first_at AS firstAt, last_at AS lastAt, last_message_id AS lastMessageId
       FROM dropped_messages ORDER BY last_at DESC, id DESC LIMIT ?`,
    )
    .all(limit) as DroppedMessages[];
}
