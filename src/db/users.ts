// Users, their platform identities, and the append-only identity_events trail. Every change to a
// user or identity writes its event in the same transaction, so the trail cannot miss a change.
import { z } from 'zod';
import type { Db } from './connection.ts';
import {
  USER_KINDS,
  USER_STATUSES,
  type IdentityEventKind,
  type UserKind,
  type UserStatus,
} from './enums.ts';
import { newId } from './ids.ts';

export interface User {
  id: string;
  displayName: string | null;
  kind: UserKind;
  status: UserStatus;
  metadata: Record<string, unknown>;
  /** Set when this user was merged into another one: the record stays only for the trail. */
  mergedInto: string | null;
  createdAt: string;
  updatedAt: string;
}

/** One platform account, `(kind, externalId)` e.g. `('telegram', '123')`, linked to exactly one user. */
export interface UserIdentity {
  kind: string;
  externalId: string;
  userId: string;
  displayName: string | null;
  createdAt: string;
}

export interface IdentityEvent {
  id: number;
  userId: string;
  event: IdentityEventKind;
  actor: string;
  before: unknown;
  after: unknown;
  createdAt: string;
}

export class IdentityTakenError extends Error {
  override name = 'IdentityTakenError';
  constructor(
    readonly kind: string,
    readonly externalId: string,
    readonly ownerId: string,
  ) {
    super(`identity ${kind}:${externalId} already belongs to user ${ownerId}; unlink or merge it first`);
  }
}

const newUser = z.object({
  displayName: z.string().trim().min(1).max(200).nullish(),
  kind: z.enum(USER_KINDS).default('person'),
  status: z.enum(USER_STATUSES).default('active'),
  metadata: z.record(z.string(), z.json()).default({}),
});

const newIdentity = z.object({
  userId: z.string().min(1),
  kind: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'an identity kind is a short lowercase name'),
  externalId: z.string().min(1).max(512),
  displayName: z.string().max(200).nullish(),
});

export type NewUser = z.input<typeof newUser>;
export type NewIdentity = z.input<typeof newIdentity>;

const USER_COLUMNS = `id, display_name AS displayName, kind, status, metadata, merged_into AS mergedInto,
  created_at AS createdAt, updated_at AS updatedAt`;
const IDENTITY_COLUMNS = `kind, external_id AS externalId, user_id AS userId, display_name AS displayName,
  created_at AS createdAt`;

type UserRow = Omit<User, 'metadata'> & { metadata: string };

export function createUser(db: Db, input: NewUser, now: string, actor = 'system'): User {
  const u = newUser.parse(input);
  return db.transaction(() => {
    const row = db
      .prepare(
        `INSERT INTO users (id, display_name, kind, status, metadata, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${USER_COLUMNS}`,
      )
      .get(
        newId('u'),
        u.displayName ?? null,
        u.kind,
        u.status,
        JSON.stringify(u.metadata),
        now,
        now,
      ) as UserRow;
    const user = toUser(row);
    recordIdentityEvent(db, user.id, 'created', actor, null, { kind: user.kind, status: user.status }, now);
    return user;
  })();
}

export function getUser(db: Db, id: string): User | undefined {
  const row = db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`).get(id) as UserRow | undefined;
  return row && toUser(row);
}

/** Returns false (and records nothing) when the user is unknown or already has that status. */
export function setUserStatus(
  db: Db,
  userId: string,
  status: UserStatus,
  actor: string,
  now: string,
): boolean {
  const next = z.enum(USER_STATUSES).parse(status);
  return db
    .transaction(() => {
      const user = getUser(db, userId);
      if (!user || user.status === next) return false;
      db.prepare('UPDATE users SET status = ?, updated_at = ? WHERE id = ?').run(next, now, userId);
      recordIdentityEvent(
        db,
        userId,
        'status_changed',
        actor,
        { status: user.status },
        { status: next },
        now,
      );
      return true;
    })
    .immediate();
}

/**
 * Links a platform account to a user. Linking it again to the same user is a no-op; an account
 * already linked to someone else throws IdentityTakenError (one account maps to one user).
 */
export function addIdentity(db: Db, input: NewIdentity, actor: string, now: string): UserIdentity {
  const i = newIdentity.parse(input);
  return db
    .transaction(() => {
      const existing = getIdentity(db, i.kind, i.externalId);
      if (existing && existing.userId !== i.userId)
        throw new IdentityTakenError(i.kind, i.externalId, existing.userId);
      if (existing) return existing;
      const identity = db
        .prepare(
          `INSERT INTO user_identities (kind, external_id, user_id, display_name, created_at)
           VALUES (?, ?, ?, ?, ?) RETURNING ${IDENTITY_COLUMNS}`,
        )
        .get(i.kind, i.externalId, i.userId, i.displayName ?? null, now) as UserIdentity;
      recordIdentityEvent(
        db,
        i.userId,
        'added',
        actor,
        null,
        { kind: i.kind, externalId: i.externalId },
        now,
      );
      return identity;
    })
    .immediate();
}

/** Every user, oldest first; merged users only with `includeMerged`. */
export function listUsers(db: Db, options: { includeMerged?: boolean } = {}): User[] {
  const rows = db
    .prepare(
      `SELECT ${USER_COLUMNS} FROM users WHERE @all = 1 OR merged_into IS NULL ORDER BY created_at, id`,
    )
    .all({ all: options.includeMerged ? 1 : 0 }) as UserRow[];
  return rows.map(toUser);
}

/**
 * Unlinks a platform account from its user (recorded as 'removed'). The account becomes unknown
 * again: its next message is a first contact. Returns false when the account is not linked.
 */
export function removeIdentity(
  db: Db,
  kind: string,
  externalId: string,
  actor: string,
  now: string,
): boolean {
  return db
    .transaction(() => {
      const existing = getIdentity(db, kind, externalId);
      if (!existing) return false;
      db.prepare('DELETE FROM user_identities WHERE kind = ? AND external_id = ?').run(kind, externalId);
      recordIdentityEvent(db, existing.userId, 'removed', actor, { kind, externalId }, null, now);
      return true;
    })
    .immediate();
}

export function findUserByIdentity(db: Db, kind: string, externalId: string): User | undefined {
  const row = db
    .prepare(
      `SELECT ${USER_COLUMNS} FROM users
       WHERE id = (SELECT user_id FROM user_identities WHERE kind = ? AND external_id = ?)`,
    )
    .get(kind, externalId) as UserRow | undefined;
  return row && toUser(row);
}

export function listIdentities(db: Db, userId: string): UserIdentity[] {
  return db
    .prepare(`SELECT ${IDENTITY_COLUMNS} FROM user_identities WHERE user_id = ? ORDER BY created_at, kind`)
    .all(userId) as UserIdentity[];
}

export function listIdentityEvents(db: Db, userId: string): IdentityEvent[] {
  const rows = db
    .prepare(
      `SELECT id, user_id AS userId, event, actor, before, after, created_at AS createdAt
       FROM identity_events WHERE user_id = ? ORDER BY id`,
    )
    .all(userId) as (IdentityEvent & { before: string | null; after: string | null })[];
  return rows.map((r) => ({ ...r, before: parseJson(r.before), after: parseJson(r.after) }));
}

/** Appends to the identity trail; callers run it inside the transaction of the change it describes. */
export function recordIdentityEvent(
  db: Db,
  userId: string,
  event: IdentityEventKind,
  actor: string,
  before: unknown,
  after: unknown,
  now: string,
): void {
  db.prepare(
    'INSERT INTO identity_events (user_id, event, actor, before, after, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(userId, event, actor, stringifyJson(before), stringifyJson(after), now);
}

export function getIdentity(db: Db, kind: string, externalId: string): UserIdentity | undefined {
  return db
    .prepare(`SELECT ${IDENTITY_COLUMNS} FROM user_identities WHERE kind = ? AND external_id = ?`)
    .get(kind, externalId) as UserIdentity | undefined;
}

const stringifyJson = (value: unknown): string | null => (value == null ? null : JSON.stringify(value));
const parseJson = (text: string | null): unknown => (text == null ? null : JSON.parse(text));

function toUser(row: UserRow): User {
  return { ...row, metadata: JSON.parse(row.metadata) as Record<string, unknown> };
}
