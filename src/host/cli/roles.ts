// `warren roles grant|revoke|list`: owner, admin (of everything or one agent group) and member of an
// agent group. The operator at the command line holds the database, so no role check applies here;
// every change is audited (docs/access.md).
import { getAgentGroup, getAgentGroupByFolder } from '../../db/agent-groups.ts';
import { appendAuditEvent } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import { addMember, grantRole, removeMember, revokeRole } from '../../db/roles.ts';
import { withCentralDb } from './central-db.ts';
import type { CommandIo } from './users.ts';
import { resolveUser } from './users.ts';
import { renderTable } from './table.ts';

export interface RolesIo extends CommandIo {
  /** --group: an agent group folder or id (admin of that group, or member of it). */
  group?: string;
}

export const ROLES_HELP = `warren roles list [USER] [--json]
warren roles grant USER owner|admin|member [--group GROUP]
warren roles revoke USER owner|admin|member [--group GROUP]
admin without --group is admin of every agent group; member always needs --group.
GROUP is an agent group folder (e.g. main) or id.
`;

export function runRolesCommand(io: RolesIo): Promise<number> {
  const [sub, ...rest] = io.args;
  return withCentralDb({ name: 'roles', sub, usage: ROLES_HELP }, io, (db) => {
    if (sub === undefined || sub === 'list') return list(db, rest[0], io);
    if (sub !== 'grant' && sub !== 'revoke') {
      io.fail(`warren roles: unknown subcommand "${sub}"\n\n${ROLES_HELP}`);
      return 2;
    }
    const [userRef, role] = rest;
    if (!userRef || (role !== 'owner' && role !== 'admin' && role !== 'member')) {
      io.fail(`warren roles ${sub}: give a user and one of owner, admin, member\n\n${ROLES_HELP}`);
      return 2;
    }
    const user = resolveUser(db, userRef);
    const agentGroupId = io.group ? groupId(db, io.group) : null;
    const now = io.now.toISOString();
    let changed: boolean;
    if (role === 'member') {
      if (!agentGroupId) throw new Error('member needs --group: membership is per agent group');
      changed =
        sub === 'grant'
          ? addMember(db, user.id, agentGroupId, io.actor, now)
          : removeMember(db, user.id, agentGroupId, io.actor, now);
    } else {
      const grant = { userId: user.id, role, agentGroupId } as const;
      changed = sub === 'grant' ? grantRole(db, grant, io.actor, now) : revokeRole(db, grant, io.actor, now);
    }
    const what = `${role}${agentGroupId ? ` of ${agentGroupId}` : role === 'admin' ? ' of every agent group' : ''}`;
    if (!changed) {
      io.write(`${user.id} ${sub === 'grant' ? 'already is' : 'is not'} ${what}; nothing changed\n`);
      return 0;
    }
    appendAuditEvent(
      db,
      {
        actor: io.actor,
        action: sub === 'grant' ? 'role.granted' : 'role.revoked',
        targetKind: 'user',
        targetId: user.id,
        detail: { role, agentGroupId },
      },
      now,
    );
    io.write(`${user.id} ${sub === 'grant' ? 'is now' : 'is no longer'} ${what}\n`);
    return 0;
  });
}

function list(db: Db, userRef: string | undefined, io: RolesIo): number {
  const userId = userRef ? resolveUser(db, userRef).id : null;
  const rows = db
    .prepare(
      `SELECT user_id AS userId, role, agent_group_id AS agentGroupId, granted_by AS grantedBy, created_at AS since
         FROM user_roles WHERE @user IS NULL OR user_id = @user
       UNION ALL
       SELECT user_id, 'member', agent_group_id, added_by, created_at
         FROM agent_group_members WHERE @user IS NULL OR user_id = @user
       ORDER BY 1, 2, 3`,
    )
    .all({ user: userId }) as {
    userId: string;
    role: string;
    agentGroupId: string | null;
    grantedBy: string | null;
    since: string;
  }[];
  if (io.json) {
    io.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    io.write('no roles granted (warren roles grant USER owner makes the first owner)\n');
    return 0;
  }
  io.write(
    renderTable(
      ['USER', 'ROLE', 'AGENT GROUP', 'GRANTED BY', 'SINCE'],
      rows.map((r) => [r.userId, r.role, r.agentGroupId ?? '(all)', r.grantedBy ?? '', r.since]),
    ),
  );
  return 0;
}

function groupId(db: Db, ref: string): string {
  const group = getAgentGroup(db, ref) ?? getAgentGroupByFolder(db, ref);
  if (!group) throw new Error(`no agent group ${ref} (give its folder, e.g. main, or its id)`);
  return group.id;
}
