// Scheduled and recurring tasks (docs/scheduling.md): the front door. Tasks are messages_in rows of
// kind 'task' in the session that scheduled them, one row per run, grouped by series_id (the task id).
// The host writes them: the agent's actions arrive through delivery, the sweep and container exits
// move series forward (settle), the operator acts through `warren tasks`.
import { getAgentGroup } from '../../db/agent-groups.ts';
import type { Db } from '../../db/connection.ts';
import { isTaskAction } from '../../shared/session-content.ts';
import { getSession, scheduleWake, type Session } from '../../db/sessions.ts';
import type { Logger } from '../logger.ts';
import { sessionPaths, type SessionPaths } from '../sessions/index.ts';
import { applyTaskAction, type ActionResult, type ActionRow } from './actions.ts';
import { settleTasks, type SettleReport } from './settle.ts';

export { checkTimezone } from '../../shared/time-zone.ts';
export {
  compileSchedule,
  nextRunAfter,
  upcomingRuns,
  CRON_MACROS,
  ScheduleError,
} from '../../shared/cron.ts';
export type { Checked, Schedule } from '../../shared/cron.ts';
export { planCatchUp, DEFAULT_CATCH_UP, MAX_COUNTED_SLOTS } from './catch-up.ts';
export type { CatchUpInput, CatchUpPlan, PlannedRun } from './catch-up.ts';
export {
  summarize,
  groupSeries,
  parseTaskRows,
  seriesStatus,
  failureStreak,
} from '../../shared/task-series.ts';
export type { TaskRun, TaskSeries, TaskStatus, TaskSummary } from '../../shared/task-series.ts';
export { listTasks, showTask, operateTask } from './operator.ts';
export type { OperatorCommand, OperatorOutcome, TaskDetail, TaskListing } from './operator.ts';
export { applyTaskAction } from './actions.ts';
export type { ActionResult, ActionRow } from './actions.ts';
export { settleTasks } from './settle.ts';
export type { SettleContext, SettleReport } from './settle.ts';

export interface SchedulingSettings {
  /** Failed runs in a row that pause a series (its owner is told). */
  maxFailures: number;
  /** Default cap of `all` catch-up runs after downtime. */
  maxCatchUp: number;
  /** Live (active or paused) tasks one conversation may hold. */
  maxTasksPerSession: number;
  /** A slot this close before the host started still counts as on time. */
  missedGraceMs: number;
}

export const DEFAULT_SCHEDULING: SchedulingSettings = {
  maxFailures: 3,
  maxCatchUp: 10,
  maxTasksPerSession: 50,
  missedGraceMs: 60_000,
};

export interface SchedulerDeps {
  db: Db;
  dataDir: string;
  clock: () => Date;
  log: Logger;
  settings?: Partial<SchedulingSettings>;
  /** Zone for tasks that name none when their agent group has none either (default: this machine's). */
  hostTimezone?: string;
  /** Tells the session's chat directly (no model call): a series paused after failing. */
  notifyUser(sessionId: string, key: string, text: string): Promise<boolean>;
  /** Starts a turn: the agent must read why its action was refused. */
  wake(sessionId: string): void;
}

export function createScheduler(deps: SchedulerDeps) {
  const { db, log, clock } = deps;
  const settings = { ...DEFAULT_SCHEDULING, ...deps.settings };
  const startedAt = clock().toISOString();
  const hostTimezone = deps.hostTimezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;

  return { handles: isTaskAction, apply, settleSession, startedAt };

  /** Applies an agent's task action (delivery calls this for `op: 'action'` rows it does not send). */
  function apply(sessionId: string, row: ActionRow): ActionResult | undefined {
    const found = sessionOf(sessionId);
    if (!found) return undefined;
    const { session, paths } = found;
    const now = clock().toISOString();
    const group = getAgentGroup(db, session.agentGroupId);
    const result = applyTaskAction(paths, row, {
      now,
      defaultTimezone: group?.timezone ?? hostTimezone,
      maxTasks: settings.maxTasksPerSession,
    });
    if (result.ok) {
      log.info({ sessionId, action: row.action, taskId: result.taskId }, result.message);
      for (const at of result.wakeAt) scheduleWake(db, sessionId, at);
    } else {
      log.warn(
        { sessionId, action: row.action, error: result.error },
        'task action refused; the agent is told',
      );
      deps.wake(sessionId);
    }
    return result;
  }

  /**
   * Moves the session's due series forward, applies catch-up policies and pauses series that keep
   * failing. Called when the sweep wakes the session and when its container exits.
   */
  function settleSession(sessionId: string): SettleReport | undefined {
    const found = sessionOf(sessionId);
    if (!found || found.session.status !== 'active') return undefined; // a closed chat's tasks stop
    const report = settleTasks(found.paths, {
      now: clock().toISOString(),
      startedAt,
      graceMs: settings.missedGraceMs,
      maxFailures: settings.maxFailures,
      maxCatchUp: settings.maxCatchUp,
    });
    for (const at of report.wakeAt) scheduleWake(db, sessionId, at);
    if (report.cancelled > 0 || report.inserted > 1) {
      log.info({ sessionId, written: report.inserted, dropped: report.cancelled }, 'tasks caught up');
    }
    for (const broken of report.broken) {
      log.error({ sessionId, ...broken }, 'a stored task schedule is invalid; the task is paused');
    }
    for (const paused of report.paused) {
      log.warn({ sessionId, ...paused }, 'task paused after failing repeatedly; its owner is told');
      const text =
        `The scheduled task "${excerpt(paused.prompt)}" (${paused.taskId}) failed ${paused.failures} times ` +
        `in a row and is paused. Ask me to resume it, or run: warren tasks resume ${paused.taskId}`;
      deps
        .notifyUser(sessionId, `task-paused:${paused.taskId}:${clock().toISOString()}`, text)
        .catch((err: unknown) =>
          log.warn({ sessionId, err }, 'could not tell the owner that a task was paused'),
        );
    }
    return report;
  }

  function sessionOf(sessionId: string): { session: Session; paths: SessionPaths } | undefined {
    const session = getSession(db, sessionId);
    if (!session) return undefined;
    return { session, paths: sessionPaths(deps.dataDir, session.agentGroupId, session.id) };
  }
}

const excerpt = (text: string) => (text.length > 60 ? `${text.slice(0, 59)}…` : text);

export type Scheduler = ReturnType<typeof createScheduler>;
