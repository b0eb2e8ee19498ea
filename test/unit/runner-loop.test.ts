// The runner's loop: what it tells each check woke it, and how long it sleeps between checks: the
// short poll until the host's bell has been heard, the long one after, and no longer than the next
// pending row's due time; and the poll settings it is given.
import { expect, test } from 'vitest';
import { ConfigError, readConfig } from '../../container/agent-runner/src/config.ts';
import { runLoop, type WorkCheck, type Woken } from '../../container/agent-runner/src/loop.ts';
import type { Wake, WakeReason } from '../../container/agent-runner/src/wake.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const NOW = Date.parse('2026-12-07T10:00:00.000Z');
const POLL_MS = 1000;
const EVENT_POLL_MS = 10_000;

/** A wake that answers each wait with the next reason given, records the pauses, then stops the loop. */
function scriptedWake(reasons: WakeReason[], listening = true) {
  const stop = new AbortController();
  const pauses: number[] = [];
  const wake: Wake = {
    wait: async (ms) => {
      pauses.push(ms);
      const next = reasons.shift();
      if (next) return next;
      stop.abort();
      return 'stop';
    },
    listening,
    close: () => {},
  };
  return { wake, pauses, signal: stop.signal };
}

/** Runs the loop with checks answering from `checks` in order (then: no work, nothing due). */
async function loopWith(wake: ReturnType<typeof scriptedWake>, checks: Partial<WorkCheck>[]) {
  const seen: Woken[] = [];
  const warnings: string[] = [];
  const end = await runLoop({
    checkOnce: async (woken) => {
      seen.push(woken);
      return { worked: false, nextDueAt: null, ...checks.shift() };
    },
    wake: wake.wake,
    clock: () => new Date(NOW),
    pollMs: POLL_MS,
    eventPollMs: EVENT_POLL_MS,
    idleExitMs: 60_000,
    signal: wake.signal,
    log: { ...quiet, warn: (message: string) => void warnings.push(message) },
  });
  return { end, seen, warnings };
}

test('each check is told whether the start, the bell, the poll or the last turn led to it', async () => {
  const wake = scriptedWake(['event', 'poll']);
  // Work is found only on the second check: a turn runs, and the loop looks again at once.
  const { end, seen } = await loopWith(wake, [{}, { worked: true }]);
  expect(end).toBe('stopped');
  expect(seen).toEqual(['start', 'event', 'recheck', 'poll']);
});

test('the poll is short until the bell is heard, and long after', async () => {
  const wake = scriptedWake(['poll', 'event', 'poll']);
  await loopWith(wake, []);
  expect(wake.pauses).toEqual([POLL_MS, POLL_MS, EVENT_POLL_MS, EVENT_POLL_MS]);
});

test('work that only the poll found brings the short poll back, with a warning', async () => {
  const wake = scriptedWake(['event', 'poll', 'poll']);
  // After the bell was heard, the long poll finds a message no bell announced.
  const { seen, warnings } = await loopWith(wake, [{}, {}, { worked: true }]);
  expect(seen).toEqual(['start', 'event', 'poll', 'recheck', 'poll']);
  expect(wake.pauses).toEqual([POLL_MS, EVENT_POLL_MS, POLL_MS, POLL_MS]);
  expect(warnings).toEqual(['the poll found work the bell did not announce; polling often again']);
});

test('work found when a failed check is tried again is no sign of a lost bell', async () => {
  const wake = scriptedWake(['event']);
  const seen: Woken[] = [];
  const warnings: string[] = [];
  let calls = 0;
  await runLoop({
    checkOnce: async (woken) => {
      seen.push(woken);
      calls++;
      if (calls === 2) throw new Error('database is locked');
      return { worked: calls === 3, nextDueAt: null };
    },
    wake: wake.wake,
    clock: () => new Date(NOW),
    pollMs: 10, // the retry's sleep
    eventPollMs: EVENT_POLL_MS,
    idleExitMs: 60_000,
    signal: wake.signal,
    log: { ...quiet, warn: (message: string) => void warnings.push(message) },
  });
  expect(seen).toEqual(['start', 'event', 'retry', 'recheck']);
  expect(warnings).toEqual([]);
  expect(wake.pauses).toEqual([10, EVENT_POLL_MS]);
});

test('with the watch off or failed, the poll stays short though the bell was heard', async () => {
  const wake = scriptedWake(['event', 'poll'], false);
  await loopWith(wake, []);
  expect(wake.pauses).toEqual([POLL_MS, POLL_MS, POLL_MS]);
});

test('a row falling due before the poll wakes the runner at its time, and says so', async () => {
  const wake = scriptedWake(['event', 'poll']);
  const inMs = (ms: number) => new Date(NOW + ms).toISOString();
  const { seen, warnings } = await loopWith(wake, [
    {},
    { nextDueAt: inMs(2500) },
    // Its time came: the check runs it; the next row falls due after the long poll.
    { worked: true },
    { nextDueAt: inMs(60_000) },
  ]);
  expect(seen).toEqual(['start', 'event', 'due', 'recheck']);
  expect(wake.pauses).toEqual([POLL_MS, 2500, EVENT_POLL_MS]);
  expect(warnings).toEqual([]);
});

test('a due time already passed, or not a time, never makes the loop spin', async () => {
  const wake = scriptedWake(['poll', 'poll']);
  await loopWith(wake, [{ nextDueAt: '2026-12-07T09:00:00Z' }, { nextDueAt: 'soon' }]);
  expect(wake.pauses).toEqual([25, POLL_MS, POLL_MS]);
});

test('the polls default to 1 s and 10 s; a time longer than a timer can hold is refused', () => {
  const env = { WARREN_SESSION_DIR: '/session' };
  expect(readConfig(env)).toMatchObject({ pollMs: 1000, eventPollMs: 10_000 });
  expect(readConfig({ ...env, WARREN_EVENT_POLL_MS: '30000' }).eventPollMs).toBe(30_000);
  expect(() => readConfig({ ...env, WARREN_EVENT_POLL_MS: '2147483648' })).toThrow(
    /WARREN_EVENT_POLL_MS must be at most 2147483647/,
  );
  expect(() => readConfig({ ...env, WARREN_EVENT_POLL_MS: '0' })).toThrow(ConfigError);
});
