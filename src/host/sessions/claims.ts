// What a session's runner is working on right now, as its claims in outbound.db say.
import { withSessionFile, type SessionPaths } from './files.ts';

/** How many of the newest claims are looked at: a runner takes one batch at a time. */
const NEWEST_CLAIMS = 20;

/**
 * The chat rows the runner has claimed and not yet finished, newest claim first (a runner that took
 * a batch answers its latest message last). Tasks and system rows are left out.
 */
export function readClaimedChats(paths: SessionPaths): { id: string; content: string }[] {
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
        `SELECT id, content FROM messages_in WHERE kind = 'chat' AND id IN (SELECT value FROM json_each(?))`,
      )
      .all(JSON.stringify(claimed)),
  ) as { id: string; content: string }[];
  return claimed.flatMap((id) => rows.filter((r) => r.id === id));
}
