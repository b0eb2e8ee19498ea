// What a runner acknowledged in a session's outbound.db, read the way a test looks at a file: its own
// read-only handle, waiting out the runner's write lock.
import Database from 'better-sqlite3';
import type { SessionPaths } from '../../src/host/sessions/index.ts';
import type { AckRow } from '../../src/shared/session-contract.ts';

export function readAcks(paths: SessionPaths): AckRow[] {
  const db = new Database(paths.outbound, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return db.prepare('SELECT * FROM processing_ack ORDER BY status_changed').all() as AckRow[];
  } finally {
    db.close();
  }
}
