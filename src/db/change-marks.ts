// A few cheap values per part of the central database that change whenever that part does (counts,
// newest ids and times). The admin API's event stream (src/host/api/events.ts) compares them once a
// second while someone watches, so a dashboard hears "sessions changed" without polling every list.
import type { Db } from './connection.ts';

export const CHANGE_TOPICS = [
  'sessions',
  'approvals',
  'deliveries',
  'wirings',
  'groups',
  'dropped',
  'usage',
] as const;
export type ChangeTopic = (typeof CHANGE_TOPICS)[number];

/** Each value is opaque: only whether it differs from the last reading means anything. */
export type ChangeMarks = Record<ChangeTopic, string>;

// Each query reads an index or a rowid end, never a whole table: the check runs every second while
// anyone watches. New rows move max(rowid); a decision, a close or a container state moves a count or
// a time that has an index.
const QUERIES: Record<ChangeTopic, string> = {
  // Sessions made or closed, containers starting and stopping, the host's running and queued counts.
  sessions: `SELECT json_array(
      (SELECT max(rowid) FROM sessions),
      (SELECT count(*) FROM sessions WHERE status = 'active'),
      (SELECT max(closed_at) FROM sessions WHERE status = 'closed'),
      (SELECT group_concat(id || container_status) FROM sessions WHERE container_status <> 'stopped'),
      (SELECT json_extract(document, '$.containers') FROM host_heartbeat))`,
  // A request adds a row; a decision or an expiry lowers the pending count.
  approvals: `SELECT json_array(
      (SELECT max(rowid) FROM approvals),
      (SELECT count(*) FROM approvals WHERE status = 'pending'))`,
  deliveries: `SELECT json_array(id, status, finished_at) FROM delivery_attempts ORDER BY id DESC LIMIT 1`,
  wirings: `SELECT json_array(
      (SELECT count(*) FROM wirings), (SELECT max(rowid) FROM wirings), (SELECT max(rowid) FROM messaging_groups))`,
  groups: `SELECT json_array(count(*), max(updated_at)) FROM agent_groups`,
  // A drop bumps its row's last_at (indexed); a held message adds a row.
  dropped: `SELECT json_array(
      (SELECT max(last_at) FROM dropped_messages), (SELECT max(id) FROM approval_held_messages))`,
  usage: `SELECT max(id) FROM model_usage`,
};

/** A reader of the marks; its statements are prepared once. */
export function changeMarksReader(db: Db): () => ChangeMarks {
  const statements = CHANGE_TOPICS.map((topic) => [topic, db.prepare(QUERIES[topic]).pluck()] as const);
  return () => {
    const marks = {} as ChangeMarks;
    for (const [topic, statement] of statements) marks[topic] = String(statement.get() ?? '');
    return marks;
  };
}
