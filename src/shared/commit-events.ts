// Which file events in a session folder mean "the other side committed". A session file uses a
// DELETE journal: a commit creates <db>-journal, writes the database while holding its lock, syncs,
// then deletes the journal. Waking on the first event would read while the writer still holds the
// lock, and SQLite's busy handler then sleeps 1, 2, 5 … ms on the reader's thread; waking on the
// journal's deletion reads once, right after the commit. A writer that never deletes a journal (a
// crash, another journal mode) is found by each side's fallback poll.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';

/** true when `changed` (a name fs.watch reported in `dir`, null if it gave none) ends a commit of `dbName`. */
export function endsCommit(dir: string, dbName: string, changed: string | null): boolean {
  if (changed !== null && changed !== dbName && changed !== `${dbName}-journal`) return false;
  // lstat: nothing is followed, whatever the other side put there.
  return lstatSync(join(dir, `${dbName}-journal`), { throwIfNoEntry: false }) === undefined;
}
