// Dashboard sign-in (docs/dashboard.md): `warren login-link --admin` makes a one-time link to
// /admin/sign-in/CODE; the page posts the code once and gets a short-lived API token for the link's
// user, kept in that tab's sessionStorage. The link is consumed in one statement with the token made,
// so it cannot be exchanged twice; links are for owners and admins only; every exchange is audited.
import { appendAuditEvent } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import { listRoles } from '../../db/roles.ts';
import { createApiToken } from '../../db/tokens.ts';
import { getUser, type User } from '../../db/users.ts';
import { consumeLoginLink, DASHBOARD_LINK_PREFIX } from '../../db/web-sign-in.ts';
import { auditRefusedLink } from './web-sign-in.ts';

/** How long a token got through a link works: a working day, and only in the tab that signed in. */
export const DASHBOARD_TOKEN_TTL_MS = 8 * 3600_000;

export type DashboardSignIn =
  | { ok: true; token: string; expiresAt: string; userId: string; userName: string }
  | { ok: false; error: string };

const UNUSABLE = 'This sign-in link is not valid: it was already used, has expired, or was mistyped.';

/** Only people who may administer something get a dashboard link: it shows nothing to anyone else. */
export function mayUseDashboard(db: Db, userId: string): boolean {
  return listRoles(db, userId).some((r) => r.role === 'owner' || r.role === 'admin');
}

/** Exchanges a dashboard link's secret for a short-lived API token of its user, once. */
export function exchangeDashboardLink(db: Db, secret: string, now: Date): DashboardSignIn {
  const at = now.toISOString();
  if (!secret.startsWith(DASHBOARD_LINK_PREFIX)) return { ok: false, error: UNUSABLE };
  const outcome = db
    .transaction(() => {
      const userId = consumeLoginLink(db, secret, at);
      const user = userId ? getUser(db, userId) : undefined;
      if (!user || !mayAct(user) || !mayUseDashboard(db, user.id)) return undefined;
      const expiresAt = new Date(now.getTime() + DASHBOARD_TOKEN_TTL_MS).toISOString();
      const { token, apiToken } = createApiToken(db, user.id, 'dashboard sign-in', at, { expiresAt });
      appendAuditEvent(
        db,
        {
          actor: user.id,
          action: 'login_link.used',
          targetKind: 'user',
          targetId: user.id,
          detail: { purpose: 'dashboard', tokenId: apiToken.id, expiresAt },
        },
        at,
      );
      return { ok: true as const, token, expiresAt, userId: user.id, userName: user.displayName ?? user.id };
    })
    .immediate();
  if (outcome) return outcome;
  auditRefusedLink(db, secret, at, 'dashboard');
  return { ok: false, error: UNUSABLE };
}

/** Suspended and merged users cannot sign in. */
function mayAct(user: User): boolean {
  return !user.mergedInto && user.status !== 'suspended';
}
