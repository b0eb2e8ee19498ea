// Roles (owner, admin global or per agent group) and agent group membership. Each change records a
// 'role_changed' identity event in the same transaction.
import { z } from 'zod';
import type { Db } from './connection.ts';
import { ROLES, type Role } from './enums.ts';
import { recordIdentityEvent } from './users.ts';

export interface UserRole {
  userId: string;
  role: Role;
  /** null: the role holds for every agent group. */
  agentGroupId: string | null;
  grantedBy: string | null;
  createdAt: string;
}

export interface RoleGrant {
  userId: string;
  role: Role;
  agentGroupId?: string | null;
}

const roleGrant = z
  .object({ userId: z.string().min(1), role: z.enum(ROLES), agentGroupId: z.string().min(1).nullish() })
  .refine((g) => g.role !== 'owner' || g.agentGroupId == null, {
    message: 'owner is a global role: it cannot be scoped to an agent group',
    path: ['agentGroupId'],
  });

/** Returns false when the user already holds exactly that role. */
export function grantRole(db: Db, grant: RoleGrant, actor: string, now: string): boolean {
  const g = roleGrant.parse(grant);
  const scope = g.agentGroupId ?? null;
  return db
    .transaction(() => {
      const inserted = db
        .prepare(
          `INSERT INTO user_roles (user_id, role, agent_group_id, granted_by, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
        )
        .run(g.userId, g.role, scope, actor, now);
      if (inserted.changes === 0) return false;
      recordIdentityEvent(
        db,
        g.userId,
        'role_changed',
        actor,
        null,
        { role: g.role, agentGroupId: scope },
        now,
      );
      return true;
    })
    .immediate();
}

/** Returns false when the user did not hold that role. */
export function revokeRole(db: Db, grant: RoleGrant, actor: string, now: string): boolean {
  const g = roleGrant.parse(grant);
  const scope = g.agentGroupId ?? null;
  return db
    .transaction(() => {
      const removed = db
        .prepare('DELETE FROM user_roles WHERE user_id = ? AND role = ? AND agent_group_id IS ?')
        .run(g.userId, g.role, scope);
      if (removed.changes === 0) return false;
      recordIdentityEvent(
        db,
        g.userId,
        'role_changed',
        actor,
        { role: g.role, agentGroupId: scope },
        null,
        now,
      );
      return true;
    })
    .immediate();
}

export function listRoles(db: Db, userId: string): UserRole[] {
  return db
    .prepare(
      `SELECT user_id AS userId, role, agent_group_id AS agentGroupId, granted_by AS grantedBy, created_at AS createdAt
       FROM user_roles WHERE user_id = ? ORDER BY id`,
    )
    .all(userId) as UserRole[];
}

/** Users holding the owner role, in the order it was granted. */
export function listOwners(db: Db): string[] {
  return db
    .prepare("SELECT user_id FROM user_roles WHERE role = 'owner' ORDER BY id")
    .pluck()
    .all() as string[];
}

export function isOwner(db: Db, userId: string): boolean {
  return (
    db.prepare("SELECT 1 FROM user_roles WHERE user_id = ? AND role = 'owner'").get(userId) !== undefined
  );
}

/**
 * Owners and global admins are admins of everything; an admin scoped to a group only of that group.
 * Without agentGroupId the question is "admin of everything?".
 */
export function isAdmin(db: Db, userId: string, agentGroupId?: string): boolean {
  return (
    db
      .prepare(
        `SELECT 1 FROM user_roles WHERE user_id = ?
         AND (role = 'owner' OR (role = 'admin' AND (agent_group_id IS NULL OR agent_group_id = ?)))`,
      )
      .get(userId, agentGroupId ?? null) !== undefined
  );
}

/** Returns false when the user already was a member. */
export function addMember(db: Db, userId: string, agentGroupId: string, actor: string, now: string): boolean {
  return db
    .transaction(() => {
      const inserted = db
        .prepare(
          `INSERT INTO agent_group_members (user_id, agent_group_id, added_by, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
        )
        .run(userId, agentGroupId, actor, now);
      if (inserted.changes === 0) return false;
      recordIdentityEvent(db, userId, 'role_changed', actor, null, { role: 'member', agentGroupId }, now);
      return true;
    })
    .immediate();
}

/** Returns false when the user was not a member. */
export function removeMember(
  db: Db,
  userId: string,
  agentGroupId: string,
  actor: string,
  now: string,
): boolean {
  return db
    .transaction(() => {
      const removed = db
        .prepare('DELETE FROM agent_group_members WHERE user_id = ? AND agent_group_id = ?')
        .run(userId, agentGroupId);
      if (removed.changes === 0) return false;
      recordIdentityEvent(db, userId, 'role_changed', actor, { role: 'member', agentGroupId }, null, now);
      return true;
    })
    .immediate();
}

export function isMember(db: Db, userId: string, agentGroupId: string): boolean {
  return (
    db
      .prepare('SELECT 1 FROM agent_group_members WHERE user_id = ? AND agent_group_id = ?')
      .get(userId, agentGroupId) !== undefined
  );
}
