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

// Each query reads indexes or a handful of aggregates; all of them together take well under a millisecond
// on an install with thousands of sessions.
const QUERIES: Record<ChangeTopic, string> = {
  // Containers starting and stopping, and the host's count of running and queued containers.
  sessions: `SELECT json_array(
      (SELECT count(*) FROM sessions WHERE status = 'active'),
      (SELECT max(created_at) FROM sessions),
      (SELECT max(closed_at) FROM sessions WHERE status = 'closed'),
      (SELECT group_concat(id || container_status) FROM sessions WHERE container_status <> 'stopped'),
      (SELECT json_extract(document, '$.containers') FROM host_heartbeat))`,
  approvals: `SELECT json_array(count(*), max(created_at), max(decided_at)) FROM approvals`,
  deliveries: `SELECT json_array(id, status, finished_at) FROM delivery_attempts ORDER BY id DESC LIMIT 1`,
  wirings: `SELECT json_array(
      (SELECT count(*) FROM wirings), (SELECT max(created_at) FROM wirings),
      (SELECT group_concat(unknown_sender_policy || ifnull(denied_at, '')) FROM messaging_groups))`,
  groups: `SELECT json_array(count(*), max(updated_at)) FROM agent_groups`,
  dropped: `SELECT json_array(
      (SELECT sum(count) FROM dropped_messages), (SELECT max(last_at) FROM dropped_messages),
      (SELECT count(*) FROM approval_held_messages))`,
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
