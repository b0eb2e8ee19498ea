import type { Migration } from '../migrate.ts';

// The running host's heartbeat (src/host/heartbeat.ts): written by each sweep at most every few seconds,
// read by `warren status` without a running host's help, so it can tell a stopped or stalled host and
// show each channel's health and the pool as the host last saw them.
const sql = `
CREATE TABLE host_heartbeat (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  pid         INTEGER NOT NULL,
  started_at  TEXT NOT NULL,
  beat_at     TEXT NOT NULL,
  document    TEXT NOT NULL CHECK (json_valid(document))
);
`;

const migration: Migration = { version: 10, name: 'host-heartbeat', sql };
export default migration;
