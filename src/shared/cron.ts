// Cron expressions and time zones for scheduled tasks (docs/scheduling.md). Pure: no files, no clock.
// cron-parser parses the expression and decides which days match; the walk from one run to the next
// and the mapping of local wall-clock times to instants across DST changes are done here, because
// cron-parser's own walk skips whole days around some DST changes (Australia/Lord_Howe's 30-minute
// spring-forward). The runner imports this module too, so both sides give the same verdict.
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { checkTimezone } from './time-zone.ts';

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** A schedule that cannot be used; the message says what is wrong and how to write it instead. */
export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

/** Macros accepted in place of five fields (case-insensitive). */
export const CRON_MACROS = [
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@hourly',
  '@minutely',
  '@weekdays',
  '@weekends',
] as const;

export interface Schedule {
  /** The expression as given, trimmed, fields separated by single spaces. */
  readonly cron: string;
  /** Canonical IANA name (aliases such as US/Eastern resolve to America/New_York). */
  readonly timezone: string;
  /** The first run strictly after `instant` (ISO-8601), as an ISO-8601 UTC timestamp. */
  nextAfter(instant: string): string;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Without a year field every expression that runs at all runs within 8 years (29 Feb after 2100). */
const MAX_QUIET_DAYS = 9 * 366;
/** No zone shifts its clock by more than this at once; bounds the look-back around a DST change. */
const MAX_SHIFT = 3 * HOUR;

const compiled = new Map<string, Checked<Schedule>>();
const MAX_COMPILED = 1000;

/** Parses and checks a cron expression in a zone; every refusal says why. Results are kept (immutable). */
export function compileSchedule(cron: string, timezone: string): Checked<Schedule> {
  const key = `${timezone}\n${cron}`;
  let result = compiled.get(key);
  if (!result) {
    result = compile(cron, timezone);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, result);
  }
  return result;
}

function compile(cron: string, timezone: string): Checked<Schedule> {
  const zone = checkTimezone(timezone);
  if (!zone.ok) return zone;
  const trimmed = cron.trim().replace(/\s+/g, ' ');
  const expression = trimmed.startsWith('@') ? trimmed.toLowerCase() : trimmed;
  const refused = refusal(expression);
  if (refused) return { ok: false, error: `invalid cron expression "${cron}": ${refused}` };
  let parsed: CronExpression;
  try {
    // UTC: cron-parser only matches fields here; zone handling is ours (see the file comment).
    parsed = CronExpressionParser.parse(expression, { tz: 'UTC', currentDate: new Date(0) });
  } catch (err) {
    return { ok: false, error: `invalid cron expression "${cron}": ${(err as Error).message}` };
  }
  const schedule = new CompiledSchedule(expression, zone.value, rulesOf(parsed));
  try {
    schedule.nextAfter('2000-01-01T00:00:00.000Z');
  } catch (err) {
    return { ok: false, error: `invalid cron expression "${cron}": ${(err as Error).message}` };
  }
  return { ok: true, value: schedule };
}

/** The first run of `cron` in `timezone` strictly after `slot`. Throws ScheduleError when either is invalid. */
export function nextRunAfter(slot: string, cron: string, timezone: string): string {
  const compiled = compileSchedule(cron, timezone);
  if (!compiled.ok) throw new ScheduleError(compiled.error);
  return compiled.value.nextAfter(slot);
}

/** The next `count` runs strictly after `from`, each computed from the one before. */
export function upcomingRuns(schedule: Schedule, from: string, count: number): string[] {
  const runs: string[] = [];
  let at = from;
  for (let i = 0; i < count; i++) runs.push((at = schedule.nextAfter(at)));
  return runs;
}

/** What Warren refuses before cron-parser sees it: anything but 5 fields or a listed macro, seconds, H. */
function refusal(expression: string): string | undefined {
  if (expression === '') return 'it is empty; write five fields: minute hour day-of-month month day-of-week';
  if (expression.startsWith('@')) {
    if ((CRON_MACROS as readonly string[]).includes(expression)) return undefined;
    return `unknown macro ${expression}; use one of ${CRON_MACROS.join(', ')}`;
  }
  const fields = expression.split(' ');
  if (fields.length === 6) {
    return 'six fields (a seconds field) are not supported; tasks run at most once a minute';
  }
  if (fields.length !== 5) {
    return `it has ${fields.length} field(s); write five: minute hour day-of-month month day-of-week`;
  }
  if (fields.some((field) => field.split(',').some((item) => /^h/i.test(item)))) {
    return 'H (hashed values) is not supported; write the value itself';
  }
  return undefined;
}

interface Rules {
  minutes: number[];
  hours: number[];
  months: ReadonlySet<number>;
  domValues: ReadonlySet<number>;
  domLast: boolean;
  domWildcard: boolean;
  dowValues: ReadonlySet<number>;
  /** Weekdays whose last occurrence in the month matches (the `5L` form). */
  dowLast: ReadonlySet<number>;
  /** `#`: only the nth such weekday of the month (0 = no constraint). */
  nth: number;
  dowWildcard: boolean;
  /** The hour field covers every hour: DST changes are handled as elapsed time (see nextAfter). */
  everyHour: boolean;
}

function rulesOf(parsed: CronExpression): Rules {
  const f = parsed.fields;
  const numbers = (values: readonly (number | string)[]) =>
    values.filter((v): v is number => typeof v === 'number');
  const dow = f.dayOfWeek;
  return {
    minutes: [...numbers(f.minute.values)].sort((a, b) => a - b),
    hours: [...numbers(f.hour.values)].sort((a, b) => a - b),
    months: new Set(numbers(f.month.values)),
    domValues: new Set(numbers(f.dayOfMonth.values)),
    domLast: f.dayOfMonth.hasLastChar,
    domWildcard: f.dayOfMonth.isWildcard,
    dowValues: new Set(numbers(dow.values).map((d) => d % 7)),
    // Same rule as cron-parser's matcher: with any `L` in the field, the first digit of each value counts.
    dowLast: new Set(
      dow.hasLastChar
        ? dow.values.map((v) => parseInt(String(v).charAt(0), 10) % 7).filter((d) => !Number.isNaN(d))
        : [],
    ),
    nth: dow.nthDay,
    dowWildcard: dow.isWildcard,
    everyHour: numbers(f.hour.values).length === 24,
  };
}

class CompiledSchedule implements Schedule {
  private readonly offsets: OffsetReader;

  constructor(
    readonly cron: string,
    readonly timezone: string,
    private readonly rules: Rules,
  ) {
    this.offsets = offsetReader(timezone);
  }

  /**
   * Walks local wall-clock times that match the expression and maps each to instants:
   * - an ordinary time is one instant;
   * - a time that happens twice (clocks go back) runs once, at its first occurrence, unless the
   *   hour field is every hour (`*`): then both occurrences run, as they are different hours;
   * - a time that does not happen (clocks go forward) runs at the moment of the change, unless the
   *   hour field is every hour: then it is skipped, as the elapsed-time rhythm continues without it.
   * Returns the earliest such instant after `instant`.
   */
  nextAfter(instant: string): string {
    const after = Date.parse(instant);
    if (Number.isNaN(after)) throw new ScheduleError(`"${instant}" is not an ISO-8601 time`);
    const offsetNow = this.offsets.at(after);
    // A wall time earlier than now may still lie ahead if the clocks go back soon.
    const lookBack = Math.max(0, offsetNow - this.offsets.at(after + MAX_SHIFT));
    let best = Infinity;
    let stopWall = Infinity;
    for (const wall of this.wallTimesFrom(after + offsetNow - lookBack)) {
      if (wall >= stopWall) break;
      for (const at of this.instantsOf(wall)) {
        if (at > after && at < best) {
          best = at;
          // A later wall time can only map before `best` if the clocks went back just before it.
          const offsetBest = this.offsets.at(best);
          const lookAhead = Math.max(0, this.offsets.at(best - MAX_SHIFT) - offsetBest);
          stopWall = best + offsetBest + lookAhead + 1;
        }
      }
    }
    if (best === Infinity) throw new ScheduleError('it never runs');
    return new Date(best).toISOString();
  }

  /** Matching wall-clock times (as UTC-based ms) at or after `start`, in order. */
  private *wallTimesFrom(start: number): Generator<number> {
    let day = Math.floor(start / DAY) * DAY;
    for (let quiet = 0; quiet <= MAX_QUIET_DAYS; day += DAY) {
      if (!this.dayMatches(new Date(day))) {
        quiet++;
        continue;
      }
      quiet = 0;
      for (const hour of this.rules.hours) {
        for (const minute of this.rules.minutes) {
          const wall = day + hour * HOUR + minute * MINUTE;
          if (wall >= start) yield wall;
        }
      }
    }
  }

  /** cron-parser's day rules: both day fields restricted means either may match. */
  private dayMatches(date: Date): boolean {
    const r = this.rules;
    const month = date.getUTCMonth() + 1;
    if (!r.months.has(month)) return false;
    const day = date.getUTCDate();
    const weekday = date.getUTCDay();
    const last = new Date(Date.UTC(date.getUTCFullYear(), month, 0)).getUTCDate();
    const dom = r.domValues.has(day) || (r.domLast && day === last);
    const dow =
      (r.dowValues.has(weekday) && (r.nth <= 0 || Math.ceil(day / 7) === r.nth)) ||
      (r.dowLast.has(weekday) && day > last - 7);
    if (!r.domWildcard && !r.dowWildcard) return dom || dow;
    return r.dowWildcard ? dom : dow;
  }

  /** The instants at which a wall-clock time runs (see nextAfter for the DST rules). */
  private instantsOf(wall: number): number[] {
    const local = localInstants(wall, this.offsets);
    if (local.kind === 'single') return [local.at];
    if (local.kind === 'twice') return this.rules.everyHour ? [local.first, local.second] : [local.first];
    return this.rules.everyHour ? [] : [local.change];
  }
}

// ---- wall clock <-> instants ----

interface OffsetReader {
  /** ms to add to an instant to get its local wall-clock time (as UTC-based ms). */
  at(instant: number): number;
}

/**
 * Offsets are read from Intl (about 10 µs each), so each zone remembers stretches of time known to
 * have one offset: two readings equal and at most three days apart are taken to cover the time
 * between them (no zone changes its offset twice within three days).
 */
const SAME_OFFSET_SPAN = 3 * DAY;
const REMEMBERED_STRETCHES = 64;
const readers = new Map<string, OffsetReader>();

function offsetReader(timezone: string): OffsetReader {
  const known = readers.get(timezone);
  if (known) return known;
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const read = (instant: number) => {
    const whole = Math.floor(instant / 1000) * 1000;
    const p: Record<string, number> = {};
    for (const part of format.formatToParts(whole)) p[part.type] = Number(part.value);
    return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - whole;
  };
  const stretches: { from: number; to: number; offset: number }[] = [];
  const reader: OffsetReader = {
    at(instant) {
      for (const s of stretches) if (instant >= s.from && instant <= s.to) return s.offset;
      const offset = read(instant);
      const near = stretches.find(
        (s) =>
          s.offset === offset && instant - s.to <= SAME_OFFSET_SPAN && s.from - instant <= SAME_OFFSET_SPAN,
      );
      if (near) {
        near.from = Math.min(near.from, instant);
        near.to = Math.max(near.to, instant);
      } else {
        stretches.unshift({ from: instant, to: instant, offset });
        if (stretches.length > REMEMBERED_STRETCHES) stretches.pop();
      }
      return offset;
    },
  };
  readers.set(timezone, reader);
  return reader;
}

type LocalInstants =
  | { kind: 'single'; at: number }
  | { kind: 'twice'; first: number; second: number }
  | { kind: 'gap'; change: number };

/** Where a wall-clock time falls: once, twice (clocks went back) or never (clocks went forward). */
function localInstants(wall: number, offsets: OffsetReader): LocalInstants {
  const around = [offsets.at(wall - 36 * HOUR), offsets.at(wall + 36 * HOUR)];
  const candidates = new Set([...around, ...around.map((o) => offsets.at(wall - o))]);
  const valid = [...candidates]
    .filter((o) => offsets.at(wall - o) === o)
    .map((o) => wall - o)
    .sort((a, b) => a - b);
  const distinct = valid.filter((at, i) => i === 0 || at !== valid[i - 1]);
  if (distinct.length === 1) return { kind: 'single', at: distinct[0]! };
  if (distinct.length >= 2) return { kind: 'twice', first: distinct[0]!, second: distinct.at(-1)! };
  // A gap: before the change the offset is smaller. Find the change to the second.
  const before = Math.min(...candidates);
  const after = Math.max(...candidates);
  let lo = wall - after; // still before the change
  let hi = wall - before; // already after it
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (offsets.at(mid) === after) hi = mid;
    else lo = mid;
  }
  return { kind: 'gap', change: hi };
}
