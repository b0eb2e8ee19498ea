// How one side of a session tells the other "I committed rows for you". A session file uses a DELETE
// journal, and every step of a commit raises file events: the journal's creation, the writes, its
// deletion. Even the last of them comes before the writer has unlocked the file (shared/commit-tail.ts),
// and many commits give the reader nothing to do (the host's `delivered` records, the runner's claims).
// So the writer rings a bell instead: once its transaction has ended and its lock is gone, it touches
// `bell` beside the file, and only after commits whose rows the reader acts on. The reader wakes on the
// bell alone and reads once, with the lock free unless the writer has begun its next commit. A bell that
// is never rung (a crash between the commit and the ring, events off) costs latency only: each side's
// fallback poll reads anyway.
import { closeSync, constants, lutimesSync, openSync, watch, type FSWatcher } from 'node:fs';
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
 * Watches `dir` and calls `onRing` once per ring of its bell; every other event there (the commits' own,
 * the heartbeat, other files) is ignored. A ring heard while the writer is already in its next commit
 * still counts: the read then waits for that commit (commit-tail.ts) or tries again (delivery's
 * backoff), where ignoring it would leave the rung rows unread until the poll whenever that next commit
 * rings for nothing. The kernel hands over events in batches, so the rings of one batch call `onRing`
 * once, on the next turn of the event loop.
 */
export function watchBell(
  dir: string,
  onRing: () => void,
  options: { persistent?: boolean } = {},
): FSWatcher {
  let due = false;
  return watch(dir, { persistent: options.persistent ?? true }, (_event, file) => {
    // An event without a name may have been the bell.
    if (due || (file !== null && file !== BELL_FILE)) return;
    due = true;
    setImmediate(() => {
      due = false;
      onRing();
    });
  });
}
