// Cron expressions and time zones: every promise docs/scheduling.md makes, across DST changes,
// month ends and leap days, and a check against cron-parser itself where it is right (no DST).
import { CronExpressionParser } from 'cron-parser';
import { describe, expect, test } from 'vitest';
import {
  checkTimezone,
  compileSchedule,
  nextRunAfter,
  ScheduleError,
  upcomingRuns,
  type Schedule,
} from '../../src/host/scheduling/index.ts';
import { localTime } from '../../src/shared/time-zone.ts';

const schedule = (cron: string, tz = 'UTC'): Schedule => {
  const compiled = compileSchedule(cron, tz);
  if (!compiled.ok) throw new Error(compiled.error);
  return compiled.value;
};
const runs = (cron: string, tz: string, from: string, count: number) =>
  upcomingRuns(schedule(cron, tz), from, count);
/** Wall-clock time in the zone, e.g. "2026-03-08 03:00 GMT-4", to read assertions as people would. */
const local = (iso: string, tz: string) => localTime(iso, tz, 'short');
const localRuns = (cron: string, tz: string, from: string, count: number) =>
  runs(cron, tz, from, count).map((at) => local(at, tz));

describe('America/New_York: clocks go forward (2026-03-08 02:00 → 03:00)', () => {
  const tz = 'America/New_York';
  test('a daily run at a time that does not exist that day runs once, at the moment of the change', () => {
    expect(localRuns('30 2 * * *', tz, '2026-03-07T12:00:00Z', 3)).toEqual([
      '2026-03-08 03:00 GMT-4',
      '2026-03-09 02:30 GMT-4',
      '2026-03-10 02:30 GMT-4',
    ]);
  });
  test('an hourly run skips the hour that does not exist: one hour passes between runs', () => {
    expect(runs('0 * * * *', tz, '2026-03-08T05:30:00Z', 3)).toEqual([
      '2026-03-08T06:00:00.000Z', // 01:00 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT
      '2026-03-08T08:00:00.000Z',
    ]);
  });
  test('runs at other times of the day keep their local time', () => {
    expect(localRuns('0 9 * * *', tz, '2026-03-06T15:00:00Z', 3)).toEqual([
      '2026-03-07 09:00 GMT-5',
      '2026-03-08 09:00 GMT-4',
      '2026-03-09 09:00 GMT-4',
    ]);
  });
});

describe('America/New_York: clocks go back (2026-11-01 02:00 → 01:00)', () => {
  const tz = 'America/New_York';
  test('a daily run in the repeated hour runs once, at the first occurrence', () => {
    expect(runs('30 1 * * *', tz, '2026-10-31T12:00:00Z', 2)).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT
      '2026-11-02T06:30:00.000Z', // 01:30 EST the next day, not 01:30 EST the same night
    ]);
    expect(nextRunAfter('2026-11-01T05:30:00.000Z', '30 1 * * *', tz)).toBe('2026-11-02T06:30:00.000Z');
  });
  test('an hourly run runs in both 01:00 hours: they are different hours', () => {
    expect(runs('0 * * * *', tz, '2026-11-01T04:30:00Z', 3)).toEqual([
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T06:00:00.000Z', // 01:00 EST
      '2026-11-01T07:00:00.000Z', // 02:00 EST
    ]);
  });
  test('every 30 minutes stays every 30 minutes of elapsed time', () => {
    const at = runs('*/30 * * * *', tz, '2026-11-01T04:50:00Z', 6);
    const gaps = at.slice(1).map((t, i) => (Date.parse(t) - Date.parse(at[i]!)) / 60_000);
    expect(gaps).toEqual([30, 30, 30, 30, 30]);
  });
});

describe('Europe/London', () => {
  const tz = 'Europe/London';
  test('clocks go forward (2026-03-29 01:00 → 02:00): 01:30 runs at 02:00 BST that day', () => {
    expect(localRuns('30 1 * * *', tz, '2026-03-28T12:00:00Z', 2)).toEqual([
      '2026-03-29 02:00 GMT+1',
      '2026-03-30 01:30 GMT+1',
    ]);
  });
  test('clocks go back (2026-10-25 02:00 → 01:00): 01:30 runs once', () => {
    expect(runs('30 1 * * *', tz, '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });
  test('@daily is local midnight on both sides of the change', () => {
    expect(localRuns('@daily', tz, '2026-03-28T12:00:00Z', 3)).toEqual([
      '2026-03-29 00:00 GMT+0',
      '2026-03-30 00:00 GMT+1',
      '2026-03-31 00:00 GMT+1',
    ]);
  });
});

describe('Australia/Lord_Howe: half-hour shifts', () => {
  const tz = 'Australia/Lord_Howe';
  test('clocks go forward half an hour (2026-10-04 02:00 → 02:30): 02:15 runs at 02:30 that day', () => {
    expect(localRuns('15 2 * * *', tz, '2026-10-03T12:00:00Z', 2)).toEqual([
      '2026-10-04 02:30 GMT+11',
      '2026-10-05 02:15 GMT+11',
    ]);
  });
  test('every 15 minutes keeps a 15-minute rhythm across the forward shift', () => {
    expect(localRuns('*/15 * * * *', tz, '2026-10-03T14:50:00Z', 4)).toEqual([
      '2026-10-04 01:30 GMT+10:30',
      '2026-10-04 01:45 GMT+10:30',
      '2026-10-04 02:30 GMT+11',
      '2026-10-04 02:45 GMT+11',
    ]);
    const at = runs('*/15 * * * *', tz, '2026-10-03T14:50:00Z', 6);
    expect(at.slice(1).map((t, i) => Date.parse(t) - Date.parse(at[i]!))).toEqual(Array(5).fill(900_000));
  });
  test('clocks go back half an hour (2026-04-05 02:00 → 01:30): 01:45 runs once', () => {
    expect(localRuns('15,45 1 * * *', tz, '2026-04-04T12:00:00Z', 4)).toEqual([
      '2026-04-05 01:15 GMT+11',
      '2026-04-05 01:45 GMT+11',
      '2026-04-06 01:15 GMT+10:30',
      '2026-04-06 01:45 GMT+10:30',
    ]);
  });
  test('every 15 minutes runs through the repeated half hour', () => {
    const at = runs('*/15 * * * *', tz, '2026-04-04T14:40:00Z', 8);
    expect(at.slice(1).map((t, i) => Date.parse(t) - Date.parse(at[i]!))).toEqual(Array(7).fill(900_000));
  });
});

describe('Asia/Kolkata (+05:30, no DST)', () => {
  test('09:00 is 03:30 UTC on every day of the year', () => {
    const year = runs('0 9 * * *', 'Asia/Kolkata', '2026-01-01T00:00:00Z', 365);
    expect(new Set(year.map((at) => at.slice(11)))).toEqual(new Set(['03:30:00.000Z']));
    expect(year.at(-1)).toBe('2026-12-31T03:30:00.000Z');
  });
});

describe('month ends and leap days', () => {
  test('the 31st runs only in months that have one', () => {
    expect(runs('0 9 31 * *', 'UTC', '2026-01-01T00:00:00Z', 7).map((at) => at.slice(0, 10))).toEqual([
      '2026-01-31',
      '2026-03-31',
      '2026-05-31',
      '2026-07-31',
      '2026-08-31',
      '2026-10-31',
      '2026-12-31',
    ]);
  });
  test('L is the last day of every month, 29 February in a leap year', () => {
    expect(runs('0 9 L * *', 'UTC', '2027-12-01T00:00:00Z', 4).map((at) => at.slice(0, 10))).toEqual([
      '2027-12-31',
      '2028-01-31',
      '2028-02-29',
      '2028-03-31',
    ]);
  });
  test('29 February runs in leap years only, and not in 2100', () => {
    expect(runs('0 9 29 2 *', 'UTC', '2026-01-01T00:00:00Z', 2)).toEqual([
      '2028-02-29T09:00:00.000Z',
      '2032-02-29T09:00:00.000Z',
    ]);
    expect(nextRunAfter('2096-03-01T00:00:00Z', '0 9 29 2 *', 'UTC')).toBe('2104-02-29T09:00:00.000Z');
  });
  test('the last day of the month is local: 23:00 on 31 March in New York is in April in UTC', () => {
    expect(runs('0 23 L * *', 'America/New_York', '2026-03-02T00:00:00Z', 2)).toEqual([
      '2026-04-01T03:00:00.000Z',
      '2026-05-01T03:00:00.000Z',
    ]);
  });
});

describe('macros', () => {
  const from = '2026-06-03T12:00:00Z'; // a Wednesday
  test.each([
    ['@yearly', ['2027-01-01T00:00:00.000Z', '2028-01-01T00:00:00.000Z']],
    ['@annually', ['2027-01-01T00:00:00.000Z', '2028-01-01T00:00:00.000Z']],
    ['@monthly', ['2026-07-01T00:00:00.000Z', '2026-08-01T00:00:00.000Z']],
    ['@weekly', ['2026-06-07T00:00:00.000Z', '2026-06-14T00:00:00.000Z']],
    ['@daily', ['2026-06-04T00:00:00.000Z', '2026-06-05T00:00:00.000Z']],
    ['@hourly', ['2026-06-03T13:00:00.000Z', '2026-06-03T14:00:00.000Z']],
    ['@minutely', ['2026-06-03T12:01:00.000Z', '2026-06-03T12:02:00.000Z']],
    ['@weekdays', ['2026-06-04T00:00:00.000Z', '2026-06-05T00:00:00.000Z', '2026-06-08T00:00:00.000Z']],
    ['@weekends', ['2026-06-06T00:00:00.000Z', '2026-06-07T00:00:00.000Z', '2026-06-13T00:00:00.000Z']],
  ])('%s', (macro, expected) => {
    expect(runs(macro, 'UTC', from, expected.length)).toEqual(expected);
  });
  test('are case-insensitive and follow the zone', () => {
    expect(runs('@DAILY', 'Europe/Berlin', from, 1)).toEqual(['2026-06-03T22:00:00.000Z']);
  });
});

describe('cron features the docs promise', () => {
  const from = '2026-06-01T00:00:00Z'; // a Monday
  const days = (cron: string, n: number) => runs(cron, 'UTC', from, n).map((at) => at.slice(0, 16));
  test('lists, ranges and steps', () => {
    expect(days('0 9,17 * * *', 3)).toEqual(['2026-06-01T09:00', '2026-06-01T17:00', '2026-06-02T09:00']);
    expect(days('30 9-11 * * *', 3)).toEqual(['2026-06-01T09:30', '2026-06-01T10:30', '2026-06-01T11:30']);
    expect(days('*/20 * * * *', 3)).toEqual(['2026-06-01T00:20', '2026-06-01T00:40', '2026-06-01T01:00']);
    expect(days('10-50/20 9 * * *', 4)).toEqual([
      '2026-06-01T09:10',
      '2026-06-01T09:30',
      '2026-06-01T09:50',
      '2026-06-02T09:10',
    ]);
  });
  test('month and weekday names, in any case', () => {
    expect(days('0 9 * JUL MON-FRI', 2)).toEqual(['2026-07-01T09:00', '2026-07-02T09:00']);
    expect(days('0 9 * jul sat,sun', 2)).toEqual(['2026-07-04T09:00', '2026-07-05T09:00']);
  });
  test('0 and 7 are both Sunday; ? means any', () => {
    expect(days('0 9 * * 0', 1)).toEqual(days('0 9 * * 7', 1));
    expect(days('0 9 ? * 7', 1)).toEqual(['2026-06-07T09:00']);
  });
  test('1#2 is the second Monday, 5L the last Friday of the month', () => {
    expect(days('0 9 * * 1#2', 2)).toEqual(['2026-06-08T09:00', '2026-07-13T09:00']);
    expect(days('0 9 * * 5L', 2)).toEqual(['2026-06-26T09:00', '2026-07-31T09:00']);
  });
  test('with both day fields restricted a day matches either (the 13th, or any Friday)', () => {
    expect(days('0 9 13 * 5', 4)).toEqual([
      '2026-06-05T09:00',
      '2026-06-12T09:00',
      '2026-06-13T09:00',
      '2026-06-19T09:00',
    ]);
  });
  test('the next run is computed from the slot: a year of hourly runs stays on the hour', () => {
    const year = runs('0 * * * *', 'America/New_York', '2026-01-01T00:00:00Z', 24 * 365);
    expect(year.every((at) => at.endsWith(':00:00.000Z'))).toBe(true);
    expect(new Set(year).size).toBe(year.length);
  });
});

describe('refused expressions and zones', () => {
  test.each([
    ['', 'it is empty'],
    ['0 9 * *', 'it has 4 field(s)'],
    ['0 0 9 * * *', 'six fields (a seconds field) are not supported'],
    ['0 0 9 * * * 2026', 'it has 7 field(s)'],
    ['H 9 * * *', 'H (hashed values) is not supported'],
    ['@secondly', 'unknown macro @secondly'],
    ['@reboot', 'unknown macro @reboot'],
    ['60 * * * *', 'expected range 0-59'],
    ['0 24 * * *', 'expected range 0-23'],
    ['0 0 32 * *', 'expected range 1-31'],
    ['0 0 * 13 *', 'expected range 1-12'],
    ['0 0 * * 8', 'expected range 0-7'],
    ['0 9 31 2 *', 'Invalid explicit day of month definition'],
    ['run every day at nine', 'Invalid characters'],
  ])('%j', (cron, reason) => {
    const result = compileSchedule(cron, 'UTC');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain(`invalid cron expression "${cron}"`);
    expect(!result.ok && result.error).toContain(reason);
  });
  test.each(['Mars/Olympus', '+05:00', 'GMT+5:30', ''])('time zone %j', (tz) => {
    const result = compileSchedule('0 9 * * *', tz);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/time zone/);
  });
  // Aliases whose canonical name is the same in every Node's ICU data (EST5EDT is not: Node 24
  // keeps it as its own zone).
  test('zone aliases resolve to their canonical name', () => {
    expect(checkTimezone('US/Eastern')).toEqual({ ok: true, value: 'America/New_York' });
    expect(checkTimezone('utc')).toEqual({ ok: true, value: 'UTC' });
    expect(schedule('0 9 * * *', 'US/Pacific').timezone).toBe('America/Los_Angeles');
  });
  test('nextRunAfter throws a ScheduleError naming the problem', () => {
    expect(() => nextRunAfter('2026-01-01T00:00:00Z', '0 9 * *', 'UTC')).toThrow(ScheduleError);
    expect(() => nextRunAfter('2026-01-01T00:00:00Z', '0 9 * * *', 'Nowhere/City')).toThrow(
      /unknown time zone "Nowhere\/City"/,
    );
  });
});

describe('agrees with cron-parser wherever a zone has no DST', () => {
  const pick = <T>(items: readonly T[], i: number) => items[i % items.length]!;
  const MINUTES = ['*', '0', '*/15', '5,35', '10-20', '0-59/7', '59'];
  const HOURS = ['*', '9', '0,12', '9-17', '*/6', '23'];
  const DOMS = ['*', '1', '15', 'L', '1-7', '31', '?', '*/10', '29'];
  const MONTHS = ['*', '2', '1,7', 'JAN-MAR', '*/3', '12'];
  const DOWS = ['*', '1', '5L', '1#2', 'MON-FRI', '0,6', '?', '7', '3#5'];

  test.each(['UTC', 'Asia/Kolkata', 'Asia/Tokyo'])('%s: 300 expressions, 12 runs each', (tz) => {
    let compared = 0;
    for (let i = 0; i < 300; i++) {
      const cron = [
        pick(MINUTES, i * 7),
        pick(HOURS, i * 5 + 1),
        pick(DOMS, i * 3 + 2),
        pick(MONTHS, i * 11 + 3),
        pick(DOWS, i * 13 + 4),
      ].join(' ');
      const ours = compileSchedule(cron, tz);
      let theirs: ReturnType<typeof CronExpressionParser.parse>;
      const from = new Date(Date.UTC(2025, i % 12, 1 + (i % 27), i % 24, (i * 7) % 60)).toISOString();
      try {
        theirs = CronExpressionParser.parse(cron, { currentDate: from, tz });
      } catch {
        expect(ours.ok).toBe(false);
        continue;
      }
      expect(ours.ok).toBe(true);
      if (!ours.ok) continue;
      const expected = theirs.take(12).map((d) => d.toISOString());
      expect([cron, upcomingRuns(ours.value, from, 12)]).toEqual([cron, expected]);
      compared++;
    }
    expect(compared).toBeGreaterThan(250);
  });
});
