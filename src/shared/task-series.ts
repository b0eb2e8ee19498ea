// Pure: a session's task rows grouped into series (one per task id), and what each series is doing.
// Used by the host (sweep, actions, `warren tasks`) and by the runner (list_tasks).
import { type MessageInRow, type MessageInStatus } from './session-contract.ts';
import { parseContent, taskContent, type TaskContent } from './session-content.ts';

/** One run of a task: a messages_in row of kind 'task'. */
export interface TaskRun {
  id: string;
  seq: number;
  status: MessageInStatus;
  processAfter: string | null;
  recurrence: string | null;
  timezone: string | null;
  taskId: string;
  content: TaskContent;
}

export interface TaskSeries {
  taskId: string;
  /** Every run, oldest slot first (manual runs included). */
  runs: TaskRun[];
  /** The run with the latest scheduled slot (manual runs are not slots): it defines the series. */
  head: TaskRun;
}

export type TaskStatus = 'active' | 'paused' | 'finished' | 'cancelled';

export interface TaskSummary {
  taskId: string;
  prompt: string;
  /** Recurring: the cron expression; null for a one-shot task. */
  cron: string | null;
  /** One-shot: when it runs (or ran); null for a recurring task. */
  at: string | null;
  timezone: string | null;
  catchUp: TaskContent['catchUp'] | null;
  status: TaskStatus;
  /** When the next run is due (ISO UTC); null when paused, finished or cancelled. */
  nextRun: string | null;
  lastRun: { scheduledFor: string; status: 'completed' | 'failed' } | null;
  /** Failed runs in a row, most recent first, since the last success or resume. */
  failures: number;
}

/** Task rows as stored → runs; rows whose content is invalid are left out (the runner fails them). */
export function parseTaskRows(rows: readonly MessageInRow[]): TaskRun[] {
  return rows.flatMap((row) => {
    if (row.kind !== 'task' || !row.series_id) return [];
    const parsed = parseContent(taskContent, row.content);
    if (!parsed.ok) return [];
    return [
      {
        id: row.id,
        seq: row.seq,
        status: row.status,
        processAfter: row.process_after,
        recurrence: row.recurrence,
        timezone: row.timezone,
        taskId: row.series_id,
        content: parsed.value,
      },
    ];
  });
}

export function groupSeries(runs: readonly TaskRun[]): TaskSeries[] {
  const byTask = new Map<string, TaskRun[]>();
  for (const run of runs) {
    const list = byTask.get(run.taskId) ?? [];
    list.push(run);
    byTask.set(run.taskId, list);
  }
  const series: TaskSeries[] = [];
  for (const [taskId, list] of byTask) {
    list.sort((a, b) => compare(a.content.scheduledFor, b.content.scheduledFor) || a.seq - b.seq);
    const slots = list.filter((r) => !r.content.manual);
    const head = slots.at(-1);
    if (head) series.push({ taskId, runs: list, head });
  }
  return series.sort((a, b) => a.head.seq - b.head.seq);
}

export function seriesStatus(series: TaskSeries): TaskStatus {
  if (series.runs.some((r) => r.status === 'paused')) return 'paused';
  if (series.runs.some((r) => r.status === 'pending')) return 'active';
  if (series.head.status === 'cancelled') return 'cancelled';
  // A recurring head that already ran waits for the host to write the next slot.
  return series.head.recurrence ? 'active' : 'finished';
}

/** Failed runs in a row, from the most recent finished one back to a success (or the last resume). */
export function failureStreak(series: TaskSeries): number {
  const since = series.head.content.resumedAt;
  const finished = series.runs
    .filter((r) => r.status === 'completed' || r.status === 'failed')
    .filter((r) => since === undefined || r.content.scheduledFor >= since);
  let streak = 0;
  for (let i = finished.length - 1; i >= 0 && finished[i]!.status === 'failed'; i--) streak++;
  return streak;
}

export function summarize(series: TaskSeries): TaskSummary {
  const { head } = series;
  const status = seriesStatus(series);
  const pending = series.runs.filter((r) => r.status === 'pending');
  const nextRun =
    status === 'active' && pending.length > 0
      ? pending.map((r) => r.processAfter ?? r.content.scheduledFor).sort(compare)[0]!
      : null;
  const finished = series.runs.filter((r) => r.status === 'completed' || r.status === 'failed');
  const last = finished.at(-1);
  return {
    taskId: series.taskId,
    prompt: head.content.prompt,
    cron: head.recurrence,
    at: head.recurrence ? null : head.content.scheduledFor,
    timezone: head.timezone,
    catchUp: head.content.catchUp ?? null,
    status,
    nextRun,
    lastRun: last
      ? { scheduledFor: last.content.scheduledFor, status: last.status as 'completed' | 'failed' }
      : null,
    failures: failureStreak(series),
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
