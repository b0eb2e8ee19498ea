// Unknown senders and unknown chats (DESIGN §7): the approval requests the router makes for them.
// The approvals engine owns the card, the decision, its effect (a new sender becomes a member of the
// agent group; src/host/approvals/kinds/new-sender.ts) and the held messages it replays.
import { findLatestApprovalByKey } from '../../db/approvals.ts';
import type { Db } from '../../db/connection.ts';
import type { MessagingGroup } from '../../db/messaging-groups.ts';
import type { User } from '../../db/users.ts';
import type { InboundMessage } from '../channels/index.ts';

/** The subset of the approvals engine the router uses (src/host/approvals/index.ts). */
export interface ApprovalRequester {
  request(input: {
    kind: 'new_sender' | 'new_channel';
    agentGroupId?: string | null;
    requestedBy: string;
    payload: unknown;
    dedupeKey: string;
    hold: InboundMessage;
  }): Promise<{ ok: true; approval: { id: string }; created: boolean } | { ok: false; error: string }>;
}

/** One card per (chat, sender), however many messages they send while it is pending. */
export const newSenderKey = (chatId: string, userId: string) => `new_sender:${chatId}:${userId}`;
/** One registration card per chat. */
export const newChannelKey = (chatId: string) => `new_channel:${chatId}`;

/**
 * An admin said no to this (chat, sender): later messages are dropped without another card, until an
 * admin lets them in (`warren roles grant USER member --group …`). An approval nobody decided in time
 * does not count: the next message asks again.
 */
export function wasRejected(db: Db, chatId: string, userId: string): boolean {
  return findLatestApprovalByKey(db, newSenderKey(chatId, userId))?.status === 'rejected';
}

/**
 * Asks to let `sender` talk to `agentGroupId` (the first of the chat's wirings that held them, by
 * priority): approving makes them its member. A chat wired to several groups admits to one per card.
 */
export function newSenderRequest(
  message: InboundMessage,
  chat: MessagingGroup,
  sender: User,
  agentGroupId: string,
) {
  return {
    kind: 'new_sender' as const,
    agentGroupId,
    requestedBy: sender.id,
    payload: {
      userId: sender.id,
      senderName: message.sender.name ?? sender.displayName,
      channelType: chat.channelType,
      senderId: message.sender.id,
      messagingGroupId: chat.id,
      chatName: chat.name,
    },
    dedupeKey: newSenderKey(chat.id, sender.id),
    hold: message,
  };
}

export function newChannelRequest(message: InboundMessage, chat: MessagingGroup, sender: User) {
  return {
    kind: 'new_channel' as const,
    agentGroupId: null,
    requestedBy: sender.id,
    payload: {
      messagingGroupId: chat.id,
      channelType: chat.channelType,
      platformId: chat.platformId,
      chatName: chat.name,
      isGroup: chat.isGroup,
      requestedByName: message.sender.name ?? sender.displayName,
    },
    dedupeKey: newChannelKey(chat.id),
    hold: message,
  };
}
