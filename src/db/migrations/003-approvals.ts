import type { Migration } from '../migrate.ts';

// What the approvals engine (src/host/approvals) needs beyond 001: one pending request per dedupe key,
// the decision's details (edited payload, choice), follow-up work the host still owes after a
// decision (so the CLI and a crash leave nothing half done), the cards shown to people (so a reply
// "1" or a click can be matched to what that person saw), and inbound messages held until a decision.
const sql = `
ALTER TABLE approvals ADD COLUMN dedupe_key TEXT;
-- {via, choice?, edited?: {before_hash, after_hash}}: how it was decided.
ALTER TABLE approvals ADD COLUMN decision TEXT CHECK (decision IS NULL OR json_valid(decision));
-- What was applied: the payload, or the reviewer's edit of it (agent_action).
ALTER TABLE approvals ADD COLUMN applied_payload TEXT CHECK (applied_payload IS NULL OR json_valid(applied_payload));
-- Set once the host has done what follows a decision (replay held messages, build an image, update
-- cards, tell the requester). NULL on a decided row = still owed; the sweep finishes it.
ALTER TABLE approvals ADD COLUMN followups_done_at TEXT;
UPDATE approvals SET followups_done_at = decided_at WHERE status <> 'pending';

CREATE UNIQUE INDEX approvals_dedupe_pending ON approvals(dedupe_key)
  WHERE status = 'pending' AND dedupe_key IS NOT NULL;
CREATE INDEX approvals_dedupe ON approvals(dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX approvals_followups ON approvals(decided_at)
  WHERE status <> 'pending' AND followups_done_at IS NULL;
CREATE INDEX approvals_created ON approvals(created_at, id);
CREATE INDEX approvals_status_created ON approvals(status, created_at, id);

-- One card (or numbered text) sent to one chat about one approval or question.
CREATE TABLE approval_cards (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  approval_id         TEXT REFERENCES approvals(id) ON DELETE CASCADE,
  question_id         TEXT REFERENCES questions(id) ON DELETE CASCADE,
  user_id             TEXT,
  channel_type        TEXT NOT NULL,
  chat_id             TEXT NOT NULL,
  thread_id           TEXT,
  platform_message_id TEXT,
  payload_hash        TEXT,
  numbered            INTEGER NOT NULL DEFAULT 0 CHECK (numbered IN (0, 1)),
  options             TEXT NOT NULL CHECK (json_valid(options) AND json_type(options) = 'array'),
  sent_at             TEXT NOT NULL,
  closed_at           TEXT,
  CHECK ((approval_id IS NULL) <> (question_id IS NULL))
);
CREATE INDEX approval_cards_open ON approval_cards(channel_type, chat_id, id) WHERE closed_at IS NULL;
CREATE INDEX approval_cards_approval ON approval_cards(approval_id) WHERE approval_id IS NOT NULL;
CREATE INDEX approval_cards_question ON approval_cards(question_id) WHERE question_id IS NOT NULL;

-- Inbound messages waiting for an approval (new_sender, new_channel): replayed or dropped once decided.
CREATE TABLE approval_held_messages (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  approval_id         TEXT NOT NULL REFERENCES approvals(id) ON DELETE CASCADE,
  platform_message_id TEXT NOT NULL,
  message             TEXT NOT NULL CHECK (json_valid(message)),
  held_at             TEXT NOT NULL,
  released_at         TEXT,
  UNIQUE (approval_id, platform_message_id)
);
`;

const migration: Migration = { version: 3, name: 'approvals', sql };
export default migration;
