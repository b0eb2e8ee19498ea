// Pure: what a series does when its due slots are observed, late or on time (docs/scheduling.md).
import type { CatchUpPolicy } from '../../shared/session-content.ts';
import type { Schedule } from '../../shared/cron.ts';

export const DEFAULT_CATCH_UP: CatchUpPolicy = 'latest';

export interface CatchUpInput {
  /** The slot of the series' latest row. */
  headSlot: string;
  /** That row still has to run (pending, not claimed by a runner): its own slot is one of the due ones. */
  headPending: boolean;
  now: string;
  /** When this host process started: a slot before it (less the grace) came while nobody could run it. */
  startedAt: string;
  graceMs: number;
  policy: CatchUpPolicy;
  /** `all` runs at most this many missed slots (the most recent ones). */
  maxCatchUp: number;
}

export interface PlannedRun {
  slot: string;
  /** Earlier due slots that will not run, reported on this (the first) run. */
  missedBefore: number;
}

export interface CatchUpPlan {
  /** Slots that run, oldest first; may include headSlot. */
  runs: PlannedRun[];
  /** Due slots that do not run. */
  skipped: number;
  /** The first slot after now: the series' next row (null for a one-shot task). */
  next: string | null;
}

/** Due slots are counted up to this many; beyond it only the most recent ones are found. */
export const MAX_COUNTED_SLOTS = 1000;

/**
 * A due slot is missed when a newer slot has come too (it is more than one period late) or when it
 * came before this host started (the host was down). Only the most recent due slot can be on time.
 * - skip:   on-time runs only; missed slots are dropped.
 * - latest: the on-time run, else one run for the most recent missed slot.
 * - all:    every missed slot (the most recent `maxCatchUp` of them), then the on-time one.
 */
export function planCatchUp(schedule: Pick<Schedule, 'nextAfter'> | null, input: CatchUpInput): CatchUpPlan {
  const keep = Math.max(1, input.maxCatchUp) + 1;
  const due = schedule
    ? dueSlots(schedule, input, keep)
    : {
        count: input.headPending && input.headSlot <= input.now ? 1 : 0,
        tail: input.headPending && input.headSlot <= input.now ? [input.headSlot] : [],
        next: null,
      };
  if (due.count === 0) return { runs: [], skipped: 0, next: due.next };
  const last = due.tail.at(-1)!;
  const arrivedDown = Date.parse(last) < Date.parse(input.startedAt) - input.graceMs;
  const onTime = arrivedDown ? [] : [last];
  const missedTail = onTime.length > 0 ? due.tail.slice(0, -1) : due.tail;

  let chosen: string[];
  switch (input.policy) {
    case 'skip':
      chosen = onTime;
      break;
    case 'latest':
      chosen = onTime.length > 0 ? onTime : missedTail.slice(-1);
      break;
    case 'all':
      chosen = [...missedTail.slice(-input.maxCatchUp), ...onTime];
      break;
  }
  const skipped = due.count - chosen.length;
  const runs = chosen.map((slot, i) => ({ slot, missedBefore: i === 0 ? skipped : 0 }));
  return { runs, skipped, next: due.next };
}

interface DueSlots {
  /** How many slots are due (capped at MAX_COUNTED_SLOTS). */
  count: number;
  /** The most recent due slots, oldest first. */
  tail: string[];
  next: string | null;
}

/** Slots from the head (or after it, if it already ran) up to now; follows the grid, never "now". */
function dueSlots(schedule: Pick<Schedule, 'nextAfter'>, input: CatchUpInput, keep: number): DueSlots {
  const tail: string[] = [];
  let count = 0;
  let slot = input.headPending ? input.headSlot : schedule.nextAfter(input.headSlot);
  while (slot <= input.now) {
    if (count === MAX_COUNTED_SLOTS) {
      // Years of every-minute slots: stop counting and take the most recent ones directly.
      return {
        count,
        tail: recentSlots(schedule, slot, input.now, keep),
        next: schedule.nextAfter(input.now),
      };
    }
    count++;
    tail.push(slot);
    if (tail.length > keep) tail.shift();
    slot = schedule.nextAfter(slot);
  }
  return { count, tail, next: slot };
}

/** The last `keep` slots in (from, now], searching back from now in growing windows. */
function recentSlots(
  schedule: Pick<Schedule, 'nextAfter'>,
  from: string,
  now: string,
  keep: number,
): string[] {
  const end = Date.parse(now);
  const floor = Date.parse(from) - 1;
  for (let window = 3_600_000; ; window *= 2) {
    const start = Math.max(floor, end - window);
    const found: string[] = [];
    for (let slot = schedule.nextAfter(new Date(start).toISOString()); slot <= now;) {
      found.push(slot);
      if (found.length > keep) found.shift();
      slot = schedule.nextAfter(slot);
    }
    if (found.length >= keep || start === floor) return found;
  }
}
