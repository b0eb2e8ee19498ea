// What each task command does to a series, inside one inbound transaction. The agent's actions
// (actions.ts) and the operator's CLI (operator.ts) both come through here, so they cannot disagree.
import type { CatchUpPolicy } from '../../shared/session-content.ts';
import { compileSchedule, type Schedule } from '../../shared/cron.ts';
import { checkTimezone } from '../../shared/time-zone.ts';
import { seriesStatus, type TaskRun, type TaskSeries } from '../../shared/task-series.ts';
import type { TaskTx } from '../sessions/index.ts';

export type CommandOutcome =
  { ok: true; message: string; taskId: string; wakeAt: string[] } | { ok: false; error: string };

/** An `at` further in the past than this is refused as a mistake; a later one runs at once. */
export const AT_PAST_TOLERANCE_MS = 5 * 60_000;

export interface NewTask {
  taskId: string;
  prompt: string;
  /** Recurring, or … */
  cron?: string;
  /** … one run at this instant. */
  at?: string;
  timezone: string;
  catchUp?: CatchUpPolicy;
  maxCatchUp?: number;
  /** The first recurring slot is the first one after this time. */
  from: string;
}

export function scheduleTask(tx: TaskTx, task: NewTask, maxTasks: number): CommandOutcome {
  if (tx.find(task.taskId)) {
    // The same action applied again (a retried delivery): it is already there.
    return done(task.taskId, `task ${task.taskId} is already scheduled`, []);
  }
  const live = tx.series().filter((s) => ['active', 'paused'].includes(seriesStatus(s))).length;
  if (live >= maxTasks) {
    return refuse(`this conversation already has ${live} tasks (the most allowed); cancel one first`);
  }
  const first = firstSlot(task, tx.now);
  if (!first.ok) return first;
  tx.insertRun({
    taskId: task.taskId,
    slot: first.slot,
    prompt: task.prompt,
    recurrence: first.schedule?.cron ?? null,
    timezone: first.timezone,
    extra: { catchUp: task.catchUp, maxCatchUp: task.maxCatchUp },
  });
  return done(task.taskId, `task ${task.taskId} scheduled; first run ${first.slot}`, [first.slot]);
}

export interface TaskChanges {
  prompt?: string;
  cron?: string;
  at?: string;
  timezone?: string;
  catchUp?: CatchUpPolicy;
  maxCatchUp?: number;
}

/** Changes apply to the runs still to come; a new schedule starts from now. */
export function updateTask(tx: TaskTx, taskId: string, changes: TaskChanges): CommandOutcome {
  const found = live(tx, taskId, 'change');
  if (!found.ok) return found;
  const series = found.series;
  const contentPatch = {
    ...(changes.prompt !== undefined ? { prompt: changes.prompt } : {}),
    ...(changes.catchUp !== undefined ? { catchUp: changes.catchUp } : {}),
    ...(changes.maxCatchUp !== undefined ? { maxCatchUp: changes.maxCatchUp } : {}),
  };
  const wakeAt: string[] = [];
  if (changes.cron !== undefined || changes.at !== undefined || changes.timezone !== undefined) {
    const head = series.head;
    const timezone = changes.timezone ?? head.timezone ?? 'UTC';
    const cron = changes.cron ?? (changes.at !== undefined ? undefined : (head.recurrence ?? undefined));
    const at = cron === undefined ? (changes.at ?? head.content.scheduledFor) : undefined;
    const first = firstSlot({ cron, at, timezone, from: tx.now }, tx.now);
    if (!first.ok) return first;
    const to = { slot: first.slot, recurrence: first.schedule?.cron ?? null, timezone: first.timezone };
    // A recurring run that is due may be running right now: it keeps its slot, a new head follows it.
    const waiting = head.status === 'pending' || head.status === 'paused';
    const movable = waiting && (head.content.scheduledFor > tx.now || !head.recurrence);
    if (movable) tx.moveRun(head, to);
    else {
      const paused = seriesStatus(series) === 'paused';
      tx.insertRun({
        taskId,
        slot: to.slot,
        prompt: changes.prompt ?? head.content.prompt,
        recurrence: to.recurrence,
        timezone: to.timezone,
        status: paused ? 'paused' : 'pending',
        extra: carried(head),
      });
    }
    wakeAt.push(to.slot);
  }
  const refreshed = tx.find(taskId)!;
  const toPatch = refreshed.runs.filter((r) => r.status === 'pending' || r.status === 'paused');
  if (Object.keys(contentPatch).length > 0) tx.patchContent(toPatch, contentPatch);
  return done(taskId, `task ${taskId} updated`, wakeAt);
}

export function pauseTask(tx: TaskTx, taskId: string): CommandOutcome {
  const found = live(tx, taskId, 'pause');
  if (!found.ok) return found;
  if (seriesStatus(found.series) === 'paused') return done(taskId, `task ${taskId} is already paused`, []);
  tx.setStatus(
    found.series.runs.filter((r) => r.status === 'pending'),
    'paused',
  );
  return done(taskId, `task ${taskId} paused`, []);
}

/**
 * Runs missed while paused do not run (pausing means "not now"): a recurring task continues at its
 * next slot after now; a one-shot task whose time has passed runs at once.
 */
export function resumeTask(tx: TaskTx, taskId: string): CommandOutcome {
  const found = live(tx, taskId, 'resume');
  if (!found.ok) return found;
  const { series } = found;
  if (seriesStatus(series) !== 'paused') return done(taskId, `task ${taskId} is not paused`, []);
  const head = series.head;
  const paused = series.runs.filter((r) => r.status === 'paused');
  tx.setStatus(
    paused.filter((r) => r !== head),
    'cancelled',
  );
  let slot = head.content.scheduledFor;
  const waiting = head.status === 'paused' || head.status === 'pending';
  if (!head.recurrence && !waiting) return done(taskId, `task ${taskId} resumed; it has no runs left`, []);
  if (head.recurrence && (slot <= tx.now || !waiting)) {
    const schedule = compiled(head);
    if (!schedule.ok) return schedule;
    slot = schedule.value.nextAfter(tx.now);
    const to = { slot, recurrence: head.recurrence, timezone: schedule.value.timezone };
    if (waiting) tx.moveRun(head, to);
    else {
      // The latest run already ran: the next one is a new row, the finished one stays as it was.
      tx.insertRun({ taskId, prompt: head.content.prompt, ...to, extra: carried(head) });
    }
  }
  const next = tx.find(taskId)!.head;
  tx.patchContent([next], { resumedAt: tx.now });
  tx.setStatus([next], 'pending');
  return done(taskId, `task ${taskId} resumed; next run ${slot}`, [slot]);
}

export function cancelTask(tx: TaskTx, taskId: string): CommandOutcome {
  const series = tx.find(taskId);
  if (!series) return unknown(taskId);
  const status = seriesStatus(series);
  if (status === 'cancelled') return done(taskId, `task ${taskId} was already cancelled`, []);
  if (status === 'finished') return refuse(`task ${taskId} has already run; there is nothing to cancel`);
  tx.setStatus(
    series.runs.filter((r) => r.status === 'pending' || r.status === 'paused'),
    'cancelled',
  );
  return done(taskId, `task ${taskId} cancelled`, []);
}

/** One extra run, due now; the schedule is not changed. */
export function runTaskNow(tx: TaskTx, taskId: string): CommandOutcome {
  const series = tx.find(taskId);
  if (!series) return unknown(taskId);
  const head = series.head;
  tx.insertRun({
    taskId,
    slot: tx.now,
    prompt: head.content.prompt,
    recurrence: null,
    timezone: head.timezone ?? 'UTC',
    extra: { manual: true },
  });
  return done(taskId, `task ${taskId}: a run is due now`, [tx.now]);
}

/** The fields a new run of a series inherits from the run before it. */
export function carried(run: TaskRun) {
  const { catchUp, maxCatchUp, resumedAt } = run.content;
  return { catchUp, maxCatchUp, resumedAt };
}

export function compiled(run: TaskRun) {
  return compileSchedule(run.recurrence ?? '', run.timezone ?? 'UTC');
}

type FirstSlot =
  { ok: true; slot: string; timezone: string; schedule: Schedule | null } | { ok: false; error: string };

function firstSlot(
  task: { cron?: string; at?: string; timezone: string; from: string },
  now: string,
): FirstSlot {
  if (task.cron !== undefined) {
    const schedule = compileSchedule(task.cron, task.timezone);
    if (!schedule.ok) return schedule;
    return {
      ok: true,
      slot: schedule.value.nextAfter(task.from),
      timezone: schedule.value.timezone,
      schedule: schedule.value,
    };
  }
  const at = Date.parse(task.at ?? '');
  if (Number.isNaN(at)) return refuse(`"${task.at}" is not an ISO-8601 time`);
  if (at < Date.parse(now) - AT_PAST_TOLERANCE_MS) {
    return refuse(`${new Date(at).toISOString()} is in the past (it is now ${now})`);
  }
  const timezone = checkTimezone(task.timezone);
  if (!timezone.ok) return timezone;
  return { ok: true, slot: new Date(at).toISOString(), timezone: timezone.value, schedule: null };
}

function live(
  tx: TaskTx,
  taskId: string,
  verb: string,
): { ok: true; series: TaskSeries } | { ok: false; error: string } {
  const series = tx.find(taskId);
  if (!series) return unknown(taskId);
  const status = seriesStatus(series);
  if (status === 'cancelled') return refuse(`task ${taskId} was cancelled; there is nothing to ${verb}`);
  if (status === 'finished') return refuse(`task ${taskId} has already run; there is nothing to ${verb}`);
  return { ok: true, series };
}

const unknown = (taskId: string) =>
  refuse(`there is no task ${taskId} in this conversation (list_tasks shows the ids)`);
const refuse = (error: string) => ({ ok: false as const, error });
const done = (taskId: string, message: string, wakeAt: string[]): CommandOutcome => ({
  ok: true,
  message,
  taskId,
  wakeAt,
});
