// Inbound messages held while an approval about their sender or chat is pending (new_sender,
// new_channel). Released once: replayed into routing when approved, dropped otherwise.
import type { Db } from './connection.ts';

export interface HeldMessage {
  id: number;
  approvalId: string;
  platformMessageId: string;
  /** The inbound message as JSON (attachments' bytes base64); only the approvals engine reads it. */
  message: unknown;
  heldAt: string;
  releasedAt: string | null;
}

const COLUMNS = `id, approval_id AS approvalId, platform_message_id AS platformMessageId, message,
  held_at AS heldAt, released_at AS releasedAt`;

/** False when this message is already held for the approval (a platform redelivery). */
export function holdMessage(
  db: Db,
  approvalId: string,
  platformMessageId: string,
  message: unknown,
  now: string,
): boolean {
  return (
    db
      .prepare(
        `INSERT INTO approval_held_messages (approval_id, platform_message_id, message, held_at)
         VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(approvalId, platformMessageId, JSON.stringify(message), now).changes === 1
  );
}

/** Held messages not yet released, in the order they arrived. */
export function listHeldMessages(db: Db, approvalId: string): HeldMessage[] {
  const rows = db
    .prepare(
      `SELECT ${COLUMNS} FROM approval_held_messages WHERE approval_id = ? AND released_at IS NULL ORDER BY id`,
    )
    .all(approvalId) as (Omit<HeldMessage, 'message'> & { message: string })[];
  return rows.map((r) => ({ ...r, message: JSON.parse(r.message) as unknown }));
}

export function releaseHeldMessage(db: Db, id: number, now: string): boolean {
  return (
    db
      .prepare('UPDATE approval_held_messages SET released_at = ? WHERE id = ? AND released_at IS NULL')
      .run(now, id).changes === 1
  );
}

/** Messages still held, waiting for their approval (`warren status`). */
export function countHeldMessages(db: Db): number {
  return db
    .prepare('SELECT count(*) FROM approval_held_messages WHERE released_at IS NULL')
    .pluck()
    .get() as number;
}

/** Per pending approval: how many of its messages are held and since when (the dashboard, the API). */
export function listHeldByApproval(db: Db): { approvalId: string; messages: number; since: string }[] {
  return db
    .prepare(
      `SELECT approval_id AS approvalId, count(*) AS messages, min(held_at) AS since
       FROM approval_held_messages WHERE released_at IS NULL GROUP BY approval_id ORDER BY since`,
    )
    .all() as { approvalId: string; messages: number; since: string }[];
}
