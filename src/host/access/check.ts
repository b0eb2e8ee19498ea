// The one access check (DESIGN §7): the router, approvals, the CLI and the API all ask `can`, so a
// rule lives in exactly one place. `decideAccess` is pure (plain facts in, a decision out) and is
// tested for every role × status × scope; `can` only loads the facts.
import type { Db } from '../../db/connection.ts';
import type { Role, UserStatus } from '../../db/enums.ts';

/** What someone wants to do. */
export type AccessAction =
  /** Talk to an agent group (its wired chats route the user's messages to it). */
  | { kind: 'message'; agentGroupId: string }
  /** Decide an approval about this agent group; null: an approval that concerns no single group. */
  | { kind: 'decide_approval'; agentGroupId: string | null }
  /** Change settings, wirings, members; without an agent group: the whole install. */
  | { kind: 'administer'; agentGroupId?: string | null }
  /**
   * Give (or take away) a role. Owners grant anything; global admins grant group admins and members;
   * a group's admins add and remove that group's members.
   */
  | { kind: 'grant'; role: Role | 'member'; agentGroupId: string | null };

/** Why it is allowed: the strongest standing the user has for the action. */
export type AccessGrantReason = 'owner' | 'global_admin' | 'group_admin' | 'member';

/** Why it is refused. */
export type AccessDenyReason =
  | 'unknown_user'
  | 'user_suspended'
  /** Invited and not yet active: the first message of their own activates them (see access/identity.ts). */
  | 'user_not_active'
  /** Merged into another user: the identities moved on, this record only remains for the trail. */
  | 'user_merged'
  | 'not_member'
  | 'not_admin'
  | 'not_owner';

export type AccessDecision =
  { allowed: true; reason: AccessGrantReason } | { allowed: false; reason: AccessDenyReason };

/** Everything about a user the rules look at. */
export interface AccessFacts {
  status: UserStatus;
  mergedInto: string | null;
  roles: readonly { role: Role; agentGroupId: string | null }[];
  /** Agent groups the user is a member of (without being admin). */
  memberOf: readonly string[];
}

/** Pure: the decision for one user (undefined: unknown) and one action. */
export function decideAccess(facts: AccessFacts | undefined, action: AccessAction): AccessDecision {
  if (!facts) return deny('unknown_user');
  // Fail closed before any role is looked at: a suspended owner is still suspended.
  if (facts.mergedInto !== null) return deny('user_merged');
  if (facts.status === 'suspended') return deny('user_suspended');
  if (facts.status !== 'active') return deny('user_not_active');

  const standing = standingIn(facts, action.kind === 'grant' ? action.agentGroupId : groupOf(action));
  switch (action.kind) {
    case 'message':
      return standing ? allow(standing) : deny('not_member');
    case 'decide_approval':
    case 'administer':
      return standing && standing !== 'member' ? allow(standing) : deny('not_admin');
    case 'grant':
      return decideGrant(standing, action);
  }
}

/** Loads the user's facts and decides. One read transaction, so the facts are consistent. */
export function can(db: Db, userId: string, action: AccessAction): AccessDecision {
  return decideAccess(loadAccessFacts(db, userId), action);
}

export function loadAccessFacts(db: Db, userId: string): AccessFacts | undefined {
  return db.transaction(() => {
    const user = db
      .prepare('SELECT status, merged_into AS mergedInto FROM users WHERE id = ?')
      .get(userId) as { status: UserStatus; mergedInto: string | null } | undefined;
    if (!user) return undefined;
    const roles = db
      .prepare('SELECT role, agent_group_id AS agentGroupId FROM user_roles WHERE user_id = ?')
      .all(userId) as AccessFacts['roles'];
    const memberOf = db
      .prepare('SELECT agent_group_id FROM agent_group_members WHERE user_id = ?')
      .pluck()
      .all(userId) as string[];
    return { status: user.status, mergedInto: user.mergedInto, roles, memberOf };
  })();
}

/** The strongest standing the user has for an agent group (null scope: the install as a whole). */
function standingIn(facts: AccessFacts, agentGroupId: string | null): AccessGrantReason | null {
  if (facts.roles.some((r) => r.role === 'owner')) return 'owner';
  if (facts.roles.some((r) => r.role === 'admin' && r.agentGroupId === null)) return 'global_admin';
  if (agentGroupId === null) return null;
  if (facts.roles.some((r) => r.role === 'admin' && r.agentGroupId === agentGroupId)) return 'group_admin';
  if (facts.memberOf.includes(agentGroupId)) return 'member';
  return null;
}

function decideGrant(
  standing: AccessGrantReason | null,
  action: Extract<AccessAction, { kind: 'grant' }>,
): AccessDecision {
  // Owner, and admin of everything, widen what someone can do everywhere: only an owner gives them.
  if (action.role === 'owner' || (action.role === 'admin' && action.agentGroupId === null))
    return standing === 'owner' ? allow(standing) : deny('not_owner');
  if (action.role === 'admin')
    return standing === 'owner' || standing === 'global_admin' ? allow(standing) : deny('not_admin');
  return standing && standing !== 'member' ? allow(standing) : deny('not_admin');
}

function groupOf(action: Exclude<AccessAction, { kind: 'grant' }>): string | null {
  return action.agentGroupId ?? null;
}

const allow = (reason: AccessGrantReason): AccessDecision => ({ allowed: true, reason });
const deny = (reason: AccessDenyReason): AccessDecision => ({ allowed: false, reason });

/**
 * Whether anyone could decide an approval about this agent group (null: about none): an active owner,
 * global admin or admin of the group. Without one, a card would wait for nobody, so callers record the
 * message as refused instead of holding it.
 */
export function hasDecider(db: Db, agentGroupId: string | null): boolean {
  return (
    db
      .prepare(
        `SELECT 1 FROM user_roles r JOIN users u ON u.id = r.user_id
         WHERE u.status = 'active' AND u.merged_into IS NULL
           AND (r.role = 'owner' OR (r.role = 'admin' AND (r.agent_group_id IS NULL OR r.agent_group_id = ?)))
         LIMIT 1`,
      )
      .get(agentGroupId) !== undefined
  );
}
