// Web chat sign-in (docs/access.md): one-time login links and the browsers they signed in. Only
// sha256 hashes are stored; the plain link secret and cookie exist once, in what these calls return.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './connection.ts';

/** A login link lives at most this long (the schema enforces it too). */
export const MAX_LOGIN_LINK_TTL_MS = 15 * 60_000;

export interface LoginLink {
  userId: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  consumedAt: string | null;
}

const LINK_COLUMNS = `user_id AS userId, created_by AS createdBy, created_at AS createdAt,
  expires_at AS expiresAt, consumed_at AS consumedAt`;

/**
 * Secrets of links that sign in to the admin dashboard start with this; the web chat refuses them and
 * the dashboard refuses the others. '.' is outside base64url, so no web chat secret starts with it.
 */
export const DASHBOARD_LINK_PREFIX = 'dash.';

/** A new single-use link secret for `userId`; returns the plain secret (shown once) and its expiry. */
export function createLoginLink(
  db: Db,
  userId: string,
  createdBy: string,
  now: string,
  ttlMs: number,
  purpose: 'webchat' | 'dashboard' = 'webchat',
): { secret: string; expiresAt: string } {
  if (!(Number.isInteger(ttlMs) && ttlMs >= 1000 && ttlMs <= MAX_LOGIN_LINK_TTL_MS)) {
    throw new RangeError(`a login link lives from 1 second to 15 minutes, not ${ttlMs} ms`);
  }
  const secret =
    (purpose === 'dashboard' ? DASHBOARD_LINK_PREFIX : '') + randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.parse(now) + ttlMs).toISOString();
  db.prepare(
    'INSERT INTO login_links (link_hash, user_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
  ).run(sha256(secret), userId, createdBy, now, expiresAt);
  return { secret, expiresAt };
}

/** The link behind a secret, used or not, without changing it (for the confirmation page). */
export function findLoginLink(db: Db, secret: string): LoginLink | undefined {
  return db.prepare(`SELECT ${LINK_COLUMNS} FROM login_links WHERE link_hash = ?`).get(sha256(secret)) as
    LoginLink | undefined;
}

/**
 * Uses the link up in one statement, so two browsers presenting it at once cannot both sign in.
 * Returns its user, or undefined when it is unknown, used or expired.
 */
export function consumeLoginLink(db: Db, secret: string, now: string): string | undefined {
  return db
    .prepare(
      `UPDATE login_links SET consumed_at = ?
       WHERE link_hash = ? AND consumed_at IS NULL AND expires_at > ? RETURNING user_id`,
    )
    .pluck()
    .get(now, sha256(secret), now) as string | undefined;
}

/** A new browser cookie signed in as `userId`; returns the plain cookie value. */
export function signInBrowser(db: Db, userId: string, now: string): string {
  const cookie = randomBytes(32).toString('base64url');
  db.prepare('INSERT INTO web_browsers (cookie_hash, user_id, signed_in_at) VALUES (?, ?, ?)').run(
    sha256(cookie),
    userId,
    now,
  );
  return cookie;
}

/** The user a browser cookie is signed in as, if any. */
export function browserUser(db: Db, cookie: string): string | undefined {
  return db.prepare('SELECT user_id FROM web_browsers WHERE cookie_hash = ?').pluck().get(sha256(cookie)) as
    string | undefined;
}

/** Signs one browser out; false when it was not signed in. */
export function signOutBrowser(db: Db, cookie: string): boolean {
  return db.prepare('DELETE FROM web_browsers WHERE cookie_hash = ?').run(sha256(cookie)).changes === 1;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
