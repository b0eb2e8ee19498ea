// The operator's view of tasks (`warren tasks …`): across every active session, straight on the
// session files and the central database, with or without a running host. Changes go through the
// same commands as the agent's actions and are audited.
import { appendAuditEvent } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import { listActiveSessions, scheduleWake, type Session } from '../../db/sessions.ts';
import { inTaskTransaction, readSeries, sessionPaths, type SessionPaths } from '../sessions/index.ts';
import { cancelTask, compiled, pauseTask, resumeTask, runTaskNow, type CommandOutcome } from './commands.ts';
import { upcomingRuns } from '../../shared/cron.ts';
import {
  seriesStatus,
  summarize,
  type TaskRun,
  type TaskSeries,
  type TaskSummary,
} from '../../shared/task-series.ts';

export interface TaskListing extends TaskSummary {
  sessionId: string;
  agentGroupId: string;
}

export interface TaskListResult {
  tasks: TaskListing[];
  /** Sessions whose files could not be read, with the reason (the others are still listed). */
  unreadable: { sessionId: string; error: string }[];
}

/** Every task of every active session; finished and cancelled ones only when asked for. */
export function listTasks(db: Db, dataDir: string, options: { all?: boolean } = {}): TaskListResult {
  const result: TaskListResult = { tasks: [], unreadable: [] };
  for (const { session, paths } of sessionsOf(db, dataDir)) {
    let series: TaskSeries[];
    try {
      series = readSeries(paths);
    } catch (err) {
      result.unreadable.push({ sessionId: session.id, error: (err as Error).message });
      continue;
    }
    for (const s of series) {
      const summary = summarize(s);
      if (options.all || summary.status === 'active' || summary.status === 'paused') {
        result.tasks.push({ ...summary, sessionId: session.id, agentGroupId: session.agentGroupId });
      }
    }
  }
  return result;
}

export interface TaskDetail {
  task: TaskListing;
  runs: TaskRun[];
  /** The next scheduled slots of a recurring task, after its latest one. */
  upcoming: string[];
}

export function showTask(db: Db, dataDir: string, taskId: string, count = 5): TaskDetail | undefined {
  const found = findTask(db, dataDir, taskId);
  if (!found) return undefined;
  const { session, series } = found;
  const schedule = series.head.recurrence ? compiled(series.head) : undefined;
  const upcoming =
    schedule?.ok && seriesStatus(series) !== 'cancelled'
      ? upcomingRuns(schedule.value, series.head.content.scheduledFor, count)
      : [];
  return {
    task: { ...summarize(series), sessionId: session.id, agentGroupId: session.agentGroupId },
    runs: series.runs,
    upcoming,
  };
}

export type OperatorCommand = 'run-now' | 'pause' | 'resume' | 'cancel';

export type OperatorOutcome = (CommandOutcome & { sessionId?: string }) | { ok: false; error: string };

/** Applies a command to the task wherever it lives; wakes are left in the central database for the sweep. */
export function operateTask(
  db: Db,
  dataDir: string,
  taskId: string,
  command: OperatorCommand,
  actor: string,
  now: string,
): OperatorOutcome {
  const found = findTask(db, dataDir, taskId);
  if (!found)
    return { ok: false, error: `no task ${taskId} in any active session (warren tasks list --all)` };
  const { session, paths } = found;
  const outcome = inTaskTransaction(paths, now, (tx) => {
    switch (command) {
      case 'run-now':
        return runTaskNow(tx, taskId);
      case 'pause':
        return pauseTask(tx, taskId);
      case 'resume':
        return resumeTask(tx, taskId);
      case 'cancel':
        return cancelTask(tx, taskId);
    }
  });
  if (!outcome.ok) return outcome;
  for (const at of outcome.wakeAt) scheduleWake(db, session.id, at);
  appendAuditEvent(
    db,
    {
      actor,
      action: `task.${command.replace('-', '_')}`,
      targetKind: 'task',
      targetId: taskId,
      detail: { sessionId: session.id },
    },
    now,
  );
  return { ...outcome, sessionId: session.id };
}

function findTask(
  db: Db,
  dataDir: string,
  taskId: string,
): { session: Session; paths: SessionPaths; series: TaskSeries } | undefined {
  for (const { session, paths } of sessionsOf(db, dataDir)) {
    let series: TaskSeries | undefined;
    try {
      series = readSeries(paths).find((s) => s.taskId === taskId);
    } catch {
      continue; // an unreadable session is reported by `list`; it cannot hold the task we can change
    }
    if (series) return { session, paths, series };
  }
  return undefined;
}

function* sessionsOf(db: Db, dataDir: string) {
  for (const session of listActiveSessions(db)) {
    yield { session, paths: sessionPaths(dataDir, session.agentGroupId, session.id) };
  }
}
