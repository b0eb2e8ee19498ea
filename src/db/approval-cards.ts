// Cards shown to people about an approval or a question: which chat got which card, what payload
// hash it showed, and its options in the order they were numbered. A reply "1" or a click is matched
// against these rows, and closing an approval updates each of its cards.
import type { Db } from './connection.ts';

export interface ApprovalCard {
  id: number;
  approvalId: string | null;
  questionId: string | null;
  /** The person it was sent to (approval cards); null for a question shown in a conversation. */
  userId: string | null;
  channelType: string;
  chatId: string;
  threadId: string | null;
  platformMessageId: string | null;
  /** The payload hash the card showed: a decision made from it carries this hash. */
  payloadHash: string | null;
  /** Sent as text with numbered options: replies "1", "2" … in its chat pick an option. */
  numbered: boolean;
  /** Option values, in the order shown (option n is options[n - 1]). */
  options: string[];
  sentAt: string;
  closedAt: string | null;
}

export type NewApprovalCard = Omit<ApprovalCard, 'id' | 'closedAt' | 'platformMessageId'>;

const COLUMNS = `id, approval_id AS approvalId, question_id AS questionId, user_id AS userId,
  channel_type AS channelType, chat_id AS chatId, thread_id AS threadId, platform_message_id AS platformMessageId,
  payload_hash AS payloadHash, numbered, options, sent_at AS sentAt, closed_at AS closedAt`;

type Row = Omit<ApprovalCard, 'numbered' | 'options'> & { numbered: 0 | 1; options: string };

/** Recorded before the send, so a reply racing the send still finds it. */
export function recordCard(db: Db, card: NewApprovalCard): ApprovalCard {
  const row = db
    .prepare(
      `INSERT INTO approval_cards (approval_id, question_id, user_id, channel_type, chat_id, thread_id,
         payload_hash, numbered, options, sent_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    )
    .get(
      card.approvalId,
      card.questionId,
      card.userId,
      card.channelType,
      card.chatId,
      card.threadId,
      card.payloadHash,
      card.numbered ? 1 : 0,
      JSON.stringify(card.options),
      card.sentAt,
    ) as Row;
  return toCard(row);
}

export function setCardMessageId(db: Db, id: number, platformMessageId: string | null): void {
  db.prepare('UPDATE approval_cards SET platform_message_id = ? WHERE id = ?').run(platformMessageId, id);
}

/** Every card of an approval or question, oldest first. */
export function listCards(db: Db, subject: { approvalId: string } | { questionId: string }): ApprovalCard[] {
  const rows = (
    'approvalId' in subject
      ? db
          .prepare(`SELECT ${COLUMNS} FROM approval_cards WHERE approval_id = ? ORDER BY id`)
          .all(subject.approvalId)
      : db
          .prepare(`SELECT ${COLUMNS} FROM approval_cards WHERE question_id = ? ORDER BY id`)
          .all(subject.questionId)
  ) as Row[];
  return rows.map(toCard);
}

/**
 * The chat's last card sent as numbered text, if it is open or was closed after `closedSince`: what a
 * reply "1", "2" … in that chat answers (a late one is then refused rather than passed to an agent).
 */
export function findLastNumberedCard(
  db: Db,
  channelType: string,
  chatId: string,
  closedSince: string,
): ApprovalCard | undefined {
  const row = db
    .prepare(
      `SELECT ${COLUMNS} FROM approval_cards WHERE channel_type = ? AND chat_id = ? AND numbered = 1
         AND (closed_at IS NULL OR closed_at >= ?)
       ORDER BY id DESC LIMIT 1`,
    )
    .get(channelType, chatId, closedSince) as Row | undefined;
  return row && toCard(row);
}

/** Marks the card closed; false when it already was (another pass updated it). */
export function closeCard(db: Db, id: number, now: string): boolean {
  return (
    db.prepare('UPDATE approval_cards SET closed_at = ? WHERE id = ? AND closed_at IS NULL').run(now, id)
      .changes === 1
  );
}

function toCard(row: Row): ApprovalCard {
  return { ...row, numbered: row.numbered === 1, options: JSON.parse(row.options) as string[] };
}
