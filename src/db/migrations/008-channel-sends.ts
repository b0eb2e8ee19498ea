import type { Migration } from '../migrate.ts';

// Chat platforms (src/host/channels, docs/channels.md): the pieces of each delivery already posted (so a retried send never posts a piece twice), and the short tokens that
// stand for card options on platforms whose buttons carry only a few bytes.
const sql = `
CREATE TABLE channel_sent_parts (
  idempotency_key     TEXT NOT NULL,
  part                INTEGER NOT NULL CHECK (part >= 0),
  platform_message_id TEXT NOT NULL,
  sent_at             TEXT NOT NULL,
  PRIMARY KEY (idempotency_key, part)
) WITHOUT ROWID;
CREATE INDEX channel_sent_parts_age ON channel_sent_parts(sent_at);
CREATE TABLE channel_buttons (
  token       TEXT PRIMARY KEY,
  value       TEXT NOT NULL CHECK (length(value) <= 4096),
  created_at  TEXT NOT NULL
) WITHOUT ROWID;
`;

const migration: Migration = { version: 8, name: 'channel-sends', sql };
export default migration;
