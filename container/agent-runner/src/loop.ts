// The runner's life: check for work, sleep until woken, exit after an idle period or when told.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Log } from './log.ts';
import type { Wake } from './wake.ts';
import { errorText } from '../../../src/shared/error-text.ts';

export interface LoopDeps {
  /** One check for due work; true when it did some (a turn ran or rows were failed). */
  checkOnce: () => Promise<boolean>;
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
  while (!deps.signal.aborted) {
    let worked = false;
    let failed = false;
    try {
      worked = await deps.checkOnce();
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
      continue; // re-check at once: messages may have arrived during the turn
    }
    const idleLeft = lastWork + deps.idleExitMs - now;
    if (idleLeft <= 0) return 'idle';
    const pause = Math.min(deps.pollMs, idleLeft);
    if (failed) await sleep(pause, undefined, { signal: deps.signal }).catch(() => undefined);
    else await deps.wake.wait(pause, deps.signal);
  }
  return 'stopped';
}
