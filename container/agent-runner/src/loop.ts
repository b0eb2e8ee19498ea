// The runner's life: check for work, sleep until woken, exit after an idle period or when told.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Log } from './log.ts';
import type { Wake } from './wake.ts';
import { errorText } from '../../../src/shared/error-text.ts';

/**
 * What led to a check for work: the runner's start, the host's bell, the poll, a pending row falling
 * due, the re-check right after a turn, or another try after a check that failed. The turn's first
 * log line names it: warm messages should say 'event'.
 */
export type Woken = 'start' | 'event' | 'poll' | 'due' | 'recheck' | 'retry';

/** What one check did: whether it worked (a turn ran or rows were failed), and the next due time. */
export interface WorkCheck {
  worked: boolean;
  /** When the next pending row falls due (ISO time), so the runner wakes for it; null: none. */
  nextDueAt: string | null;
}

export interface LoopDeps {
  checkOnce: (woken: Woken) => Promise<WorkCheck>;
  wake: Wake;
  clock: () => Date;
  /** The fallback poll until the host's bell has been heard, and whenever events are off or failed. */
  pollMs: number;
  /** The fallback poll once the bell has been heard: it then only covers a ring that was lost. */
  eventPollMs: number;
  idleExitMs: number;
  signal: AbortSignal;
  log: Log;
}

export type LoopEnd = 'idle' | 'stopped';

/** A row due "now" by the clock but not yet by its text (another format) is looked at again this soon. */
const MIN_DUE_WAIT_MS = 25;

export async function runLoop(deps: LoopDeps): Promise<LoopEnd> {
  let lastWork = deps.clock().getTime();
  let woken: Woken = 'start';
  // File events may not cross the mount at all (a VM-backed one): the long poll waits for proof.
  let heard = false;
  while (!deps.signal.aborted) {
    let check: WorkCheck = { worked: false, nextDueAt: null };
    let failed = false;
    try {
      check = await deps.checkOnce(woken);
    } catch (err) {
      // A locked or unreadable file must not kill the runner: it tries again after a poll period.
      deps.log.error('checking for work failed; retrying after the poll interval', {
        error: errorText(err),
      });
      failed = true;
    }
    const now = deps.clock().getTime();
    if (check.worked) {
      if (woken === 'poll' && heard) {
        // Work no bell announced: the bell may have stopped reaching this side; poll often again.
        heard = false;
        deps.log.warn('the poll found work the bell did not announce; polling often again', {
          pollMs: deps.pollMs,
        });
      }
      lastWork = now;
      woken = 'recheck'; // at once: messages may have arrived during the turn
      continue;
    }
    const idleLeft = lastWork + deps.idleExitMs - now;
    if (idleLeft <= 0) return 'idle';
    if (failed) {
      await sleep(Math.min(deps.pollMs, idleLeft), undefined, { signal: deps.signal }).catch(() => undefined);
      woken = 'retry';
      continue;
    }
    const pollMs = heard && deps.wake.listening ? deps.eventPollMs : deps.pollMs;
    const dueIn = msUntil(check.nextDueAt, now);
    const pause = Math.min(pollMs, idleLeft, dueIn);
    const reason = await deps.wake.wait(pause, deps.signal);
    if (reason === 'stop') break;
    if (reason === 'event') heard = true;
    woken = reason === 'poll' && pause === dueIn ? 'due' : reason;
  }
  return 'stopped';
}

/** Milliseconds until an ISO time, at least MIN_DUE_WAIT_MS; Infinity for none or one that does not parse. */
function msUntil(at: string | null, now: number): number {
  const ms = at === null ? NaN : Date.parse(at) - now;
  return Number.isNaN(ms) ? Infinity : Math.max(MIN_DUE_WAIT_MS, ms);
}
