// Moving a session's series forward (DESIGN §4 step 6, "fan out recurrences"): when a series' latest
// run is due, its next slot is written in the same transaction that observes it, together with the
// catch-up runs its policy asks for; a series that failed too often in a row is paused.
// Exactly once: the unique index on (series, slot) and BEGIN IMMEDIATE make a second observer
// (another sweep, a restarted host) find the next slot already written and do nothing.
import { planCatchUp, DEFAULT_CATCH_UP } from './catch-up.ts';
import { carried, compiled } from './commands.ts';
import { failureStreak, seriesStatus, type TaskSeries } from '../../shared/task-series.ts';
import { inTaskTransaction, type SessionPaths, type TaskTx } from '../sessions/index.ts';

export interface SettleContext {
  now: string;
  /** When this host started: slots before it (less the grace) were missed while it was down. */
  startedAt: string;
  graceMs: number;
  /** Failed runs in a row that pause a series. */
  maxFailures: number;
  /** Default cap of `all` catch-up runs. */
  maxCatchUp: number;
}

export interface SettleReport {
  /** Runs written: next slots and catch-up runs. */
  inserted: number;
  /** Due runs dropped by their catch-up policy. */
  cancelled: number;
  /** Series paused by this pass after failing too often, so their owner can be told. */
  paused: { taskId: string; prompt: string; failures: number }[];
  /** Slots of the runs written: the session must be woken then. */
  wakeAt: string[];
  /** Series that cannot move (a stored schedule that no longer parses); they are paused. */
  broken: { taskId: string; error: string }[];
}

const nothing = (): SettleReport => ({ inserted: 0, cancelled: 0, paused: [], wakeAt: [], broken: [] });

/** One transaction per session; each series is settled from the snapshot read at its start. */
export function settleTasks(paths: SessionPaths, ctx: SettleContext): SettleReport {
  return inTaskTransaction(paths, ctx.now, (tx) => {
    const report = nothing();
    for (const series of tx.series()) settleOne(tx, series, ctx, report);
    return report;
  });
}

function settleOne(tx: TaskTx, series: TaskSeries, ctx: SettleContext, report: SettleReport): void {
  if (seriesStatus(series) !== 'active') return;
  const { head } = series;
  // A run a runner has taken up is running (or ran): it is never dropped, and slots after it are due.
  const headPending = head.status === 'pending' && !tx.started(head.id);
  if (head.content.scheduledFor <= ctx.now && head.status !== 'paused' && head.status !== 'cancelled') {
    if (head.recurrence) fanOut(tx, series, headPending, ctx, report);
    else if (headPending) {
      const plan = planCatchUp(null, catchUpInput(series, headPending, ctx));
      if (plan.runs.length === 0) {
        tx.setStatus([head], 'cancelled');
        report.cancelled++;
      }
    }
  }
  // Finished runs are what counts, and this pass changes none of them.
  const failures = failureStreak(series);
  if (failures >= ctx.maxFailures && tx.setSeriesStatus(series.taskId, 'pending', 'paused') > 0) {
    tx.insertSystem(
      { event: 'task_paused', taskId: series.taskId, reason: `failed ${failures} times in a row`, failures },
      false,
    );
    report.paused.push({ taskId: series.taskId, prompt: head.content.prompt, failures });
  }
}

function fanOut(
  tx: TaskTx,
  series: TaskSeries,
  headPending: boolean,
  ctx: SettleContext,
  report: SettleReport,
): void {
  const { head } = series;
  const schedule = compiled(head);
  if (!schedule.ok) {
    tx.setSeriesStatus(series.taskId, 'pending', 'paused');
    tx.insertSystem({ event: 'task_paused', taskId: series.taskId, reason: schedule.error }, false);
    report.broken.push({ taskId: series.taskId, error: schedule.error });
    return;
  }
  const plan = planCatchUp(schedule.value, catchUpInput(series, headPending, ctx));
  if (headPending && !plan.runs.some((r) => r.slot === head.content.scheduledFor)) {
    tx.setStatus([head], 'cancelled');
    report.cancelled++;
  }
  const write = (slot: string, missed: number) => {
    const written = tx.insertRun({
      taskId: series.taskId,
      slot,
      prompt: head.content.prompt,
      recurrence: head.recurrence,
      timezone: schedule.value.timezone,
      extra: { ...carried(head), ...(missed > 0 ? { missed } : {}) },
    });
    if (written) {
      report.inserted++;
      report.wakeAt.push(slot);
    }
  };
  for (const run of plan.runs) {
    if (run.slot !== head.content.scheduledFor) write(run.slot, run.missedBefore);
  }
  write(plan.next!, 0);
}

function catchUpInput(series: TaskSeries, headPending: boolean, ctx: SettleContext) {
  const { head } = series;
  return {
    headSlot: head.content.scheduledFor,
    headPending,
    now: ctx.now,
    startedAt: ctx.startedAt,
    graceMs: ctx.graceMs,
    policy: head.content.catchUp ?? DEFAULT_CATCH_UP,
    maxCatchUp: head.content.maxCatchUp ?? ctx.maxCatchUp,
  };
}
