// How one side of a session tells the other "I committed rows for you". A session file uses a DELETE
// journal, and every step of a commit raises file events: the journal's creation, the writes, its
// deletion. Even the last of them comes before the writer has unlocked the file (shared/commit-tail.ts),
// and many commits give the reader nothing to do (the host's `delivered` records, the runner's claims).
// So the writer rings a bell instead: once its transaction has ended and its lock is gone, it touches
// `bell` beside the file, and only after commits whose rows the reader acts on. The reader wakes on the
// bell alone and reads once, without meeting the lock. A bell that is never rung (a crash between the
// commit and the ring, events off) costs latency only: each side's fallback poll reads anyway.
import { closeSync, constants, lstatSync, lutimesSync, openSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

/** The file each side touches in its own folder (the host in/, the runner out/). */
export const BELL_FILE = 'bell';

/**
 * Touches `dir`/bell, creating it the first time. Never follows a link put there, and never throws:
 * the commit it announces is durable already, and the reader's poll finds it if the bell is not heard.
 */
export function ringBell(dir: string, now: Date = new Date()): void {
  const bell = join(dir, BELL_FILE);
  try {
    lutimesSync(bell, now, now);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return;
    try {
      closeSync(openSync(bell, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o644));
    } catch {
      // Not creatable (a read-only folder, a race with the other writer): the poll covers it.
    }
  }
}

/**
 * true when an fs.watch event in `dir` that named `changed` (null: it gave no name) is the bell and
 * `dbName` has no journal now: with a journal the writer is in its next commit already, and rings again.
 */
export function ringsBell(dir: string, dbName: string, changed: string | null): boolean {
  if (changed !== null && changed !== BELL_FILE) return false;
  // lstat: nothing is followed, whatever the other side put there.
  return lstatSync(join(dir, `${dbName}-journal`), { throwIfNoEntry: false }) === undefined;
}

/**
 * Watches `dir` and calls `onCommit` once per ring of its bell. The kernel hands over events in
 * batches, so the rings of one batch call `onCommit` once, on the next turn of the event loop.
 */
export function watchCommits(
  dir: string,
  dbName: string,
  onCommit: () => void,
  options: { persistent?: boolean } = {},
): FSWatcher {
  let due = false;
  return watch(dir, { persistent: options.persistent ?? true }, (_event, file) => {
    if (due || !ringsBell(dir, dbName, file)) return;
    due = true;
    setImmediate(() => {
      due = false;
      onCommit();
    });
  });
}
