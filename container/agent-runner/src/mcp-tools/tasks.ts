// The agent's scheduling tools (DESIGN §6): schedule_task, list_tasks, update_task, pause_task,
// resume_task, cancel_task. Each checks what it can without the host (cron syntax, time zone, a
// time in the future: the same checks the host makes, from the same module) and writes one
// `{ op: 'action' }` row for the host to apply; list_tasks reads the host's task rows.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  CATCH_UP_POLICIES,
  type OutboundOperation,
  type TaskAction,
  type TaskActionPayload,
} from '../../../../src/shared/session-content.ts';
import { seriesStatus, summarize, type TaskSeries } from '../../../../src/shared/task-series.ts';
import { checkTimezone, localTime } from '../../../../src/shared/time-zone.ts';
import { writeMessagesOut } from '../db/session.ts';
import { readPendingTaskActions, readTaskSeries } from '../db/tasks.ts';
import type { ToolDeps, TurnScope } from './index.ts';

// cron-parser (and luxon) load on the first scheduling call, not at runner start: cold starts stay lean.
const cron = () => import('../../../../src/shared/cron.ts');

const taskIdArg = z.string().min(1).describe('the task id schedule_task returned (list_tasks shows them)');
const scheduleArgs = {
  at: z
    .string()
    .optional()
    .describe('one run at this time: ISO 8601 with an offset, e.g. 2026-06-01T09:00:00+02:00'),
  cron: z
    .string()
    .optional()
    .describe(
      'recurring: five cron fields (minute hour day-of-month month day-of-week) or @daily, @weekly …',
    ),
  timezone: z
    .string()
    .optional()
    .describe('IANA zone the cron fields are read in (default: your time zone, shown in the context)'),
  catch_up: z
    .enum(CATCH_UP_POLICIES)
    .optional()
    .describe('runs missed while the host was down: skip (none), latest (one, the default), all (each)'),
  max_catch_up: z.number().int().min(1).max(100).optional().describe('with catch_up all: at most this many'),
};

/** What every task tool works with: the runner's deps (with a time zone) and the turn. */
interface TaskToolContext {
  deps: ToolDeps & { timezone: string };
  scope: TurnScope;
}

export function registerTaskTools(server: McpServer, toolDeps: ToolDeps, scope: TurnScope): void {
  const ctx: TaskToolContext = { deps: { ...toolDeps, timezone: toolDeps.timezone ?? 'UTC' }, scope };
  registerScheduleTask(server, ctx);
  registerListTasks(server, ctx);
  registerUpdateTask(server, ctx);
  registerSeriesVerbs(server, ctx);
}

function registerScheduleTask(server: McpServer, ctx: TaskToolContext): void {
  server.registerTool(
    'schedule_task',
    {
      description:
        'Schedule work for yourself: at a time (at) or recurring (cron). When a run is due you get a turn ' +
        'with the prompt; what you answer goes to this conversation. Returns the task id.',
      inputSchema: {
        prompt: z.string().min(1).max(8000).describe('what to do at each run'),
        ...scheduleArgs,
      },
    },
    async (args) => {
      if ((args.at === undefined) === (args.cron === undefined)) {
        return failure('give either at (one run) or cron (recurring), not both; nothing was scheduled.');
      }
      const timing = await checkTiming(args, args.timezone ?? ctx.deps.timezone, ctx.deps.clock());
      if (!timing.ok) return failure(`${timing.error}; nothing was scheduled.`);
      const taskId = `task_${ctx.scope.ids({ tool: 'schedule_task', args }).slice(4, 20)}`;
      const payload: TaskActionPayload<'schedule_task'> = {
        taskId,
        prompt: args.prompt,
        ...(args.cron !== undefined ? { cron: args.cron } : { at: timing.firstRun }),
        timezone: timing.timezone,
        ...(args.catch_up ? { catchUp: args.catch_up } : {}),
        ...(args.max_catch_up ? { maxCatchUp: args.max_catch_up } : {}),
      };
      const seq = writeAction(ctx, 'schedule_task', payload);
      return result({
        taskId,
        seq,
        firstRun: timing.firstRun,
        firstRunLocal: localTime(timing.firstRun, timing.timezone),
        timezone: timing.timezone,
      });
    },
  );
}

function registerListTasks(server: McpServer, ctx: TaskToolContext): void {
  server.registerTool(
    'list_tasks',
    {
      description:
        'List your scheduled tasks in this conversation: schedule, status, next and last run. ' +
        'Changes you made a moment ago show under pendingChanges until the host has applied them.',
    },
    () => {
      const tasks = readTaskSeries(ctx.deps.session).map((s) => {
        const summary = summarize(s);
        return {
          ...summary,
          nextRunLocal: summary.nextRun && localTime(summary.nextRun, summary.timezone ?? ctx.deps.timezone),
        };
      });
      const pendingChanges = readPendingTaskActions(ctx.deps.session).map((a) => ({
        action: a.action,
        taskId: a.payload.taskId,
        seq: a.seq,
      }));
      return result({ tasks, pendingChanges });
    },
  );
}

function registerUpdateTask(server: McpServer, ctx: TaskToolContext): void {
  server.registerTool(
    'update_task',
    {
      description:
        'Change a task: its prompt, its schedule (at or cron, and timezone) or its catch-up policy. ' +
        'A new schedule starts from now.',
      inputSchema: { task_id: taskIdArg, prompt: z.string().min(1).max(8000).optional(), ...scheduleArgs },
    },
    async (args) => {
      const found = findTask(ctx, args.task_id, 'change');
      if (!found.ok) return failure(found.error);
      if (args.at !== undefined && args.cron !== undefined) {
        return failure('give either at or cron, not both; nothing was changed.');
      }
      const changes = {
        ...(args.prompt !== undefined ? { prompt: args.prompt } : {}),
        ...(args.catch_up ? { catchUp: args.catch_up } : {}),
        ...(args.max_catch_up ? { maxCatchUp: args.max_catch_up } : {}),
      } as Omit<TaskActionPayload<'update_task'>, 'taskId'>;
      if (args.at !== undefined || args.cron !== undefined || args.timezone !== undefined) {
        const head = found.series?.head;
        const timezone = args.timezone ?? head?.timezone ?? ctx.deps.timezone;
        const cron = args.cron ?? (args.at === undefined ? (head?.recurrence ?? undefined) : undefined);
        const timing = await checkTiming(
          { cron, at: cron === undefined ? (args.at ?? head?.content.scheduledFor) : undefined },
          timezone,
          ctx.deps.clock(),
        );
        if (!timing.ok) return failure(`${timing.error}; nothing was changed.`);
        Object.assign(changes, {
          timezone: timing.timezone,
          ...(args.cron !== undefined ? { cron: args.cron } : {}),
          ...(args.at !== undefined ? { at: timing.firstRun } : {}),
        });
      }
      if (Object.keys(changes).length === 0) return failure('nothing to change; give at least one field.');
      const seq = writeAction(ctx, 'update_task', { taskId: args.task_id, ...changes });
      return result({ taskId: args.task_id, seq });
    },
  );
}

/** pause_task, resume_task and cancel_task: one verb on a whole series. */
function registerSeriesVerbs(server: McpServer, ctx: TaskToolContext): void {
  for (const [name, verb, description] of [
    ['pause_task', 'pause', 'Pause a task: no runs until resume_task.'],
    ['resume_task', 'resume', 'Resume a paused task at its next scheduled time (missed runs do not run).'],
    ['cancel_task', 'cancel', 'Cancel a task for good.'],
  ] as const) {
    server.registerTool(name, { description, inputSchema: { task_id: taskIdArg } }, ({ task_id }) => {
      const found = findTask(ctx, task_id, verb);
      if (!found.ok) return failure(found.error);
      return result({ taskId: task_id, seq: writeAction(ctx, name, { taskId: task_id }) });
    });
  }
}

/** A task the host knows, or one this agent scheduled a moment ago (not applied yet). */
function findTask(
  ctx: TaskToolContext,
  taskId: string,
  verb: string,
): { ok: true; series: TaskSeries | undefined } | { ok: false; error: string } {
  const all = readTaskSeries(ctx.deps.session);
  const series = all.find((s) => s.taskId === taskId);
  if (series) {
    const status = seriesStatus(series);
    if (status === 'cancelled')
      return { ok: false, error: `task ${taskId} was cancelled; nothing to ${verb}.` };
    if (status === 'finished')
      return { ok: false, error: `task ${taskId} has already run; nothing to ${verb}.` };
    return { ok: true, series };
  }
  const pending = readPendingTaskActions(ctx.deps.session).some(
    (a) => a.action === 'schedule_task' && a.payload.taskId === taskId,
  );
  if (pending) return { ok: true, series: undefined };
  const known = all.filter((s) => ['active', 'paused'].includes(seriesStatus(s))).map((s) => s.taskId);
  return {
    ok: false,
    error: `there is no task ${taskId} in this conversation${known.length ? `; your tasks: ${known.join(', ')}` : ''}. Nothing was changed.`,
  };
}

function writeAction(ctx: TaskToolContext, action: TaskAction, payload: Record<string, unknown>): number {
  const operation: OutboundOperation = { op: 'action', action, payload };
  const [written] = writeMessagesOut(ctx.deps.session, [
    {
      id: ctx.scope.ids({ target: 'host', operation }),
      kind: 'system',
      operation,
      timestamp: ctx.deps.clock().toISOString(),
      corr: ctx.scope.corr,
    },
  ]);
  return written!.seq;
}

type Timing = { ok: true; firstRun: string; timezone: string } | { ok: false; error: string };

/** The checks the host makes again: a valid zone, a valid expression, a time still to come. */
async function checkTiming(
  args: { at?: string; cron?: string },
  timezone: string,
  now: Date,
): Promise<Timing> {
  const { compileSchedule } = await cron();
  const zone = checkTimezone(timezone);
  if (!zone.ok) return zone;
  if (args.cron !== undefined) {
    const schedule = compileSchedule(args.cron, zone.value);
    if (!schedule.ok) return schedule;
    return { ok: true, firstRun: schedule.value.nextAfter(now.toISOString()), timezone: zone.value };
  }
  const at = args.at ?? '';
  if (!z.iso.datetime({ offset: true }).safeParse(at).success) {
    return {
      ok: false,
      error: `at "${at}" is not an ISO 8601 time with an offset (e.g. 2026-06-01T09:00:00+02:00)`,
    };
  }
  const when = new Date(at);
  if (when.getTime() <= now.getTime()) {
    return {
      ok: false,
      error: `at ${when.toISOString()} is not in the future (it is now ${now.toISOString()})`,
    };
  }
  return { ok: true, firstRun: when.toISOString(), timezone: zone.value };
}

function result(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }] };
}

function failure(error: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: error }] };
}
