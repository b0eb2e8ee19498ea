// The runner's loop tells each check what led to it, so a turn's log line says whether the host's
// bell woke it or the poll did.
import { expect, test } from 'vitest';
import { runLoop, type Woken } from '../../container/agent-runner/src/loop.ts';
import type { Wake, WakeReason } from '../../container/agent-runner/src/wake.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

test('each check is told whether the start, the bell, the poll or the last turn led to it', async () => {
  const stop = new AbortController();
  const reasons: WakeReason[] = ['event', 'poll'];
  const wake: Wake = {
    wait: async () => {
      const next = reasons.shift();
      if (next) return next;
      stop.abort();
      return 'stop';
    },
    close: () => {},
  };
  const seen: Woken[] = [];
  const end = await runLoop({
    // Work is found only on the second check: a turn runs, and the loop looks again at once.
    checkOnce: async (woken) => seen.push(woken) === 2,
    wake,
    clock: () => new Date(0),
    pollMs: 1000,
    idleExitMs: 60_000,
    signal: stop.signal,
    log: quiet,
  });
  expect(end).toBe('stopped');
  expect(seen).toEqual(['start', 'event', 'recheck', 'poll']);
});
