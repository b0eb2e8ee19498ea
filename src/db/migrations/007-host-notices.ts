import type { Migration } from '../migrate.ts';

// Host notices (src/host/delivery/notice.ts): what the host says to a chat itself is recorded in
// delivery_attempts like any delivery. A notice outside any session (an answer to `/link`) has no
// session: session_id becomes nullable, for 'notice:' rows only. SQLite cannot relax NOT NULL in
// place, so the table is rebuilt with its rows, ids and indexes.
const sql = `
CREATE TABLE delivery_attempts_new (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id          TEXT REFERENCES sessions(id) ON DELETE CASCADE,
  message_out_id      TEXT NOT NULL,
  attempt             INTEGER NOT NULL CHECK (attempt >= 1),
  idempotency_key     TEXT NOT NULL,
  channel_type        TEXT NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('sending', 'delivered', 'failed', 'skipped')),
  error_code          TEXT CHECK (error_code IS NULL OR error_code IN ('rate_limited', 'auth_failed', 'forbidden',
                        'not_found', 'too_large', 'invalid_request', 'unsupported', 'transient',
                        'destination_denied', 'unknown')),
  error               TEXT CHECK (error IS NULL OR length(error) <= 1024),
  platform_message_id TEXT,
  started_at          TEXT NOT NULL,
  finished_at         TEXT,
  UNIQUE (session_id, message_out_id, attempt),
  CHECK (session_id IS NOT NULL OR message_out_id LIKE 'notice:%')
);
INSERT INTO delivery_attempts_new (id, session_id, message_out_id, attempt, idempotency_key, channel_type, status,
    error_code, error, platform_message_id, started_at, finished_at)
  SELECT id, session_id, message_out_id, attempt, idempotency_key, channel_type, status,
    error_code, error, platform_message_id, started_at, finished_at
  FROM delivery_attempts;
DROP TABLE delivery_attempts;
ALTER TABLE delivery_attempts_new RENAME TO delivery_attempts;
CREATE INDEX delivery_attempts_status ON delivery_attempts(status, started_at);
CREATE INDEX delivery_attempts_message ON delivery_attempts(message_out_id);
-- UNIQUE above does not hold for NULL sessions: one attempt number per notice outside a session.
CREATE UNIQUE INDEX delivery_attempts_host_notice ON delivery_attempts(message_out_id, attempt)
  WHERE session_id IS NULL;
`;

const migration: Migration = { version: 7, name: 'host-notices', sql };
export default migration;
