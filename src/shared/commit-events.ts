// How one side of a session tells the other "I committed rows for you". A session file uses a DELETE
// journal, and every step of a commit raises file events: the journal's creation, the writes, its
// deletion. Even the last of them comes before the writer has unlocked the file (shared/commit-tail.ts),
// and many commits give the reader nothing to do (the host's `delivered` records, the runner's claims).
// So the writer rings a bell instead: once its transaction has ended and its lock is gone, it touches
// `bell` beside the file, and only after commits whose rows the reader acts on. The reader wakes on the
// bell alone and reads once, with the lock free unless the writer has begun its next commit. A bell that
// is never rung (a crash between the commit and the ring, events off) costs latency only: each side's
// fallback poll reads anyway.
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

export interface BellWatch {
  close(): void;
}

/**
 * Calls `onRing` once per ring of `dir`/bell. It watches the bell itself once it is a regular file: a
 * watch on the folder would also be woken by each write of each commit (about 24 events per reply), and
 * by the heartbeat. Until then, and again if the bell is removed or replaced, it watches the folder and
 * counts only events naming the bell. A link or FIFO put there is never watched nor opened: the folder
 * watch stays, and hears its rings by name. A ring heard while the writer is already in its next commit
 * still counts: the read then waits for that commit (commit-tail.ts) or tries again (delivery's
 * backoff), where ignoring it would leave the rung rows unread until the poll whenever that next commit
 * rings for nothing. The rings of one batch of events call `onRing` once, on the next turn of the loop.
 * A watch that fails (the folder removed) is closed and reported to `onError`; the poll takes over.
 */
export function watchBell(
  dir: string,
  onRing: () => void,
  options: { persistent?: boolean; onError?: (err: Error) => void } = {},
): BellWatch {
  const bell = join(dir, BELL_FILE);
  const persistent = options.persistent ?? true;
  let watcher: FSWatcher | undefined;
  let due = false;
  let closed = false;

  const ring = () => {
    if (due) return;
    due = true;
    setImmediate(() => {
      due = false;
      if (!closed) onRing();
    });
  };
  // The new watch is made before the old one is closed, so no ring falls between them.
  const follow = (target: string, listener: (event: string, file: string | null) => void) => {
    const previous = watcher;
    watcher = watch(target, { persistent }, listener);
    watcher.on('error', (err) => {
      watcher?.close();
      options.onError?.(err);
    });
    previous?.close();
  };
  const watchFolder = () =>
    follow(dir, (_event, file) => {
      // An event without a name may have been the bell.
      if (file !== null && file !== BELL_FILE) return;
      ring();
      if (isPlainFile(bell)) tryWatchingBell();
    });
  const tryWatchingBell = () => {
    try {
      follow(bell, (event) => {
        ring();
        if (event === 'rename' && !closed) tryWatchingFolder(); // removed or replaced
      });
    } catch {
      // Gone again since it was looked at: the folder watch stays.
    }
  };
  const tryWatchingFolder = () => {
    try {
      watchFolder();
    } catch (err) {
      watcher?.close();
      options.onError?.(err as Error);
    }
  };

  if (isPlainFile(bell)) tryWatchingBell();
  if (!watcher) watchFolder(); // throws when the folder cannot be watched, as fs.watch does
  return {
    close() {
      closed = true;
      watcher?.close();
    },
  };
}

function isPlainFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}
