// Which file events in a session folder mean "the other side committed". A session file uses a
// DELETE journal: a commit creates <db>-journal, writes the database while holding its lock, syncs,
// then deletes the journal. Waking on the first event would read while the writer still holds the
// lock, and SQLite's busy handler then sleeps 1, 2, 5 … ms on the reader's thread; waking on the
// journal's deletion reads once, right after the commit. A writer that never deletes a journal (a
// crash, another journal mode) is found by each side's fallback poll.
import { lstatSync, watch, type FSWatcher, type WatchEventType } from 'node:fs';
import { join } from 'node:path';

/**
 * true when an fs.watch event in `dir` (`changed`: the name it reported, null if it gave none) ends
 * a commit of `dbName`: the journal appeared or went (a rename) and is gone now. Writes to the
 * database or the journal are the middle of a commit; the journal's own rename event follows them.
 */
export function endsCommit(
  dir: string,
  dbName: string,
  event: WatchEventType,
  changed: string | null,
): boolean {
  if (changed !== null && (event !== 'rename' || changed !== `${dbName}-journal`)) return false;
  // lstat: nothing is followed, whatever the other side put there.
  return lstatSync(join(dir, `${dbName}-journal`), { throwIfNoEntry: false }) === undefined;
}

/**
 * Watches `dir` and calls `onCommit` once per finished commit of `dbName`. The kernel hands over a
 * commit's events in batches, often after the commit ended, so the events of one batch that each
 * look like an end call `onCommit` once, on the next turn of the event loop.
 */
export function watchCommits(
  dir: string,
  dbName: string,
  onCommit: () => void,
  options: { persistent?: boolean } = {},
): FSWatcher {
  let due = false;
  return watch(dir, { persistent: options.persistent ?? true }, (event, file) => {
    if (due || !endsCommit(dir, dbName, event, file)) return;
    due = true;
    setImmediate(() => {
      due = false;
      onCommit();
    });
  });
}
