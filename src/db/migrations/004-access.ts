import type { Migration } from '../migrate.ts';

// Access (src/host/access, docs/access.md): a merged user points at the user it was merged into, and
// dropped_messages gains the reasons of the access rules added after 001 (a rejected unknown sender,
// agent-to-agent messages refused or capped). SQLite cannot change a CHECK in place, so
// dropped_messages is rebuilt with its rows.
const sql = `
ALTER TABLE users ADD COLUMN merged_into TEXT REFERENCES users(id) ON DELETE SET NULL;

CREATE TABLE dropped_messages_v3 (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_type    TEXT NOT NULL,
  chat_id         TEXT NOT NULL,
  sender_id       TEXT NOT NULL DEFAULT '',
  reason          TEXT NOT NULL CHECK (reason IN ('no_wiring', 'not_engaged', 'unknown_sender',
                    'sender_not_known', 'user_suspended', 'chat_denied', 'invalid_message',
                    'sender_rejected', 'agent_not_allowed', 'agent_rate_capped', 'agent_loop_capped')),
  count           INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
  first_at        TEXT NOT NULL,
  last_at         TEXT NOT NULL,
  last_message_id TEXT,
  UNIQUE (channel_type, chat_id, sender_id, reason)
);
INSERT INTO dropped_messages_v3 (id, channel_type, chat_id, sender_id, reason, count, first_at, last_at, last_message_id)
  SELECT id, channel_type, chat_id, sender_id, reason, count, first_at, last_at, last_message_id FROM dropped_messages;
DROP TABLE dropped_messages;
ALTER TABLE dropped_messages_v3 RENAME TO dropped_messages;
CREATE INDEX dropped_messages_last ON dropped_messages(last_at);
CREATE INDEX dropped_messages_sender ON dropped_messages(channel_type, sender_id);
`;

const migration: Migration = { version: 4, name: 'access', sql };
export default migration;
