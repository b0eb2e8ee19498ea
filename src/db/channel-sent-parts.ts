// The pieces of a delivery already posted to a platform, by idempotency key: a send retried after a
// failure half-way (a 429 on piece 3 of 5) posts only what is missing.
import type { Db } from './connection.ts';

export function sentPartIds(db: Db, idempotencyKey: string): Map<number, string> {
  const rows = db
    .prepare(
      'SELECT part, platform_message_id AS id FROM channel_sent_parts WHERE idempotency_key = ? ORDER BY part',
    )
    .all(idempotencyKey) as { part: number; id: string }[];
  return new Map(rows.map((r) => [r.part, r.id]));
}

export function recordSentPart(
  db: Db,
  idempotencyKey: string,
  part: number,
  platformMessageId: string,
  now: string,
): void {
  db.prepare(
    `INSERT INTO channel_sent_parts (idempotency_key, part, platform_message_id, sent_at)
     VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  ).run(idempotencyKey, part, platformMessageId, now);
}

/** Forgets pieces posted before `before` (retries of a delivery never come that late). */
export function pruneSentParts(db: Db, before: string): number {
  return db.prepare('DELETE FROM channel_sent_parts WHERE sent_at < ?').run(before).changes;
}
