import type { Migration } from '../migrate.ts';

// Chat platforms that need to remember something across restarts (an IMAP cursor, where a Teams
// conversation is served from) keep it here, per channel; and each delivery attempt names the
// conversation it went to, so a failed delivery can be traced to its chat and thread.
const sql = `
CREATE TABLE channel_state (
  channel_type TEXT NOT NULL,
  key          TEXT NOT NULL CHECK (length(key) <= 512),
  value        TEXT NOT NULL CHECK (length(value) <= 65536),
  updated_at   TEXT NOT NULL,
  PRIMARY KEY (channel_type, key)
) WITHOUT ROWID;
ALTER TABLE delivery_attempts ADD COLUMN chat_id TEXT;
ALTER TABLE delivery_attempts ADD COLUMN thread_id TEXT;
`;

const migration: Migration = { version: 9, name: 'channel-state', sql };
export default migration;
