// What the host does with a session's files once its container has ended (the host may then write
// outbound.db: no runner is alive). Pure decisions are separate functions, tested without files.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { withSessionFile, type SessionPaths } from './files.ts';

/** Pure: wait before retry number `tries` of a row whose runner died (1 s, 4 s, 16 s … capped at 5 min). */
export function crashRetryDelayMs(tries: number): number {
  return Math.min(300_000, 1000 * 4 ** Math.max(0, tries - 1));
}

/** Pure: a runner is stuck when it claimed work long ago and has not shown a heartbeat since. */
export function isStuck(
  oldestClaimAt: number,
  heartbeatAt: number | null,
  now: number,
  stuckAfterMs: number,
): boolean {
  if (now - oldestClaimAt < stuckAfterMs) return false;
  return heartbeatAt === null || now - heartbeatAt >= stuckAfterMs;
}

export interface AbandonedRow {
  id: string;
  tries: number;
  platformMessageId: string | null;
}

/**
 * Rows a dead runner had claimed but never finished: each gets one more try (tries + 1, not before
 * `retryAt`), or, once tries reaches maxTries, is marked failed. Its stale claim is removed so the
 * next runner claims it afresh. Returns the rows that failed for good, so the user can be told.
 */
export function recoverAbandonedRows(
  paths: SessionPaths,
  maxTries: number,
  retryAt: (tries: number) => string,
): { retried: number; failed: AbandonedRow[] } {
  const claimed = withSessionFile(paths, 'outbound', 'read', (db) =>
    db.prepare("SELECT message_id FROM processing_ack WHERE status = 'processing'").pluck().all(),
  ) as string[];
  if (claimed.length === 0) return { retried: 0, failed: [] };
  const failed: AbandonedRow[] = [];
  let retried = 0;
  withSessionFile(paths, 'inbound', 'write', (db) => {
    const read = db.prepare(
      `SELECT id, tries, json_extract(content, '$.platformMessageId') AS platformMessageId
       FROM messages_in WHERE id = ? AND status = 'pending'`,
    );
    const retry = db.prepare('UPDATE messages_in SET tries = ?, process_after = ? WHERE id = ?');
    const fail = db.prepare("UPDATE messages_in SET tries = ?, status = 'failed' WHERE id = ?");
    db.transaction(() => {
      for (const id of claimed) {
        const row = read.get(id) as AbandonedRow | undefined;
        if (!row) continue;
        const tries = row.tries + 1;
        if (tries >= maxTries) {
          fail.run(tries, id);
          failed.push({ ...row, tries });
        } else {
          retry.run(tries, retryAt(tries), id);
          retried++;
        }
      }
    }).immediate();
  });
  withSessionFile(paths, 'outbound', 'write', (db) => {
    const clear = db.prepare("DELETE FROM processing_ack WHERE message_id = ? AND status = 'processing'");
    db.transaction(() => claimed.forEach((id) => clear.run(id))).immediate();
  });
  return { retried, failed };
}

/** Pending rows that start a turn, and the earliest time one becomes due (null = one is due now). */
export function nextTriggerDue(paths: SessionPaths, now: string): { due: boolean; nextAt: string | null } {
  const row = withSessionFile(paths, 'inbound', 'read', (db) =>
    db
      .prepare(
        `SELECT count(*) FILTER (WHERE process_after IS NULL OR process_after <= @now) AS due,
                min(process_after) FILTER (WHERE process_after > @now) AS nextAt
         FROM messages_in WHERE status = 'pending' AND trigger = 1`,
      )
      .get({ now }),
  ) as { due: number; nextAt: string | null };
  return { due: row.due > 0, nextAt: row.nextAt };
}

/**
 * Deletes finished rows older than the cutoff from both files (only while no runner is alive):
 * inbound rows done with, outbound rows delivered, their acks and delivered records.
 */
export function pruneSessionFiles(
  paths: SessionPaths,
  cutoff: string,
): { inbound: number; outbound: number } {
  const outbound = withSessionFile(paths, 'outbound', 'write', (db) =>
    db
      .transaction(() => {
        const removed = db
          .prepare(
            `DELETE FROM messages_out WHERE timestamp < ? AND id IN (SELECT value FROM json_each(?)) RETURNING id`,
          )
          .pluck()
          .all(cutoff, JSON.stringify(deliveredIds(paths))) as string[];
        db.prepare(`DELETE FROM processing_ack WHERE status <> 'processing' AND status_changed < ?`).run(
          cutoff,
        );
        return removed;
      })
      .immediate(),
  );
  const inbound = withSessionFile(paths, 'inbound', 'write', (db) =>
    db
      .transaction(() => {
        const removed = db
          .prepare(
            `DELETE FROM messages_in WHERE status IN ('completed', 'failed', 'cancelled') AND timestamp < ? RETURNING id`,
          )
          .pluck()
          .all(cutoff) as string[];
        const del = db.prepare('DELETE FROM delivered WHERE message_out_id = ?');
        outbound.forEach((id) => del.run(id));
        return removed;
      })
      .immediate(),
  );
  // The files people sent go with their rows (the host's own folder: nothing here follows a link).
  for (const id of inbound.filter((id) => /^[A-Za-z0-9_-]{1,128}$/.test(id)))
    rmSync(join(paths.inbox, id), { recursive: true, force: true });
  return { inbound: inbound.length, outbound: outbound.length };
}

function deliveredIds(paths: SessionPaths): string[] {
  return withSessionFile(paths, 'inbound', 'read', (db) =>
    db.prepare('SELECT message_out_id FROM delivered').pluck().all(),
  ) as string[];
}
