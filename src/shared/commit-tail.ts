// A read that meets the writer's lock just as its journal is gone (a poll, or a ring heard as the
// writer's next commit ended; commit-events.ts) finds it about to be freed: the writer's unlink(2) of
// its journal goes on freeing the journal's blocks (0.1-1.3 ms on this ext4 disk), then it unlocks.
// SQLite's busy handler sleeps at least 1 ms (then 2, 5, 10 …), and the host's event loop cannot
// use it at all; this waits out that tail in 0.1 ms steps.
import { lstatSync } from 'node:fs';

/** How a read waits for the other side's lock. */
export interface LockWait {
  /** Give up (the read's error is thrown) once this much time has passed. */
  maxMs: number;
  /**
   * While the other side has a journal it is in the middle of a commit, not at its end: wait this
   * long between tries, or give up at once when undefined.
   */
  midCommitStepMs?: number;
  /** Told before each wait. */
  onWait?: () => void;
}

/** Between tries at a commit's end: its tail takes 0.1-1.3 ms. */
const TAIL_STEP_MS = 0.1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

export const isLocked = (err: unknown): boolean =>
  String((err as { code?: unknown }).code ?? '').startsWith('SQLITE_BUSY');

/**
 * Runs `read`, a unit of work that only reads and can run again; while it fails on the writer's
 * lock, tries again as `wait` says. `journal` is the writer's journal path: it is only lstat'ed, so
 * whatever the other side put there is never followed.
 */
export function readWaitingForLock<T>(read: () => T, journal: string, wait: LockWait): T {
  const start = performance.now();
  for (;;) {
    try {
      return read();
    } catch (err) {
      if (!isLocked(err)) throw err;
      const midCommit = lstatSync(journal, { throwIfNoEntry: false }) !== undefined;
      const step = midCommit ? wait.midCommitStepMs : TAIL_STEP_MS;
      if (step === undefined || performance.now() - start + step > wait.maxMs) throw err;
      wait.onWait?.();
      Atomics.wait(sleeper, 0, 0, step);
    }
  }
}
