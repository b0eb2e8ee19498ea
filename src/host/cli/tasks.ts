// `warren tasks list|show|run-now|pause|resume|cancel`: scheduled tasks across every active session,
// read and changed on the session files whether or not the host is running (docs/scheduling.md).
import type { Config } from '../config.ts';
import {
  listTasks,
  operateTask,
  showTask,
  type OperatorCommand,
  type TaskListing,
} from '../scheduling/index.ts';
import { withCentralDb } from './central-db.ts';
import { renderTable } from './table.ts';

export interface TasksInput {
  config: Config;
  subcommand: string | undefined;
  taskId: string | undefined;
  all: boolean;
  json: boolean;
  now: Date;
  /** Who is acting, for the task's history (`cli:<login>`). */
  actor: string;
  write: (text: string) => void;
  fail: (text: string) => void;
  /** Whether a host answers on the configured port (run-now says when the run will start). */
  hostRunning: () => Promise<boolean>;
}

export const TASKS_HELP = `warren tasks list [--all] [--json]    active and paused tasks (--all: finished and cancelled too)
warren tasks show ID [--json]         every run with its status, then the next slots
warren tasks run-now ID               one extra run, due now; the schedule does not change
warren tasks pause ID                 no more runs until it is resumed
warren tasks resume ID                continues at the next slot after now
warren tasks cancel ID
`;

const COMMANDS: readonly OperatorCommand[] = ['run-now', 'pause', 'resume', 'cancel'];

export function runTasksCommand(input: TasksInput): Promise<number> {
  const { config, subcommand, taskId } = input;
  return withCentralDb({ name: 'tasks', sub: subcommand, usage: TASKS_HELP }, input, async (db) => {
    if (subcommand === 'list' || subcommand === undefined) {
      const result = listTasks(db, config.dataDir, { all: input.all });
      for (const u of result.unreadable) input.fail(`warning: session ${u.sessionId} skipped: ${u.error}\n`);
      input.write(input.json ? `${JSON.stringify(result.tasks, null, 2)}\n` : table(result.tasks));
      return 0;
    }
    if (subcommand !== 'show' && !(COMMANDS as readonly string[]).includes(subcommand)) {
      input.fail(`warren tasks: unknown subcommand "${subcommand}" (list, show, ${COMMANDS.join(', ')})\n`);
      return 2;
    }
    if (!taskId) {
      input.fail(`warren tasks ${subcommand}: give the task id (warren tasks list shows them)\n`);
      return 2;
    }
    if (subcommand === 'show') {
      const detail = showTask(db, config.dataDir, taskId);
      if (!detail) {
        input.fail(`warren tasks show: no task ${taskId} in any active session\n`);
        return 1;
      }
      input.write(input.json ? `${JSON.stringify(detail, null, 2)}\n` : describe(detail));
      return 0;
    }
    const outcome = operateTask(
      db,
      config.dataDir,
      taskId,
      subcommand as OperatorCommand,
      input.actor,
      input.now.toISOString(),
    );
    if (!outcome.ok) {
      input.fail(`warren tasks ${subcommand}: ${outcome.error}\n`);
      return 1;
    }
    let line = outcome.message;
    if (outcome.wakeAt.length > 0) {
      line += (await input.hostRunning())
        ? `; the host is running and picks it up within ${config.sweepIntervalMs} ms`
        : '; the host is not running: it is picked up when `warren start` runs next';
    }
    input.write(`${line}\n`);
    return 0;
  });
}

function table(tasks: TaskListing[]): string {
  if (tasks.length === 0) return 'no tasks (warren tasks list --all includes finished and cancelled ones)\n';
  const rows = tasks.map((t) => [
    t.taskId,
    t.status,
    t.cron ?? `at ${t.at}`,
    t.timezone ?? '',
    t.nextRun ?? '-',
    t.lastRun ? `${t.lastRun.scheduledFor} ${t.lastRun.status}` : '-',
    t.sessionId,
    excerpt(t.prompt),
  ]);
  return renderTable(
    ['TASK', 'STATUS', 'SCHEDULE', 'ZONE', 'NEXT RUN (UTC)', 'LAST RUN', 'SESSION', 'PROMPT'],
    rows,
  );
}

function describe(detail: NonNullable<ReturnType<typeof showTask>>): string {
  const t = detail.task;
  const lines = [
    `task        ${t.taskId}`,
    `status      ${t.status}${t.failures > 0 ? ` (${t.failures} failed run(s) in a row)` : ''}`,
    `schedule    ${t.cron ?? `once at ${t.at}`}`,
    `zone        ${t.timezone ?? '-'}`,
    `catch-up    ${t.catchUp ?? 'latest (default)'}`,
    `session     ${t.sessionId} (agent group ${t.agentGroupId})`,
    `next run    ${t.nextRun ?? '-'}`,
    `prompt      ${t.prompt}`,
    '',
    'runs (scheduled for, status):',
    ...detail.runs.map(
      (r) =>
        `  ${r.content.scheduledFor}  ${r.status}${r.content.manual ? '  (run-now)' : ''}` +
        `${r.content.missed ? `  (stands in for ${r.content.missed} missed)` : ''}`,
    ),
  ];
  if (detail.upcoming.length > 0) lines.push('', 'then:', ...detail.upcoming.map((at) => `  ${at}`));
  return `${lines.join('\n')}\n`;
}

const excerpt = (text: string) => {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 40 ? `${flat.slice(0, 39)}…` : flat;
};
