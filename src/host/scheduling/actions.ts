// The agent's task actions (`{ op: 'action', action: 'schedule_task' | … }` rows in outbound.db),
// checked again on the host (the runner is never trusted) and applied in one inbound transaction
// together with their `delivered` record: an action is applied exactly once, or refused with a
// reason the agent reads as a system message.
import {
  isTaskAction,
  taskActionPayloads,
  type TaskAction,
  type TaskActionPayload,
} from '../../shared/session-content.ts';
import { inTaskTransaction, type SessionPaths, type TaskTx } from '../sessions/index.ts';
import {
  cancelTask,
  pauseTask,
  resumeTask,
  scheduleTask,
  updateTask,
  type CommandOutcome,
} from './commands.ts';

export interface ActionRow {
  /** The messages_out row id: what `delivered` records. */
  id: string;
  /** When the runner wrote it: a recurring task's first slot is the first one after this. */
  timestamp: string;
  action: string;
  payload: Record<string, unknown>;
}

export interface ActionContext {
  now: string;
  /** The agent group's zone, else the host's: for tasks that name none. */
  defaultTimezone: string;
  maxTasks: number;
}

export type ActionResult =
  (CommandOutcome & { action: string }) | { ok: false; action: string; error: string };

/** A recurring task's first slot counts from when the agent asked, but never from long ago. */
const MAX_ACTION_AGE_MS = 5 * 60_000;

export function applyTaskAction(paths: SessionPaths, row: ActionRow, ctx: ActionContext): ActionResult {
  return inTaskTransaction(paths, ctx.now, (tx) => {
    const outcome = checkAndApply(tx, row, ctx);
    if (outcome.ok) tx.recordDelivered(row.id, 'delivered');
    else {
      tx.recordDelivered(row.id, 'failed');
      const taskId = typeof row.payload.taskId === 'string' ? row.payload.taskId : undefined;
      tx.insertSystem(
        {
          event: 'task_action_refused',
          action: row.action,
          taskId,
          messageOutId: row.id,
          error: outcome.error,
        },
        true,
      );
    }
    return { ...outcome, action: row.action };
  });
}

function checkAndApply(tx: TaskTx, row: ActionRow, ctx: ActionContext): CommandOutcome {
  if (!isTaskAction(row.action)) return { ok: false, error: `"${row.action}" is not a task action` };
  const parsed = taskActionPayloads[row.action].safeParse(row.payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` (${issue.path.join('.')})` : '';
    return { ok: false, error: `${row.action}: ${issue?.message ?? 'invalid payload'}${where}` };
  }
  return apply(tx, row, row.action, parsed.data, ctx);
}

function apply(tx: TaskTx, row: ActionRow, action: TaskAction, payload: unknown, ctx: ActionContext) {
  switch (action) {
    case 'schedule_task': {
      const p = payload as TaskActionPayload<'schedule_task'>;
      const asked = Date.parse(row.timestamp);
      const now = Date.parse(ctx.now);
      const from = Number.isNaN(asked) ? now : Math.min(now, Math.max(asked, now - MAX_ACTION_AGE_MS));
      return scheduleTask(
        tx,
        { ...p, timezone: p.timezone ?? ctx.defaultTimezone, from: new Date(from).toISOString() },
        ctx.maxTasks,
      );
    }
    case 'update_task': {
      const { taskId, ...changes } = payload as TaskActionPayload<'update_task'>;
      return updateTask(tx, taskId, changes);
    }
    case 'pause_task':
      return pauseTask(tx, (payload as TaskActionPayload<'pause_task'>).taskId);
    case 'resume_task':
      return resumeTask(tx, (payload as TaskActionPayload<'resume_task'>).taskId);
    case 'cancel_task':
      return cancelTask(tx, (payload as TaskActionPayload<'cancel_task'>).taskId);
  }
}
