import type { Migration } from '../migrate.ts';

// Web chat sign-in (docs/access.md): one-time login links made by `warren login-link USER`, and the
// browsers they signed in. Only sha256 hashes of the link and of the browser cookie are stored; both
// go with their user (ON DELETE CASCADE), so deleting a person signs their browsers out.
const sql = `
CREATE TABLE login_links (
  link_hash   TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_by  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  consumed_at TEXT,
  -- A link lives at most 15 minutes, enforced by the schema too.
  CHECK (julianday(expires_at) > julianday(created_at)
    AND (julianday(expires_at) - julianday(created_at)) * 86400 <= 900.001)
);
CREATE INDEX login_links_user ON login_links(user_id);

CREATE TABLE web_browsers (
  cookie_hash  TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  signed_in_at TEXT NOT NULL
);
CREATE INDEX web_browsers_user ON web_browsers(user_id);
`;

const migration: Migration = { version: 6, name: 'web-sign-in', sql };
export default migration;
