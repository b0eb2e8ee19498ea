// Inbound message -> messaging group -> wirings -> session rows (DESIGN §4 step 2).
// Every message ends routed, a duplicate, or recorded in dropped_messages: nothing disappears.
import { createHash } from 'node:crypto';
import type { Db } from '../db/connection.ts';
import type { DropReason } from '../db/enums.ts';
import { newId } from '../db/ids.ts';
import { recordDroppedMessage } from '../db/dropped-messages.ts';
import {
  claimInbound,
  markInboundProcessed,
  releaseInboundClaim,
  type InboundKey,
} from '../db/inbound-dedup.ts';
import { findOrCreateMessagingGroup, type MessagingGroup } from '../db/messaging-groups.ts';
import { isAdmin, isMember } from '../db/roles.ts';
import { findActiveSession } from '../db/sessions.ts';
import { addIdentity, createUser, findUserByIdentity, type User } from '../db/users.ts';
import { createWiring, listWiringsForMessagingGroup, type Wiring } from '../db/wirings.ts';
import type { InboundMessage } from './channels/channel.ts';
import type { Logger } from './logger.ts';
import { insertMessagesIn } from './sessions/inbound.ts';
import { resolveSession, sessionKeyFor } from './sessions/resolve.ts';

/** A chat of this channel type seen for the first time is wired to this agent group (e.g. web chat → main). */
export interface AutoWire {
  agentGroupId: string;
}

export interface RouterDeps {
  db: Db;
  dataDir: string;
  clock: () => Date;
  log: Logger;
  /** Called for each session that received a message that should start a turn. */
  wake: (sessionId: string) => void;
  autoWire?: Record<string, AutoWire>;
  /** How long an unprocessed dedup claim blocks a redelivery before it may be taken over. */
  claimStaleAfterMs?: number;
}

export type RouteOutcome =
  | { status: 'duplicate' }
  | { status: 'dropped'; reason: DropReason }
  | { status: 'routed'; sessions: { sessionId: string; messageId: string; seq: number; trigger: boolean }[] };

export function createRouter(deps: RouterDeps) {
  const { db, clock, log } = deps;
  return { route };

  async function route(message: InboundMessage): Promise<RouteOutcome> {
    const key: InboundKey = {
      channelType: message.channelType,
      installation: message.installation,
      // Many platforms number messages per chat (Telegram, web chat clients): qualify by chat.
      platformMessageId: `${message.chat.id}\u0000${message.platformMessageId}`,
    };
    const token = newId('claim');
    const now = clock().toISOString();
    if (claimInbound(db, key, token, now, deps.claimStaleAfterMs ?? 60_000) === 'duplicate') {
      return { status: 'duplicate' };
    }
    try {
      const outcome = routeClaimed(message, now);
      markInboundProcessed(db, key, token, clock().toISOString());
      if (outcome.status === 'dropped') drop(message, outcome.reason, now);
      else if (outcome.status === 'routed')
        for (const s of outcome.sessions) if (s.trigger) deps.wake(s.sessionId);
      return outcome;
    } catch (err) {
      // Give the claim back: the sender's retry must be routed, not taken for a duplicate.
      releaseInboundClaim(db, key, token);
      throw err;
    }
  }

  function routeClaimed(message: InboundMessage, now: string): RouteOutcome {
    const chat = findOrCreateChat(message, now);
    if (chat.deniedAt) return { status: 'dropped', reason: 'chat_denied' };
    const wirings = listWiringsForMessagingGroup(db, chat.id);
    if (wirings.length === 0) return { status: 'dropped', reason: 'no_wiring' };
    const sender = findOrCreateSender(message, now);
    if (sender.status === 'suspended') return { status: 'dropped', reason: 'user_suspended' };

    const routed: Extract<RouteOutcome, { status: 'routed' }>['sessions'] = [];
    let firstRefusal: DropReason | undefined;
    for (const wiring of wirings) {
      const known = isKnown(sender, wiring.agentGroupId);
      const verdict = decide(wiring, chat, message, known, hasStickySession(wiring, chat, message));
      if (verdict.action === 'drop') {
        firstRefusal ??= verdict.reason;
        continue;
      }
      routed.push(write(message, chat, wiring, sender, verdict.action === 'trigger', now));
    }
    if (routed.length === 0) return { status: 'dropped', reason: firstRefusal ?? 'not_engaged' };
    return { status: 'routed', sessions: routed };
  }

  function write(
    message: InboundMessage,
    chat: MessagingGroup,
    wiring: Wiring,
    sender: User,
    trigger: boolean,
    now: string,
  ) {
    const key = sessionKeyFor(wiring.sessionMode, wiring.agentGroupId, chat.id, message.threadId);
    const routing = {
      channelType: chat.channelType,
      platformId: chat.platformId,
      threadId: message.threadId,
    };
    const { session, paths } = resolveSession(db, deps.dataDir, key, routing, now);
    const [written] = insertMessagesIn(paths, [
      {
        id: messageIdFor(message, session.id),
        kind: 'chat',
        timestamp: message.timestamp,
        trigger,
        platformId: chat.platformId,
        channelType: chat.channelType,
        threadId: message.threadId,
        content: {
          text: message.text,
          sender: {
            id: `${message.channelType}:${message.sender.id}`,
            name: message.sender.name,
            userId: sender.id,
          },
          attachments: [],
          replyTo: message.replyTo && { text: message.replyTo.text, sender: message.replyTo.sender },
          platformMessageId: message.platformMessageId,
          mentioned: message.mentioned,
        },
      },
    ]);
    log.debug({ sessionId: session.id, seq: written!.seq, trigger }, 'routed');
    return { sessionId: session.id, messageId: written!.id, seq: written!.seq, trigger };
  }

  function findOrCreateChat(message: InboundMessage, now: string): MessagingGroup {
    const auto = deps.autoWire?.[message.channelType];
    return db
      .transaction(() => {
        const { messagingGroup, created } = findOrCreateMessagingGroup(
          db,
          {
            channelType: message.channelType,
            platformId: message.chat.id,
            name: message.chat.name ?? null,
            isGroup: message.chat.isGroup,
            // An auto-wired channel is the operator's own door (web chat on loopback): open to its users.
            unknownSenderPolicy: auto ? 'public' : 'strict',
          },
          now,
        );
        if (created && auto)
          createWiring(db, { messagingGroupId: messagingGroup.id, agentGroupId: auto.agentGroupId }, now);
        return messagingGroup;
      })
      .immediate();
  }

  function findOrCreateSender(message: InboundMessage, now: string): User {
    const existing = findUserByIdentity(db, message.channelType, message.sender.id);
    if (existing) return existing;
    return db
      .transaction(() => {
        const user = createUser(
          db,
          { displayName: message.sender.name ?? null, kind: message.sender.isBot ? 'bot' : 'person' },
          now,
          'router',
        );
        addIdentity(
          db,
          { userId: user.id, kind: message.channelType, externalId: message.sender.id },
          'router',
          now,
        );
        return user;
      })
      .immediate();
  }

  function isKnown(user: User, agentGroupId: string): boolean {
    return isMember(db, user.id, agentGroupId) || isAdmin(db, user.id, agentGroupId);
  }

  function hasStickySession(wiring: Wiring, chat: MessagingGroup, message: InboundMessage): boolean {
    if (wiring.engageMode !== 'mention-sticky') return false;
    return !!findActiveSession(
      db,
      sessionKeyFor(wiring.sessionMode, wiring.agentGroupId, chat.id, message.threadId),
    );
  }

  function drop(message: InboundMessage, reason: DropReason, now: string): void {
    recordDroppedMessage(
      db,
      {
        channelType: message.channelType,
        chatId: message.chat.id,
        senderId: message.sender.id,
        reason,
        messageId: message.platformMessageId,
      },
      now,
    );
    log.info({ channel: message.channelType, chat: message.chat.id, reason }, 'message not routed');
  }
}

export type Verdict =
  { action: 'trigger' } | { action: 'accumulate' } | { action: 'drop'; reason: DropReason };

/**
 * What one wiring does with a message: pure, so every engage mode and policy is unit-tested.
 * Access comes first (unknown senders, sender scope), then engagement; a message that does not
 * engage is kept as context (accumulate) or dropped, as the wiring says.
 */
export function decide(
  wiring: Pick<Wiring, 'engageMode' | 'engagePattern' | 'senderScope' | 'ignoredMessagePolicy'>,
  chat: Pick<MessagingGroup, 'unknownSenderPolicy'>,
  message: Pick<InboundMessage, 'text' | 'mentioned'>,
  senderKnown: boolean,
  stickySessionExists: boolean,
): Verdict {
  // request_approval sends a card to the admins (approvals); until decided, the sender is not let in.
  if (!senderKnown && chat.unknownSenderPolicy !== 'public')
    return { action: 'drop', reason: 'unknown_sender' };
  if (wiring.senderScope === 'known' && !senderKnown) return { action: 'drop', reason: 'sender_not_known' };
  if (isEngaged(wiring, message, stickySessionExists)) return { action: 'trigger' };
  return wiring.ignoredMessagePolicy === 'accumulate'
    ? { action: 'accumulate' }
    : { action: 'drop', reason: 'not_engaged' };
}

function isEngaged(
  wiring: Pick<Wiring, 'engageMode' | 'engagePattern'>,
  message: Pick<InboundMessage, 'text' | 'mentioned'>,
  stickySessionExists: boolean,
): boolean {
  switch (wiring.engageMode) {
    case 'pattern':
      return new RegExp(wiring.engagePattern ?? '', 'i').test(message.text);
    case 'mention':
      return message.mentioned;
    case 'mention-sticky':
      return message.mentioned || stickySessionExists;
  }
}

/** One id per (platform message, session): routing the same message again writes nothing new. */
function messageIdFor(message: InboundMessage, sessionId: string): string {
  const digest = createHash('sha256')
    .update(
      [message.channelType, message.installation, message.chat.id, message.platformMessageId, sessionId].join(
        '\u0000',
      ),
    )
    .digest('base64url');
  return `in_${digest.slice(0, 24)}`;
}
