// new_channel: the bot was mentioned in a chat nobody wired. Approving wires the chat to the agent
// group the admin picks (one option per group), makes the person who mentioned the bot a member of
// it, and replays the mention; rejecting marks the chat denied, so it stays quiet from then on.
import { z } from 'zod';
import { getAgentGroup, listAgentGroups } from '../../../db/agent-groups.ts';
import { denyMessagingGroup, getMessagingGroup } from '../../../db/messaging-groups.ts';
import { addMember } from '../../../db/roles.ts';
import { getUser } from '../../../db/users.ts';
import { createWiring, listWiringsForMessagingGroup } from '../../../db/wirings.ts';
import { ApplyError, handler, type Choice } from './kind.ts';

const schema = z.strictObject({
  messagingGroupId: z.string().min(1),
  channelType: z.string().min(1),
  platformId: z.string().min(1),
  chatName: z.string().max(200).nullish(),
  isGroup: z.boolean(),
  /** Who mentioned the bot (approval.requestedBy is their user id). */
  requestedByName: z.string().max(200).nullish(),
  /** The agent group offered first (e.g. the one the mention named). */
  suggestedAgentGroupId: z.string().min(1).nullish(),
});

/** Cards list at most this many groups; any group can still be chosen with the CLI or the API. */
const MAX_CHOICES = 8;

export const newChannel = handler({
  kind: 'new_channel',
  title: 'New chat',
  schema,
  needsAgentGroup: false,
  effect: (p) =>
    `Connects the ${p.isGroup ? 'group ' : ''}chat ${p.chatName ? `"${p.chatName}" ` : ''}` +
    `(${p.channelType}:${p.platformId}) to the agent group you pick, which then answers mentions there, ` +
    `and makes ${p.requestedByName ?? 'the person who asked'} a member of that group. ` +
    'Rejecting keeps the bot quiet in this chat.',
  choices(p, db): Choice[] {
    const groups = listAgentGroups(db);
    groups.sort(
      (a, b) => Number(b.id === p.suggestedAgentGroupId) - Number(a.id === p.suggestedAgentGroupId),
    );
    return groups.slice(0, MAX_CHOICES).map((g) => ({ label: `Connect to ${g.name}`, value: g.id }));
  },
  apply({ db, now, actor }, approval, p, choice) {
    const agentGroupId = choice ?? p.suggestedAgentGroupId ?? onlyGroup(db);
    if (!agentGroupId) throw new ApplyError('choose the agent group to connect this chat to');
    if (!getAgentGroup(db, agentGroupId)) throw new ApplyError(`there is no agent group ${agentGroupId}`);
    if (!getMessagingGroup(db, p.messagingGroupId)) throw new ApplyError('the chat no longer exists');
    const wired = listWiringsForMessagingGroup(db, p.messagingGroupId).some(
      (w) => w.agentGroupId === agentGroupId,
    );
    if (!wired) createWiring(db, { messagingGroupId: p.messagingGroupId, agentGroupId }, now);
    // Otherwise the replayed mention meets the new chat's strict policy and is refused.
    if (getUser(db, approval.requestedBy)) addMember(db, approval.requestedBy, agentGroupId, actor, now);
  },
  onReject({ db, now }, _approval, p) {
    denyMessagingGroup(db, p.messagingGroupId, now);
  },
  async followUp(ctx, approval, p, approved) {
    await ctx.releaseHeld(approved, 'chat_denied');
    const choice = approval.decision?.choice ?? p.suggestedAgentGroupId;
    const name = (choice && getAgentGroup(ctx.db, choice)?.name) ?? 'an agent';
    const text = approved
      ? `This chat is now connected to "${name}".`
      : 'An admin did not connect this chat; the bot stays quiet here.';
    await ctx.tellChat(
      { channelType: p.channelType, platformId: p.platformId, threadId: null },
      text,
      `${approval.id}:requester`,
    );
  },
});

function onlyGroup(db: Parameters<typeof listAgentGroups>[0]): string | undefined {
  const groups = listAgentGroups(db);
  return groups.length === 1 ? groups[0]!.id : undefined;
}
