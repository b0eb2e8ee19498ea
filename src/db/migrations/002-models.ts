import type { Migration } from '../migrate.ts';

// Real models (docs/models.md): each agent group's model settings, and one row per model call the
// gateway forwarded, for budgets and `warren usage`. Never edit once released: add 003-… instead.
const sql = `
ALTER TABLE agent_groups ADD COLUMN model_config TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(model_config));

CREATE TABLE model_usage (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  agent_group_id     TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
  -- no foreign key: usage outlives the session rows that retention deletes
  session_id         TEXT NOT NULL,
  -- whose message the session was answering; NULL for tasks, agents and unknown senders
  user_id            TEXT REFERENCES users(id) ON DELETE SET NULL,
  provider           TEXT NOT NULL CHECK (provider IN ('claude', 'openai')),
  model              TEXT,
  path               TEXT NOT NULL,
  input_tokens       INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens      INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  cache_read_tokens  INTEGER NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0),
  cache_write_tokens INTEGER NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
  status_code        INTEGER NOT NULL,
  duration_ms        INTEGER NOT NULL CHECK (duration_ms >= 0),
  created_at         TEXT NOT NULL
);
CREATE INDEX model_usage_group_time ON model_usage(agent_group_id, created_at);
CREATE INDEX model_usage_user ON model_usage(user_id);
`;

const migration: Migration = { version: 2, name: 'models', sql };
export default migration;
