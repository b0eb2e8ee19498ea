// Catch-up after downtime, as a pure decision: which due slots run, how many are dropped, what comes next.
import { describe, expect, test } from 'vitest';
import {
  compileSchedule,
  planCatchUp,
  type CatchUpInput,
  type Schedule,
} from '../../src/host/scheduling/index.ts';

const hourly = (() => {
  const s = compileSchedule('0 * * * *', 'UTC');
  if (!s.ok) throw new Error(s.error);
  return s.value;
})();
const at = (hhmm: string, day = '2026-06-01') => `${day}T${hhmm}:00.000Z`;
const input = (over: Partial<CatchUpInput>): CatchUpInput => ({
  headSlot: at('10:00'),
  headPending: true,
  now: at('10:00'),
  startedAt: at('08:00'),
  graceMs: 60_000,
  policy: 'latest',
  maxCatchUp: 10,
  ...over,
});
const plan = (over: Partial<CatchUpInput>, schedule: Schedule | null = hourly) =>
  planCatchUp(schedule, input(over));

describe('host stopped from 09:30 to 12:30 with an hourly task (slots 10:00, 11:00, 12:00 missed)', () => {
  const down = { headSlot: at('10:00'), now: at('12:30'), startedAt: at('12:30') };
  test('skip: no run; the series continues at 13:00', () => {
    expect(plan({ ...down, policy: 'skip' })).toEqual({ runs: [], skipped: 3, next: at('13:00') });
  });
  test('latest: one run, for 12:00, standing in for the two before it', () => {
    expect(plan({ ...down, policy: 'latest' })).toEqual({
      runs: [{ slot: at('12:00'), missedBefore: 2 }],
      skipped: 2,
      next: at('13:00'),
    });
  });
  test('all: three runs, oldest first', () => {
    expect(plan({ ...down, policy: 'all' })).toEqual({
      runs: [
        { slot: at('10:00'), missedBefore: 0 },
        { slot: at('11:00'), missedBefore: 0 },
        { slot: at('12:00'), missedBefore: 0 },
      ],
      skipped: 0,
      next: at('13:00'),
    });
  });
  test('all, capped at 2: the two most recent run', () => {
    expect(plan({ ...down, policy: 'all', maxCatchUp: 2 }).runs).toEqual([
      { slot: at('11:00'), missedBefore: 1 },
      { slot: at('12:00'), missedBefore: 0 },
    ]);
  });
  test('a head that already ran (an old container finished it) is not among the due slots', () => {
    const ran = plan({ ...down, headSlot: at('09:00'), headPending: false, policy: 'all' });
    expect(ran.runs.map((r) => r.slot)).toEqual([at('10:00'), at('11:00'), at('12:00')]);
  });
});

describe('a host that was up', () => {
  test.each(['skip', 'latest', 'all'] as const)(
    '%s: a slot seen on time runs; next is one period on',
    (policy) => {
      expect(plan({ policy, now: at('10:00') })).toEqual({
        runs: [{ slot: at('10:00'), missedBefore: 0 }],
        skipped: 0,
        next: at('11:00'),
      });
    },
  );
  test('a run seen late but before its next slot is on time (a slow sweep is not downtime)', () => {
    expect(plan({ policy: 'skip', now: at('10:59') }).runs).toEqual([{ slot: at('10:00'), missedBefore: 0 }]);
  });
  test('a slot overtaken by the next one is missed: only the newest can be on time', () => {
    const late = { now: at('11:00'), startedAt: at('08:00') };
    expect(plan({ ...late, policy: 'skip' }).runs.map((r) => r.slot)).toEqual([at('11:00')]);
    expect(plan({ ...late, policy: 'latest' }).runs).toEqual([{ slot: at('11:00'), missedBefore: 1 }]);
    expect(plan({ ...late, policy: 'all' }).runs.map((r) => r.slot)).toEqual([at('10:00'), at('11:00')]);
  });
  test('a slot just before start-up, within the grace, is on time', () => {
    expect(plan({ policy: 'skip', now: at('10:01'), startedAt: at('10:00') + '' }).runs).toHaveLength(1);
    expect(
      plan({ policy: 'skip', now: at('10:02'), startedAt: '2026-06-01T10:01:30.000Z' }).runs,
    ).toHaveLength(0);
  });
  test('nothing due: nothing runs and next is the next slot after the head', () => {
    expect(plan({ headSlot: at('11:00'), now: at('10:30') })).toEqual({
      runs: [],
      skipped: 0,
      next: at('11:00'),
    });
  });
});

describe('one-shot tasks', () => {
  const oneShot = { headSlot: at('09:00'), now: at('12:30'), startedAt: at('12:30') };
  test('missed while the host was down: skip drops it, latest and all run it once', () => {
    expect(plan({ ...oneShot, policy: 'skip' }, null)).toEqual({ runs: [], skipped: 1, next: null });
    expect(plan({ ...oneShot, policy: 'latest' }, null).runs).toEqual([
      { slot: at('09:00'), missedBefore: 0 },
    ]);
    expect(plan({ ...oneShot, policy: 'all' }, null).runs).toEqual([{ slot: at('09:00'), missedBefore: 0 }]);
  });
  test('due while the host was up: it runs, even with skip', () => {
    expect(plan({ policy: 'skip', headSlot: at('09:00'), now: at('12:00') }, null).runs).toHaveLength(1);
  });
});

test('a month of missed minutes is counted up to a limit and still finds the latest slots', () => {
  const everyMinute = compileSchedule('* * * * *', 'UTC');
  if (!everyMinute.ok) throw new Error(everyMinute.error);
  const started = performance.now();
  const result = plan(
    {
      headSlot: at('00:00'),
      now: at('00:00', '2026-07-01'),
      startedAt: at('00:00', '2026-07-01'),
      policy: 'all',
      maxCatchUp: 3,
    },
    everyMinute.value,
  );
  // The three most recent missed minutes, then 00:00 itself (it came as the host started: on time).
  expect(result.runs.map((r) => r.slot)).toEqual([
    at('23:57', '2026-06-30'),
    at('23:58', '2026-06-30'),
    at('23:59', '2026-06-30'),
    at('00:00', '2026-07-01'),
  ]);
  expect(result.next).toBe(at('00:01', '2026-07-01'));
  expect(performance.now() - started).toBeLessThan(2000);
});
