// Secrets that grant access: admin API tokens and single-use binding codes. Only sha256 hashes are
// stored; the plain value exists once, in the return value of the create call.
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Db } from './connection.ts';
import { newId } from './ids.ts';

export interface ApiToken {
  id: string;
  userId: string;
  label: string;
  /** Last 4 characters of the token, so people can tell their tokens apart. */
  preview: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** When a short-lived token stops working by itself; null: it works until revoked. */
  expiresAt: string | null;
}

const API_TOKEN_COLUMNS = `id, user_id AS userId, label, preview, created_at AS createdAt, last_used_at AS lastUsedAt,
  revoked_at AS revokedAt, expires_at AS expiresAt`;

const label = z.string().trim().min(1).max(100);

/**
 * Returns the plain token: show it once, it cannot be recovered. A short-lived token (`expiresAt`, the
 * dashboard's sign-in) works until that moment.
 */
export function createApiToken(
  db: Db,
  userId: string,
  tokenLabel: string,
  now: string,
  options: { expiresAt?: string } = {},
): { token: string; apiToken: ApiToken } {
  const token = `wrn_${randomBytes(32).toString('base64url')}`;
  const apiToken = db
    .prepare(
      `INSERT INTO api_tokens (id, token_hash, preview, user_id, label, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${API_TOKEN_COLUMNS}`,
    )
    .get(
      newId('tok'),
      sha256(token),
      token.slice(-4),
      userId,
      label.parse(tokenLabel),
      now,
      options.expiresAt ?? null,
    ) as ApiToken;
  return { token, apiToken };
}

/**
 * The token's record when it is valid (exists, not revoked or expired, its user not suspended), noting
 * the use; undefined otherwise. Suspending a user locks out their tokens without revoking them one by one.
 */
export function verifyApiToken(db: Db, token: string, now: string): ApiToken | undefined {
  return db
    .prepare(
      `UPDATE api_tokens SET last_used_at = @now
       WHERE token_hash = @hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)
         AND user_id IN (SELECT id FROM users WHERE status <> 'suspended')
       RETURNING ${API_TOKEN_COLUMNS}`,
    )
    .get({ now, hash: sha256(token) }) as ApiToken | undefined;
}

/** Every token (never the token itself), oldest first. */
export function listApiTokens(db: Db): ApiToken[] {
  return db
    .prepare(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id`)
    .all() as ApiToken[];
}

/** False when the token is unknown or already revoked. */
export function revokeApiToken(db: Db, id: string, now: string): boolean {
  return (
    db
      .prepare('UPDATE api_tokens SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL')
      .run({ now, id }).changes === 1
  );
}

const MAX_BINDING_TTL_MS = 15 * 60_000;

// No 0/O or 1/I: people read these codes off one screen and type them into another app. 32 symbols,
// so a random byte maps onto them without bias (50 bits per code).
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/**
 * Creates a single-use code that links whoever presents it to `userId`. Shown as `XXXXX-XXXXX`;
 * dashes, spaces and case do not matter when it is consumed.
 */
export function createBindingCode(
  db: Db,
  userId: string,
  now: string,
  ttlMs = 10 * 60_000,
): { code: string; expiresAt: string } {
  if (!(ttlMs > 0 && ttlMs <= MAX_BINDING_TTL_MS)) {
    throw new RangeError(`binding code TTL must be between 1 ms and 15 minutes, got ${ttlMs} ms`);
  }
  const chars = Array.from(randomBytes(10), (b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join('');
  const code = `${chars.slice(0, 5)}-${chars.slice(5)}`;
  const expiresAt = new Date(Date.parse(now) + ttlMs).toISOString();
  db.prepare(
    'INSERT INTO binding_tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)',
  ).run(sha256(normalizeCode(code)), userId, now, expiresAt);
  return { code, expiresAt };
}

/**
 * Uses up the code in one statement, so two people presenting it at once cannot both succeed.
 * Returns the user it links to, or null when it is unknown, used or expired.
 */
export function consumeBindingCode(db: Db, code: string, consumedBy: string, now: string): string | null {
  const userId = db
    .prepare(
      `UPDATE binding_tokens SET consumed_at = ?, consumed_by = ?
       WHERE token_hash = ? AND consumed_at IS NULL AND expires_at > ? RETURNING user_id`,
    )
    .pluck()
    .get(now, consumedBy, sha256(normalizeCode(code)), now) as string | undefined;
  return userId ?? null;
}

const normalizeCode = (code: string): string => code.toUpperCase().replace(/[^A-Z0-9]/g, '');

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
