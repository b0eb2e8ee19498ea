// The host's writes of task rows into inbound.db (it is that file's only writer). Everything that
// changes a series happens inside one BEGIN IMMEDIATE transaction opened by `inTaskTransaction`;
// what the transaction does is the scheduler's (scheduling/).
import { newId } from '../../db/ids.ts';
import {
  nextSeq,
  type MessageInRow,
  type MessageInStatus,
  type SessionDb,
} from '../../shared/session-contract.ts';
import { taskContent, type TaskContent } from '../../shared/session-content.ts';
import { ringBell } from '../../shared/commit-events.ts';
import { withSessionFile, type SessionPaths } from './files.ts';
import { groupSeries, parseTaskRows, type TaskRun, type TaskSeries } from '../../shared/task-series.ts';

/** One open inbound.db inside a write transaction, with the session's seq allocator. */
export interface TaskTx {
  db: SessionDb;
  now: string;
  /** A runner has taken this row up (any ack: running, or finished and not yet folded by the host). */
  started(id: string): boolean;
  /** Every series of the session, as read at the start of the transaction. */
  series(): TaskSeries[];
  find(taskId: string): TaskSeries | undefined;
  /** Writes a run; false when that slot of the series already has a row (nothing written). */
  insertRun(run: NewTaskRun): boolean;
  setStatus(runs: readonly TaskRun[], status: MessageInStatus): void;
  /** Every run of the series in status `from` (rows written in this transaction too) → `to`. */
  setSeriesStatus(taskId: string, from: MessageInStatus, to: MessageInStatus): number;
  /** Moves a run to another slot and/or schedule (its row keeps its id and seq). */
  moveRun(run: TaskRun, to: { slot: string; recurrence: string | null; timezone: string }): void;
  /** Rewrites the content of runs (prompt, catch-up policy, resume time). */
  patchContent(runs: readonly TaskRun[], patch: Partial<TaskContent>): void;
  insertSystem(content: { event: string } & Record<string, unknown>, trigger: boolean): void;
  recordDelivered(messageOutId: string, status: 'delivered' | 'failed'): void;
}

export interface NewTaskRun {
  taskId: string;
  slot: string;
  prompt: string;
  recurrence: string | null;
  timezone: string;
  status?: 'pending' | 'paused';
  extra?: Omit<TaskContent, 'prompt' | 'taskId' | 'scheduledFor'>;
}

/**
 * Runs `work` in one BEGIN IMMEDIATE transaction on the session's inbound.db: another host writer
 * (a second sweep, the CLI) waits for it, so two of them never both see a slot as missing.
 */
export function inTaskTransaction<T>(paths: SessionPaths, now: string, work: (tx: TaskTx) => T): T {
  // outbound.db is only read (the runner may be writing it); no lock is held between statements.
  const result = withSessionFile(paths, 'outbound', 'read', (outbound) => {
    const maxOut = outbound.prepare('SELECT coalesce(max(seq), 0) FROM messages_out').pluck().get() as number;
    const ack = outbound.prepare('SELECT 1 FROM processing_ack WHERE message_id = ?').pluck();
    const started = (id: string) => ack.get(id) !== undefined;
    return withSessionFile(paths, 'inbound', 'write', (db) =>
      db.transaction(() => work(openTx(db, now, maxOut, started))).immediate(),
    );
  });
  ringBell(paths.inDir); // a run may be due now
  return result;
}

/** Every series of a session, read-only (no transaction: for looking, not for deciding). */
export function readSeries(paths: SessionPaths): TaskSeries[] {
  return withSessionFile(paths, 'inbound', 'read', (db) => groupSeries(readRuns(db)));
}

function readRuns(db: SessionDb): TaskRun[] {
  return parseTaskRows(
    db.prepare("SELECT * FROM messages_in WHERE kind = 'task' ORDER BY seq").all() as MessageInRow[],
  );
}

function openTx(db: SessionDb, now: string, maxOut: number, started: (id: string) => boolean): TaskTx {
  const maxIn = db.prepare('SELECT coalesce(max(seq), 0) FROM messages_in').pluck().get() as number;
  let seq = Math.max(maxIn, maxOut);
  let cache: TaskSeries[] | undefined;
  const sql = prepareTaskStatements(db);
  const insertRow = (row: Record<string, unknown>): boolean => {
    const next = nextSeq(seq, 'even');
    if (sql.insert.run({ ...row, seq: next }).changes === 0) return false;
    seq = next;
    cache = undefined;
    return true;
  };

  const tx: TaskTx = {
    db,
    now,
    started,
    series: () => (cache ??= groupSeries(readRuns(db))),
    find: (taskId) => tx.series().find((s) => s.taskId === taskId),
    insertRun: (run) => insertRow(runRow(run, now)),
    setStatus(runs, status) {
      for (const run of runs) sql.setStatus.run(status, run.id);
      cache = undefined;
    },
    setSeriesStatus(taskId, from, to) {
      cache = undefined;
      return sql.setSeriesStatus.run(to, taskId, from).changes;
    },
    moveRun(run, to) {
      const content = { ...run.content, scheduledFor: to.slot };
      sql.move.run(to.slot, to.recurrence, to.timezone, JSON.stringify(content), run.id);
      cache = undefined;
    },
    patchContent(runs, patch) {
      for (const run of runs)
        sql.setContent.run(JSON.stringify(taskContent.parse({ ...run.content, ...patch })), run.id);
      cache = undefined;
    },
    insertSystem: (content, trigger) => void insertRow(systemRow(content, trigger, now)),
    recordDelivered: (messageOutId, status) => void sql.delivered.run(messageOutId, status, now),
  };
  return tx;
}

/** The statements of one task transaction, prepared once. */
function prepareTaskStatements(db: SessionDb) {
  return {
    insert: db.prepare(`INSERT INTO messages_in
      (id, seq, kind, timestamp, status, process_after, recurrence, timezone, series_id, trigger, content)
      VALUES (@id, @seq, @kind, @timestamp, @status, @process_after, @recurrence, @timezone, @series_id,
        @trigger, @content)
      ON CONFLICT DO NOTHING`),
    setStatus: db.prepare('UPDATE messages_in SET status = ? WHERE id = ?'),
    setContent: db.prepare('UPDATE messages_in SET content = ? WHERE id = ?'),
    move: db.prepare(
      'UPDATE messages_in SET process_after = ?, recurrence = ?, timezone = ?, content = ? WHERE id = ?',
    ),
    setSeriesStatus: db.prepare(
      "UPDATE messages_in SET status = ? WHERE kind = 'task' AND series_id = ? AND status = ?",
    ),
    delivered: db.prepare(
      `INSERT INTO delivered (message_out_id, platform_message_id, status, delivered_at) VALUES (?, NULL, ?, ?)
       ON CONFLICT (message_out_id) DO NOTHING`,
    ),
  };
}

/** The messages_in row of one run of a series (its seq is given when it is inserted). */
function runRow(run: NewTaskRun, now: string): Record<string, unknown> {
  const content: TaskContent = taskContent.parse({
    ...run.extra,
    prompt: run.prompt,
    taskId: run.taskId,
    scheduledFor: run.slot,
  });
  return {
    id: newId('run'),
    kind: 'task',
    timestamp: now,
    status: run.status ?? 'pending',
    process_after: run.slot,
    recurrence: run.recurrence,
    timezone: run.timezone,
    series_id: run.taskId,
    trigger: 1,
    content: JSON.stringify(content),
  };
}

function systemRow(
  content: { event: string } & Record<string, unknown>,
  trigger: boolean,
  now: string,
): Record<string, unknown> {
  return {
    id: newId('msg'),
    kind: 'system',
    timestamp: now,
    status: 'pending',
    process_after: null,
    recurrence: null,
    timezone: null,
    series_id: null,
    trigger: trigger ? 1 : 0,
    content: JSON.stringify(content),
  };
}
