// Platform accounts and the people behind them: who sent a message (created on first contact),
// linking an account to a user and unlinking it. Merging two users is merge.ts.
import type { Db } from '../../db/connection.ts';
import type { MessagingGroup } from '../../db/messaging-groups.ts';
import { getUserDm, setUserDm } from '../../db/user-dms.ts';
import {
  addIdentity,
  createUser,
  getIdentity,
  getUser,
  IdentityTakenError,
  listIdentities,
  recordIdentityEvent,
  setUserStatus,
  type User,
} from '../../db/users.ts';

/** One platform account as a channel reports it: `(kind, externalId)`, e.g. ('telegram', '123'). */
export interface Account {
  kind: string;
  externalId: string;
  name?: string;
  isBot?: boolean;
}

/**
 * The user behind an account. An unknown account is a first contact: a user (active, no role) is
 * created with it, in one transaction with the lookup so two messages at once make one user. An
 * invited user becomes active with the first message from one of their accounts.
 */
export function userForAccount(db: Db, account: Account, now: string, actor = 'router'): User {
  // Every message asks: the common case (a known, active account) takes no write lock.
  const known = userOf(db, account);
  if (known && known.status !== 'invited') return known;
  return db
    .transaction(() => {
      const existing = userOf(db, account);
      if (existing) {
        if (existing.status !== 'invited') return existing;
        setUserStatus(db, existing.id, 'active', actor, now);
        return getUser(db, existing.id)!;
      }
      const user = createUser(
        db,
        // A blank name is no name: a channel's idea of a name must not fail the message.
        { displayName: account.name?.trim().slice(0, 200) || null, kind: account.isBot ? 'bot' : 'person' },
        now,
        actor,
      );
      addIdentity(
        db,
        { userId: user.id, kind: account.kind, externalId: account.externalId, displayName: account.name },
        actor,
        now,
      );
      return user;
    })
    .immediate();
}

/** The user behind an account, without creating anything. */
export function userOf(db: Db, account: Pick<Account, 'kind' | 'externalId'>): User | undefined {
  const identity = getIdentity(db, account.kind, account.externalId);
  return identity && getUser(db, identity.userId);
}

/**
 * A one-to-one chat with the bot is where approval cards and codes for that user go on this
 * channel (user_dms). Written only when it changes: this runs for every message.
 */
export function rememberDirectChat(db: Db, userId: string, chat: MessagingGroup, now: string): void {
  if (chat.isGroup) return;
  if (getUserDm(db, userId, chat.channelType)?.messagingGroupId === chat.id) return;
  setUserDm(db, userId, chat.id, now);
}

export type LinkOutcome =
  | { status: 'linked' }
  | { status: 'already_linked' }
  /** The account belonged to `fromUserId` (see hasNoAccounts: that user may now be empty). */
  | { status: 'moved'; fromUserId: string };

export class UnknownUserError extends Error {
  override name = 'UnknownUserError';
  constructor(readonly userId: string) {
    super(`user ${userId} does not exist (warren users list shows who does)`);
  }
}

export class MergedUserError extends Error {
  override name = 'MergedUserError';
  constructor(
    readonly userId: string,
    readonly mergedInto: string,
  ) {
    super(`user ${userId} was merged into ${mergedInto}; use ${mergedInto}`);
  }
}

/**
 * Links an account to a user. An account of another user is moved only with `move` (a binding code
 * proves the same person holds both); otherwise IdentityTakenError. Recorded in identity_events:
 * 'removed' on the old owner, 'added' on the new one.
 */
export function linkAccount(
  db: Db,
  userId: string,
  account: Pick<Account, 'kind' | 'externalId' | 'name'>,
  options: { actor: string; now: string; move?: boolean },
): LinkOutcome {
  const { actor, now } = options;
  return db
    .transaction((): LinkOutcome => {
      assertLinkable(db, userId);
      const current = getIdentity(db, account.kind, account.externalId);
      if (current?.userId === userId) return { status: 'already_linked' };
      if (current && !options.move)
        throw new IdentityTakenError(account.kind, account.externalId, current.userId);
      if (current) {
        db.prepare('UPDATE user_identities SET user_id = ? WHERE kind = ? AND external_id = ?').run(
          userId,
          account.kind,
          account.externalId,
        );
        const moved = { kind: account.kind, externalId: account.externalId };
        recordIdentityEvent(db, current.userId, 'removed', actor, moved, { movedTo: userId }, now);
        recordIdentityEvent(db, userId, 'added', actor, { movedFrom: current.userId }, moved, now);
        return { status: 'moved', fromUserId: current.userId };
      }
      addIdentity(
        db,
        { userId, kind: account.kind, externalId: account.externalId, displayName: account.name },
        actor,
        now,
      );
      return { status: 'linked' };
    })
    .immediate();
}

/** True when the user has no platform account left (after a move, a candidate for merging). */
export function hasNoAccounts(db: Db, userId: string): boolean {
  return listIdentities(db, userId).length === 0;
}

function assertLinkable(db: Db, userId: string): void {
  const user = getUser(db, userId);
  if (!user) throw new UnknownUserError(userId);
  if (user.mergedInto) throw new MergedUserError(userId, user.mergedInto);
}
