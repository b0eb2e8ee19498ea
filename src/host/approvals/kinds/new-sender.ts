// new_sender: someone a chat's policy does not let in wrote to an agent group wired there. Approving
// makes them a member of that group and replays what they sent while they waited; otherwise their
// held messages are recorded as refused (dropped_messages, reason sender_rejected).
import { z } from 'zod';
import { getAgentGroup } from '../../../db/agent-groups.ts';
import type { Db } from '../../../db/connection.ts';
import { getMessagingGroup } from '../../../db/messaging-groups.ts';
import { addMember } from '../../../db/roles.ts';
import { getUser } from '../../../db/users.ts';
import { ApplyError, handler } from './kind.ts';

const schema = z.strictObject({
  userId: z.string().min(1),
  senderName: z.string().max(200).nullish(),
  channelType: z.string().min(1),
  senderId: z.string().min(1),
  messagingGroupId: z.string().min(1),
  chatName: z.string().max(200).nullish(),
});

export const newSender = handler({
  kind: 'new_sender',
  title: 'New sender',
  schema,
  needsAgentGroup: true,
  effect: (p, db, agentGroupId) =>
    `Lets ${p.senderName ?? p.senderId} (${p.channelType}:${p.senderId}) talk to agent ` +
    `"${groupName(db, agentGroupId)}" as a member, and passes on the messages they sent while waiting.`,
  apply({ db, now, actor }, approval, p) {
    if (!getUser(db, p.userId)) throw new ApplyError(`user ${p.userId} no longer exists`);
    addMember(db, p.userId, approval.agentGroupId!, actor, now);
  },
  async followUp(ctx, approval, p, approved) {
    await ctx.releaseHeld(approved, 'sender_rejected');
    const chat = getMessagingGroup(ctx.db, p.messagingGroupId);
    if (!chat) return;
    const text = approved
      ? `An admin let you in: "${groupName(ctx.db, approval.agentGroupId)}" will answer your messages now.`
      : 'An admin did not let you in; your messages here are not passed on.';
    await ctx.tellChat(
      { channelType: chat.channelType, platformId: chat.platformId, threadId: null },
      text,
      `${approval.id}:requester`,
    );
  },
});

function groupName(db: Db, id: string | null): string {
  return (id && getAgentGroup(db, id)?.name) ?? id ?? '?';
}
