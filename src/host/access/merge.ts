// Merging two users who turn out to be one person: everything the first holds moves to the second,
// in one transaction, and the first stays behind as a marked, empty record (merged_into) so the
// identity trail and old approvals still resolve.
import { appendAuditEvent } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import type { Role, UserStatus } from '../../db/enums.ts';
import { getUserDailyTokenBudget } from '../../db/user-budgets.ts';
import { getUser, recordIdentityEvent } from '../../db/users.ts';
import { MergedUserError, UnknownUserError } from './identity.ts';

export interface MergeReport {
  from: string;
  into: string;
  identities: { kind: string; externalId: string }[];
  /** Roles the target did not hold yet; duplicates are dropped (the target's own row is kept). */
  rolesAdded: { role: Role; agentGroupId: string | null }[];
  membershipsAdded: string[];
  /** Channel types whose DM moved; where both had one, the more recent one is kept. */
  dmsMoved: string[];
  apiTokens: number;
  /** The merged user's status after the merge (a merge never lifts a suspension). */
  status: UserStatus;
}

export class MergeError extends Error {
  override name = 'MergeError';
}

/**
 * Merges `fromId` into `intoId`: identities, roles, memberships, DMs, API tokens and pending binding
 * codes move; duplicate roles and memberships collapse into the target's. If either user is suspended
 * the result is suspended (fail closed). Recorded as 'merged' on both users and in the audit log.
 */
export function mergeUsers(db: Db, fromId: string, intoId: string, actor: string, now: string): MergeReport {
  return db
    .transaction((): MergeReport => {
      if (fromId === intoId) throw new MergeError(`cannot merge user ${fromId} into itself`);
      const from = getUser(db, fromId);
      const into = getUser(db, intoId);
      if (!from) throw new UnknownUserError(fromId);
      if (!into) throw new UnknownUserError(intoId);
      if (from.mergedInto) throw new MergedUserError(fromId, from.mergedInto);
      if (into.mergedInto) throw new MergedUserError(intoId, into.mergedInto);

      const moved = moveHoldings(db, fromId, intoId);
      const status = mergedStatus(from.status, into.status);
      // Like a suspension, a daily token budget is not lifted by a merge: the smaller one stays.
      db.prepare(
        `UPDATE users SET status = @status, display_name = coalesce(display_name, @name), updated_at = @now,
           daily_token_budget = coalesce(min(daily_token_budget, @fromBudget), daily_token_budget, @fromBudget)
         WHERE id = @intoId`,
      ).run({
        status,
        name: from.displayName,
        now,
        intoId,
        fromBudget: getUserDailyTokenBudget(db, fromId),
      });
      // The record stays (approvals and the trail name it) but can do nothing: merged and suspended.
      db.prepare(`UPDATE users SET merged_into = ?, status = 'suspended', updated_at = ? WHERE id = ?`).run(
        intoId,
        now,
        fromId,
      );

      const report: MergeReport = { from: fromId, into: intoId, ...moved, status };
      recordMerge(db, report, { from: from.status, into: into.status }, actor, now);
      return report;
    })
    .immediate();
}

type Holdings = Pick<
  MergeReport,
  'identities' | 'rolesAdded' | 'membershipsAdded' | 'dmsMoved' | 'apiTokens'
>;

/** Moves what `fromId` holds to `intoId`; duplicates collapse into the target's rows. */
function moveHoldings(db: Db, fromId: string, intoId: string): Holdings {
  const identities = db
    .prepare(
      `UPDATE user_identities SET user_id = ? WHERE user_id = ? RETURNING kind, external_id AS externalId`,
    )
    .all(intoId, fromId) as MergeReport['identities'];

  const rolesAdded = db
    .prepare(
      `INSERT INTO user_roles (user_id, role, agent_group_id, granted_by, created_at)
       SELECT ?, role, agent_group_id, granted_by, created_at FROM user_roles WHERE user_id = ?
       ON CONFLICT DO NOTHING RETURNING role, agent_group_id AS agentGroupId`,
    )
    .all(intoId, fromId) as MergeReport['rolesAdded'];
  db.prepare('DELETE FROM user_roles WHERE user_id = ?').run(fromId);

  const membershipsAdded = db
    .prepare(
      `INSERT INTO agent_group_members (user_id, agent_group_id, added_by, created_at)
       SELECT ?, agent_group_id, added_by, created_at FROM agent_group_members WHERE user_id = ?
       ON CONFLICT DO NOTHING RETURNING agent_group_id`,
    )
    .pluck()
    .all(intoId, fromId) as string[];
  db.prepare('DELETE FROM agent_group_members WHERE user_id = ?').run(fromId);

  const dmsMoved = db
    .prepare(
      `INSERT INTO user_dms (user_id, channel_type, messaging_group_id, updated_at)
       SELECT ?, channel_type, messaging_group_id, updated_at FROM user_dms WHERE user_id = ?
       ON CONFLICT (user_id, channel_type) DO UPDATE
         SET messaging_group_id = excluded.messaging_group_id, updated_at = excluded.updated_at
         WHERE excluded.updated_at > user_dms.updated_at
       RETURNING channel_type`,
    )
    .pluck()
    .all(intoId, fromId) as string[];
  db.prepare('DELETE FROM user_dms WHERE user_id = ?').run(fromId);

  const apiTokens = db
    .prepare('UPDATE api_tokens SET user_id = ? WHERE user_id = ?')
    .run(intoId, fromId).changes;
  db.prepare('UPDATE binding_tokens SET user_id = ? WHERE user_id = ? AND consumed_at IS NULL').run(
    intoId,
    fromId,
  );
  db.prepare('UPDATE model_usage SET user_id = ? WHERE user_id = ?').run(intoId, fromId);
  return { identities, rolesAdded, membershipsAdded, dmsMoved, apiTokens };
}

/** The 'merged' events on both users (and a status change on the target), and the audit entry. */
function recordMerge(
  db: Db,
  report: MergeReport,
  before: { from: UserStatus; into: UserStatus },
  actor: string,
  now: string,
): void {
  const { from: fromId, into: intoId, identities, rolesAdded, status } = report;
  const { membershipsAdded, dmsMoved, apiTokens } = report;
  const moved = { identities, rolesAdded, membershipsAdded, dmsMoved, apiTokens };
  recordIdentityEvent(db, fromId, 'merged', actor, { status: before.from }, { mergedInto: intoId }, now);
  recordIdentityEvent(
    db,
    intoId,
    'merged',
    actor,
    { status: before.into },
    { mergedFrom: fromId, status, ...moved },
    now,
  );
  if (status !== before.into) {
    recordIdentityEvent(db, intoId, 'status_changed', actor, { status: before.into }, { status }, now);
  }
  appendAuditEvent(
    db,
    {
      actor,
      action: 'user.merged',
      targetKind: 'user',
      targetId: intoId,
      detail: { from: fromId, identities: identities.length, roles: rolesAdded.length, status },
    },
    now,
  );
}

/** Pure: suspended wins, then active (an invited user merged with an active one is active). */
export function mergedStatus(a: UserStatus, b: UserStatus): UserStatus {
  if (a === 'suspended' || b === 'suspended') return 'suspended';
  if (a === 'active' || b === 'active') return 'active';
  return 'invited';
}
