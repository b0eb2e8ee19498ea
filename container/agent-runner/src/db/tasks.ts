// The runner's reads of scheduled tasks: the host's task rows (inbound.db, read-only) and the task
// actions this agent wrote that the host has not applied yet (outbound.db).
import { type MessageInRow } from '../../../../src/shared/session-contract.ts';
import {
  outboundOperation,
  parseContent,
  isTaskAction,
  type TaskAction,
} from '../../../../src/shared/session-content.ts';
import { groupSeries, parseTaskRows, type TaskSeries } from '../../../../src/shared/task-series.ts';
import type { RunnerSession } from './session.ts';

export function readTaskSeries(session: RunnerSession): TaskSeries[] {
  const rows = session.inbound
    .prepare("SELECT * FROM messages_in WHERE kind = 'task' ORDER BY seq")
    .all() as MessageInRow[];
  return groupSeries(parseTaskRows(rows));
}

export interface PendingTaskAction {
  seq: number;
  action: TaskAction;
  payload: Record<string, unknown>;
}

/** Task actions written to outbound.db that have no `delivered` record yet, oldest first. */
export function readPendingTaskActions(session: RunnerSession): PendingTaskAction[] {
  const rows = session.outbound
    .prepare(`SELECT id, seq, content FROM messages_out WHERE content LIKE '%"op":"action"%' ORDER BY seq`)
    .all() as { id: string; seq: number; content: string }[];
  if (rows.length === 0) return [];
  const done = session.inbound.prepare('SELECT 1 FROM delivered WHERE message_out_id = ?').pluck();
  return rows.flatMap((row) => {
    if (done.get(row.id)) return [];
    const op = parseContent(outboundOperation, row.content);
    if (!op.ok || op.value.op !== 'action' || !isTaskAction(op.value.action)) return [];
    return [{ seq: row.seq, action: op.value.action, payload: op.value.payload }];
  });
}
