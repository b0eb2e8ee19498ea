import type { Migration } from '../migrate.ts';

// The whole model of DESIGN §2. Timestamps are ISO-8601 UTC text (they sort as time).
// Never edit this file once released: add 002-… instead (the runner refuses a changed checksum).
const sql = `
CREATE TABLE agent_groups (
  id               TEXT PRIMARY KEY,
  name             TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  folder           TEXT NOT NULL UNIQUE CHECK (folder GLOB '[a-z0-9]*' AND folder NOT GLOB '*[^a-z0-9_-]*'),
  provider         TEXT NOT NULL DEFAULT 'scripted' CHECK (provider IN ('claude', 'openai', 'scripted')),
  model            TEXT,
  timezone         TEXT,
  container_config TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(container_config)),
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);

CREATE TABLE messaging_groups (
  id                    TEXT PRIMARY KEY,
  channel_type          TEXT NOT NULL,
  platform_id           TEXT NOT NULL,
  name                  TEXT,
  is_group              INTEGER NOT NULL DEFAULT 0 CHECK (is_group IN (0, 1)),
  unknown_sender_policy TEXT NOT NULL DEFAULT 'strict'
                        CHECK (unknown_sender_policy IN ('strict', 'request_approval', 'public')),
  denied_at             TEXT,
  created_at            TEXT NOT NULL,
  UNIQUE (channel_type, platform_id)
);

CREATE TABLE wirings (
  id                     TEXT PRIMARY KEY,
  messaging_group_id     TEXT NOT NULL REFERENCES messaging_groups(id) ON DELETE CASCADE,
  agent_group_id         TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
  engage_mode            TEXT NOT NULL DEFAULT 'mention'
                         CHECK (engage_mode IN ('pattern', 'mention', 'mention-sticky')),
  engage_pattern         TEXT,
  sender_scope           TEXT NOT NULL DEFAULT 'all' CHECK (sender_scope IN ('all', 'known')),
  ignored_message_policy TEXT NOT NULL DEFAULT 'drop' CHECK (ignored_message_policy IN ('drop', 'accumulate')),
  session_mode           TEXT NOT NULL DEFAULT 'shared'
                         CHECK (session_mode IN ('shared', 'per-thread', 'agent-shared')),
  priority               INTEGER NOT NULL DEFAULT 0,
  created_at             TEXT NOT NULL,
  UNIQUE (messaging_group_id, agent_group_id),
  CHECK (engage_mode <> 'pattern' OR engage_pattern IS NOT NULL)
);
CREATE INDEX wirings_agent_group ON wirings(agent_group_id);

CREATE TABLE users (
  id           TEXT PRIMARY KEY,
  display_name TEXT,
  kind         TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'bot')),
  status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('invited', 'active', 'suspended')),
  metadata     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);

CREATE TABLE user_identities (
  kind         TEXT NOT NULL CHECK (length(kind) > 0),
  external_id  TEXT NOT NULL CHECK (length(external_id) > 0),
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  display_name TEXT,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (kind, external_id)
);
CREATE INDEX user_identities_user ON user_identities(user_id);

-- Append-only: rows are written, never changed (a user's data can still be deleted on request).
CREATE TABLE identity_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id     TEXT NOT NULL,
  event       TEXT NOT NULL
              CHECK (event IN ('created', 'added', 'removed', 'merged', 'status_changed', 'role_changed')),
  actor       TEXT NOT NULL,
  before      TEXT CHECK (before IS NULL OR json_valid(before)),
  after       TEXT CHECK (after IS NULL OR json_valid(after)),
  created_at  TEXT NOT NULL
);
CREATE INDEX identity_events_user ON identity_events(user_id);
CREATE TRIGGER identity_events_append_only BEFORE UPDATE ON identity_events
BEGIN SELECT RAISE(ABORT, 'identity_events is append-only'); END;

CREATE TABLE user_roles (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role           TEXT NOT NULL CHECK (role IN ('owner', 'admin')),
  agent_group_id TEXT REFERENCES agent_groups(id) ON DELETE CASCADE,
  granted_by     TEXT,
  created_at     TEXT NOT NULL,
  CHECK (role <> 'owner' OR agent_group_id IS NULL)
);
-- NULL scope means global; UNIQUE alone would let two global admin rows in (NULLs are distinct).
CREATE UNIQUE INDEX user_roles_unique ON user_roles(user_id, role, ifnull(agent_group_id, ''));

CREATE TABLE agent_group_members (
  user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  agent_group_id TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
  added_by       TEXT,
  created_at     TEXT NOT NULL,
  PRIMARY KEY (user_id, agent_group_id)
);
CREATE INDEX agent_group_members_group ON agent_group_members(agent_group_id);

CREATE TABLE user_dms (
  user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  channel_type       TEXT NOT NULL,
  messaging_group_id TEXT NOT NULL REFERENCES messaging_groups(id) ON DELETE CASCADE,
  updated_at         TEXT NOT NULL,
  PRIMARY KEY (user_id, channel_type)
);

CREATE TABLE sessions (
  id                 TEXT PRIMARY KEY,
  agent_group_id     TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
  messaging_group_id TEXT REFERENCES messaging_groups(id) ON DELETE CASCADE,
  thread_id          TEXT,
  status             TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
  container_status   TEXT NOT NULL DEFAULT 'stopped'
                     CHECK (container_status IN ('stopped', 'starting', 'running', 'stopping')),
  last_active        TEXT,
  -- earliest time the sweep must wake this session (a delayed row, a retry); NULL = nothing scheduled
  next_wake_at       TEXT,
  created_at         TEXT NOT NULL,
  closed_at          TEXT,
  CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
-- One active session per (agent group, chat, thread); NULL chat = agent-shared, NULL thread = shared.
CREATE UNIQUE INDEX sessions_active_key
  ON sessions(agent_group_id, ifnull(messaging_group_id, ''), ifnull(thread_id, '')) WHERE status = 'active';
CREATE INDEX sessions_container ON sessions(container_status) WHERE container_status <> 'stopped';
CREATE INDEX sessions_messaging_group ON sessions(messaging_group_id);
CREATE INDEX sessions_next_wake ON sessions(next_wake_at) WHERE next_wake_at IS NOT NULL;
CREATE INDEX sessions_closed ON sessions(closed_at) WHERE status = 'closed';

CREATE TABLE agent_destinations (
  agent_group_id        TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
  name                  TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  target_kind           TEXT NOT NULL CHECK (target_kind IN ('channel', 'agent')),
  messaging_group_id    TEXT REFERENCES messaging_groups(id) ON DELETE CASCADE,
  target_agent_group_id TEXT REFERENCES agent_groups(id) ON DELETE CASCADE,
  created_at            TEXT NOT NULL,
  PRIMARY KEY (agent_group_id, name),
  CHECK ((target_kind = 'channel' AND messaging_group_id IS NOT NULL AND target_agent_group_id IS NULL)
      OR (target_kind = 'agent' AND target_agent_group_id IS NOT NULL AND messaging_group_id IS NULL))
);

CREATE TABLE approvals (
  id              TEXT PRIMARY KEY,
  kind            TEXT NOT NULL CHECK (kind IN ('new_sender', 'new_channel', 'install_packages',
                    'add_mcp_server', 'create_agent', 'agent_action', 'cli_command')),
  agent_group_id  TEXT REFERENCES agent_groups(id) ON DELETE CASCADE,
  session_id      TEXT REFERENCES sessions(id) ON DELETE SET NULL,
  requested_by    TEXT NOT NULL,
  payload         TEXT NOT NULL CHECK (json_valid(payload)),
  payload_hash    TEXT NOT NULL,
  rendered_effect TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected',
                    'expired_approved', 'expired_rejected', 'cancelled')),
  expires_at      TEXT NOT NULL,
  expiry_action   TEXT NOT NULL DEFAULT 'reject' CHECK (expiry_action IN ('reject', 'approve')),
  decided_by      TEXT,
  decided_at      TEXT,
  note            TEXT,
  created_at      TEXT NOT NULL,
  CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE INDEX approvals_pending ON approvals(expires_at) WHERE status = 'pending';

CREATE TABLE questions (
  id              TEXT PRIMARY KEY,
  session_id      TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  message_out_seq INTEGER,
  question        TEXT NOT NULL,
  options         TEXT NOT NULL CHECK (json_valid(options) AND json_type(options) = 'array'),
  allowed_users   TEXT CHECK (allowed_users IS NULL OR json_valid(allowed_users)),
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'answered', 'expired', 'cancelled')),
  answer          TEXT,
  answered_by     TEXT,
  answered_at     TEXT,
  expires_at      TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  CHECK ((status = 'answered') = (answered_at IS NOT NULL))
);
CREATE INDEX questions_pending ON questions(expires_at) WHERE status = 'pending';

CREATE TABLE dropped_messages (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_type    TEXT NOT NULL,
  chat_id         TEXT NOT NULL,
  sender_id       TEXT NOT NULL DEFAULT '',
  reason          TEXT NOT NULL CHECK (reason IN ('no_wiring', 'not_engaged', 'unknown_sender',
                    'sender_not_known', 'user_suspended', 'chat_denied', 'invalid_message')),
  count           INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
  first_at        TEXT NOT NULL,
  last_at         TEXT NOT NULL,
  last_message_id TEXT,
  UNIQUE (channel_type, chat_id, sender_id, reason)
);

CREATE TABLE inbound_dedup (
  channel_type        TEXT NOT NULL,
  installation        TEXT NOT NULL DEFAULT '',
  platform_message_id TEXT NOT NULL,
  claim_token         TEXT NOT NULL,
  claimed_at          TEXT NOT NULL,
  processed_at        TEXT,
  PRIMARY KEY (channel_type, installation, platform_message_id)
);
CREATE INDEX inbound_dedup_unprocessed ON inbound_dedup(claimed_at) WHERE processed_at IS NULL;

CREATE TABLE delivery_attempts (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id          TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
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
  UNIQUE (session_id, message_out_id, attempt)
);
CREATE INDEX delivery_attempts_status ON delivery_attempts(status, started_at);
CREATE INDEX delivery_attempts_message ON delivery_attempts(message_out_id);

CREATE TABLE audit_events (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  actor        TEXT NOT NULL,
  action       TEXT NOT NULL,
  target_kind  TEXT,
  target_id    TEXT,
  payload_hash TEXT,
  detail       TEXT CHECK (detail IS NULL OR json_valid(detail)),
  created_at   TEXT NOT NULL
);
CREATE INDEX audit_events_target ON audit_events(target_kind, target_id);
CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

CREATE TABLE api_tokens (
  id           TEXT PRIMARY KEY,
  token_hash   TEXT NOT NULL UNIQUE,
  preview      TEXT NOT NULL CHECK (length(preview) = 4),
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  label        TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at   TEXT
);

CREATE TABLE binding_tokens (
  token_hash  TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  consumed_at TEXT,
  consumed_by TEXT,
  -- TTL at most 15 minutes, enforced by the schema too.
  CHECK (julianday(expires_at) > julianday(created_at)
         AND (julianday(expires_at) - julianday(created_at)) * 86400.0 <= 900.001)
);

CREATE TABLE channel_installations (
  id           TEXT PRIMARY KEY,
  channel_type TEXT NOT NULL,
  name         TEXT NOT NULL,
  config       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
  status       TEXT NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled', 'error')),
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  UNIQUE (channel_type, name)
);
`;

const migration: Migration = { version: 1, name: 'initial', sql };
export default migration;
