// What a session's runner is working on right now, as its claims in outbound.db say.
import { withSessionFile, type SessionPaths } from './files.ts';

/** How many of the newest claims are looked at: a runner takes one batch at a time. */
const NEWEST_CLAIMS = 20;

/** One inbound row the runner has claimed and not yet finished. */
export interface ClaimedRow {
  id: string;
  seq: number;
  kind: string;
  /** 1: the row starts a turn; 0: context that rides along with one. */
  trigger: number;
  content: string;
}

/**
 * The rows the runner has claimed and not yet finished (its current turn), newest claim first (a
 * runner that took a batch answers its latest message last). Claims of rows the host no longer
 * holds are left out.
 */
export function readClaimedRows(paths: SessionPaths): ClaimedRow[] {
  const claimed = withSessionFile(paths, 'outbound', 'read', (out) =>
    out
      .prepare(
        "SELECT message_id FROM processing_ack WHERE status = 'processing' ORDER BY status_changed DESC, rowid DESC LIMIT ?",
      )
      .pluck()
      .all(NEWEST_CLAIMS),
  ) as string[];
  if (claimed.length === 0) return [];
  const rows = withSessionFile(paths, 'inbound', 'read', (inbound) =>
    inbound
      .prepare(
        `SELECT id, seq, kind, trigger, content FROM messages_in WHERE id IN (SELECT value FROM json_each(?))`,
      )
      .all(JSON.stringify(claimed)),
  ) as ClaimedRow[];
  return claimed.flatMap((id) => rows.filter((r) => r.id === id));
}
