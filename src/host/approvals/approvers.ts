// Who decides approvals and where their cards go. The right to decide is checked when the decision
// arrives (never when the card was sent: roles change): owners, global admins and admins of the
// approval's agent group; a suspended user never.
import type { Db } from '../../db/connection.ts';
import { getMessagingGroup } from '../../db/messaging-groups.ts';
import { listUserDms } from '../../db/user-dms.ts';
import { listIdentities } from '../../db/users.ts';
import { can, type AccessDenyReason } from '../access/index.ts';
import { hasCapability } from '../channels/index.ts';

export interface DecideRight {
  allowed: boolean;
  /** Why not, in words the refused person can read. */
  reason: string;
}

/** The one access check (access/check.ts), with the refusal put in words. */
export function mayDecide(db: Db, userId: string, agentGroupId: string | null): DecideRight {
  const decision = can(db, userId, { kind: 'decide_approval', agentGroupId });
  if (decision.allowed) return { allowed: true, reason: decision.reason };
  return { allowed: false, reason: REFUSALS[decision.reason](agentGroupId) };
}

const REFUSALS: Record<AccessDenyReason, (agentGroupId: string | null) => string> = {
  unknown_user: () => 'you are not a known user',
  user_suspended: () => 'your account is suspended',
  user_not_active: () => 'your account is not active',
  user_merged: () => 'this account was merged into another user',
  not_member: (g) => notAdmin(g),
  not_admin: (g) => notAdmin(g),
  not_owner: (g) => notAdmin(g),
};

const notAdmin = (agentGroupId: string | null) =>
  agentGroupId
    ? 'only owners, global admins and admins of this agent group may decide it'
    : 'only owners and global admins may decide it';

/** Users whose cards an approval goes to: owners, global admins, admins of the group; not suspended. */
export function listApprovers(db: Db, agentGroupId: string | null): string[] {
  return db
    .prepare(
      `SELECT DISTINCT r.user_id FROM user_roles r JOIN users u ON u.id = r.user_id
       WHERE u.status = 'active' AND u.merged_into IS NULL
         AND (r.role = 'owner' OR (r.role = 'admin' AND (r.agent_group_id IS NULL OR r.agent_group_id = ?)))
       ORDER BY r.user_id`,
    )
    .pluck()
    .all(agentGroupId) as string[];
}

/** Where a card for a person can be sent. */
export interface CardTarget {
  userId: string | null;
  channelType: string;
  chatId: string;
  threadId: string | null;
}

/**
 * A person's direct chats, one per channel: the DM recorded in user_dms; failing that, on a channel
 * that can open direct chats (DirectMessages), the chat addressed by their platform account id.
 * Empty when neither exists: they decide with `warren approvals` or the API instead.
 */
export function dmTargets(
  db: Db,
  userId: string,
  channelCapabilities: (channelType: string) => number | undefined,
): CardTarget[] {
  const targets = new Map<string, CardTarget>();
  for (const dm of listUserDms(db, userId)) {
    const chat = getMessagingGroup(db, dm.messagingGroupId);
    if (!chat || chat.deniedAt || channelCapabilities(chat.channelType) === undefined) continue;
    targets.set(chat.channelType, {
      userId,
      channelType: chat.channelType,
      chatId: chat.platformId,
      threadId: null,
    });
  }
  for (const identity of listIdentities(db, userId)) {
    if (targets.has(identity.kind)) continue;
    const capabilities = channelCapabilities(identity.kind);
    if (capabilities === undefined || !hasCapability(capabilities, 'DirectMessages')) continue;
    targets.set(identity.kind, {
      userId,
      channelType: identity.kind,
      chatId: identity.externalId,
      threadId: null,
    });
  }
  return [...targets.values()];
}
