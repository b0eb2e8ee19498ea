// The runner's life: check for work, sleep until woken, exit after an idle period or when told.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Log } from './log.ts';
import type { Wake } from './wake.ts';
import { errorText } from '../../../src/shared/error-text.ts';

/**
 * What led to a check for work: the runner's start, the host's bell, the poll, or the re-check right
 * after a turn. The turn's first log line names it: warm messages should say 'event'.
 */
export type Woken = 'start' | 'event' | 'poll' | 'recheck';

export interface LoopDeps {
  /** One check for due work; true when it did some (a turn ran or rows were failed). */
  checkOnce: (woken: Woken) => Promise<boolean>;
  wake: Wake;
  clock: () => Date;
  pollMs: number;
  idleExitMs: number;
  signal: AbortSignal;
  log: Log;
}

export type LoopEnd = 'idle' | 'stopped';

export async function runLoop(deps: LoopDeps): Promise<LoopEnd> {
  let lastWork = deps.clock().getTime();
  let woken: Woken = 'start';
  while (!deps.signal.aborted) {
    let worked = false;
    let failed = false;
    try {
      worked = await deps.checkOnce(woken);
    } catch (err) {
      // A locked or unreadable file must not kill the runner: it tries again after a poll period.
      deps.log.error('checking for work failed; retrying after the poll interval', {
        error: errorText(err),
      });
      failed = true;
    }
    const now = deps.clock().getTime();
    if (worked) {
      lastWork = now;
      woken = 'recheck'; // at once: messages may have arrived during the turn
      continue;
    }
    const idleLeft = lastWork + deps.idleExitMs - now;
    if (idleLeft <= 0) return 'idle';
    const pause = Math.min(deps.pollMs, idleLeft);
    if (failed) {
      await sleep(pause, undefined, { signal: deps.signal }).catch(() => undefined);
      woken = 'poll';
    } else {
      const reason = await deps.wake.wait(pause, deps.signal);
      if (reason === 'stop') break;
      woken = reason;
    }
  }
  return 'stopped';
}
