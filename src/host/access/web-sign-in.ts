// Web chat sign-in (DESIGN §10, docs/access.md): `warren login-link USER` makes a one-time link; the
// browser that opens it and confirms is signed in as USER with a fresh cookie of its own. Links are
// single use, live at most 15 minutes, are stored as hashes and consumed in one statement; every
// link made, used or refused is audited. This is the web chat's WebchatAuth.
import { appendAuditEvent } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import { verifyApiToken } from '../../db/tokens.ts';
import { getUser, setUserStatus, type User } from '../../db/users.ts';
import {
  browserUser,
  consumeLoginLink,
  createLoginLink,
  DASHBOARD_LINK_PREFIX,
  findLoginLink,
  signInBrowser,
  signOutBrowser,
} from '../../db/web-sign-in.ts';
import type { WebchatAuth } from '../channels/index.ts';

export const DEFAULT_LOGIN_LINK_TTL_MS = 10 * 60_000;

/**
 * Makes a login link for `user`; `baseUrl` is the host's (e.g. http://127.0.0.1:7420). Audited. A
 * `dashboard` link signs in to /admin/ instead of the web chat (dashboard-sign-in.ts).
 */
export function makeLoginLink(
  db: Db,
  input: {
    user: User;
    actor: string;
    now: Date;
    ttlMs?: number;
    baseUrl: string;
    purpose?: 'webchat' | 'dashboard';
  },
): { url: string; expiresAt: string } {
  const { actor } = input;
  const purpose = input.purpose ?? 'webchat';
  // Read again: the caller's copy may predate a suspension or a merge.
  const user = getUser(db, input.user.id);
  if (!user) throw new Error(`user ${input.user.id} does not exist`);
  if (user.mergedInto)
    throw new Error(`user ${user.id} was merged into ${user.mergedInto}; use ${user.mergedInto}`);
  if (user.status === 'suspended') throw new Error(`user ${user.id} is suspended; activate them first`);
  const now = input.now.toISOString();
  return db
    .transaction(() => {
      const { secret, expiresAt } = createLoginLink(
        db,
        user.id,
        actor,
        now,
        input.ttlMs ?? DEFAULT_LOGIN_LINK_TTL_MS,
        purpose,
      );
      appendAuditEvent(
        db,
        {
          actor,
          action: 'login_link.created',
          targetKind: 'user',
          targetId: user.id,
          detail: { expiresAt, purpose },
        },
        now,
      );
      const base = input.baseUrl.replace(/\/$/, '');
      const url =
        purpose === 'dashboard'
          ? `${base}/admin/sign-in/${secret}`
          : `${base}/webchat/sign-in?code=${secret}`;
      return { url, expiresAt };
    })
    .immediate();
}

export function createWebSignIn(deps: { db: Db; clock: () => Date }): WebchatAuth {
  const { db, clock } = deps;
  const UNUSABLE = 'This login link is not valid: it was already used, has expired, or was mistyped.';
  return {
    browserUser(cookie) {
      // A suspended user's browser stays theirs (the router drops their messages as user_suspended);
      // one of a user merged away acts as nobody until it signs in again.
      const user = getUser(db, browserUser(db, cookie) ?? '');
      return user && !user.mergedInto ? user.id : undefined;
    },
    tokenUser(token) {
      return verifyApiToken(db, token, clock().toISOString())?.userId;
    },
    describeLink(secret) {
      // A dashboard link signs in to /admin/ only (dashboard-sign-in.ts).
      if (secret.startsWith(DASHBOARD_LINK_PREFIX)) return { ok: false, error: UNUSABLE };
      const link = findLoginLink(db, secret);
      const user = link && getUser(db, link.userId);
      if (!link || !user || link.consumedAt || link.expiresAt <= clock().toISOString() || !mayAct(user))
        return { ok: false, error: UNUSABLE };
      return { ok: true, userName: user.displayName ?? user.id, expiresAt: link.expiresAt };
    },
    signIn(secret) {
      if (secret.startsWith(DASHBOARD_LINK_PREFIX)) return { ok: false, error: UNUSABLE };
      const now = clock().toISOString();
      const outcome = db
        .transaction(() => {
          const userId = consumeLoginLink(db, secret, now);
          const user = userId ? getUser(db, userId) : undefined;
          if (!user || !mayAct(user)) return undefined;
          if (user.status === 'invited') setUserStatus(db, user.id, 'active', 'login-link', now);
          const cookie = signInBrowser(db, user.id, now);
          appendAuditEvent(
            db,
            { actor: user.id, action: 'login_link.used', targetKind: 'user', targetId: user.id },
            now,
          );
          return { cookie, userId: user.id };
        })
        .immediate();
      if (outcome) return { ok: true, ...outcome };
      auditRefusedLink(db, secret, now);
      return { ok: false, error: UNUSABLE };
    },
    signOut(cookie) {
      signOutBrowser(db, cookie);
    },
  };
}

/**
 * Records why a known link was refused (used, expired, or its user may no longer sign in). Unknown
 * links are not recorded: random guesses are not worth a row each.
 */
export function auditRefusedLink(db: Db, secret: string, now: string, purpose?: 'dashboard'): void {
  const link = findLoginLink(db, secret);
  if (!link) return;
  const reason = link.consumedAt ? 'already_used' : link.expiresAt <= now ? 'expired' : 'user_cannot_sign_in';
  appendAuditEvent(
    db,
    {
      actor: 'web',
      action: 'login_link.refused',
      targetKind: 'user',
      targetId: link.userId,
      detail: purpose ? { purpose, reason } : { reason },
    },
    now,
  );
}

/** Suspended and merged users cannot sign in. */
function mayAct(user: User | undefined): user is User {
  return !!user && !user.mergedInto && user.status !== 'suspended';
}
