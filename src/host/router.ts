// Inbound message -> messaging group -> wirings -> session rows (DESIGN §4 step 2).
// Every message ends routed, a duplicate, a control command (never an agent's business), held for an
// approval, or recorded in dropped_messages: nothing disappears. Who may talk is src/host/access.
import { createHash } from 'node:crypto';
import { getAgentGroupByFolder } from '../db/agent-groups.ts';
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
import { findActiveSession } from '../db/sessions.ts';
import { getUser, type User } from '../db/users.ts';
import { createWiring, listWiringsForMessagingGroup, type Wiring } from '../db/wirings.ts';
import {
  applyControl,
  decideAccess,
  hasDecider,
  loadAccessFacts,
  newChannelRequest,
  newSenderRequest,
  parseControl,
  rememberDirectChat,
  userForAccount,
  wasRejected,
  type Account,
  type ApprovalRequester,
  type ControlCommand,
  type ControlResult,
} from './access/index.ts';
import type { InboundMessage } from './channels/index.ts';
import { DEFAULT_GROUP_FOLDER } from './data-folder.ts';
import type { Say } from './delivery/index.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics/index.ts';
import {
  DEFAULT_ATTACHMENT_LIMITS,
  insertMessagesIn,
  resolveSession,
  sessionKeyFor,
  storeInboxFiles,
  type AttachmentLimits,
} from './sessions/index.ts';

/**
 * Web chat and terminal chats are the operator's own doors (loopback, signed in or local): with
 * auto-wiring on, a chat of theirs seen for the first time is wired to the main agent group.
 */
const OPERATOR_CHANNELS: ReadonlySet<string> = new Set(['webchat', 'cli']);

export interface RouterDeps {
  db: Db;
  dataDir: string;
  clock: () => Date;
  log: Logger;
  /**
   * Called for each session that received a message that should start a turn, with the message's
   * correlation id (its messages_in id, src/shared/correlation.ts) for the container's start line.
   */
  wake: (sessionId: string, corr?: string) => void;
  /** Wire new operator chats (web chat, terminal) to the main agent group (`autoWire` in the config). */
  autoWire?: boolean;
  /** How long an unprocessed dedup claim blocks a redelivery before it may be taken over. */
  claimStaleAfterMs?: number;
  /**
   * The approvals engine: unknown senders in request_approval chats and mentions in unwired chats are
   * held for a decision. Without it (or without anyone who could decide) they are dropped: fail closed.
   */
  approvals?: ApprovalRequester;
  /**
   * Card clicks and replies to cards are decisions or answers (approvals/), never messages for an
   * agent: true = consumed. Asked after the dedup claim, so a redelivered click is a duplicate.
   */
  intercept?: (message: InboundMessage) => Promise<boolean>;
  /** Sends the host's own answer to a control command (`/link`) to a chat, recorded as a host notice. */
  say?: Say;
  /** How long a `/link` code is valid (at most 15 minutes). */
  bindingCodeTtlMs?: number;
  /** Caps on the files of one message (config `attachments`); larger files are named, not stored. */
  attachments?: AttachmentLimits;
  /** Counts what became of each message (metrics/). */
  metrics?: Pick<Metrics, 'routed'>;
}

export type RouteOutcome =
  | { status: 'duplicate' }
  | { status: 'intercepted' }
  | { status: 'control'; outcome: ControlResult['outcome'] }
  | { status: 'held'; approvalId: string }
  | { status: 'dropped'; reason: DropReason }
  | { status: 'routed'; sessions: { sessionId: string; messageId: string; seq: number; trigger: boolean }[] };

type Routed = Extract<RouteOutcome, { status: 'routed' }>['sessions'];

/** A replay (after an approval) routes what is now allowed and never asks for another approval. */
interface Pass {
  replay: boolean;
}

export function createRouter(deps: RouterDeps) {
  const { db, clock } = deps;
  return { route, replay };

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
      deps.metrics?.routed({ status: 'duplicate' }, false);
      return { status: 'duplicate' };
    }
    try {
      const outcome: RouteOutcome = (await deps.intercept?.(message))
        ? { status: 'intercepted' }
        : await routeClaimed(deps, message, now, { replay: false });
      markInboundProcessed(db, key, token, clock().toISOString());
      finish(deps, message, outcome, now, false);
      return outcome;
    } catch (err) {
      // Give the claim back: the sender's retry must be routed, not taken for a duplicate.
      releaseInboundClaim(db, key, token);
      throw err;
    }
  }

  /**
   * Routes a message the approvals engine held, once it is approved: past the dedup claim (the
   * original holds it) but still idempotent, since a message's row id in a session is derived from
   * the message, so replaying it twice writes it once.
   */
  async function replay(message: InboundMessage): Promise<RouteOutcome> {
    const now = clock().toISOString();
    const outcome = await routeClaimed(deps, message, now, { replay: true });
    finish(deps, message, outcome, now, true);
    return outcome;
  }
}

export type Router = ReturnType<typeof createRouter>;

/** A dropped message is recorded; a session that received a triggering one is woken; both counted. */
function finish(
  deps: RouterDeps,
  message: InboundMessage,
  outcome: RouteOutcome,
  now: string,
  replay: boolean,
): void {
  deps.metrics?.routed(outcome, replay);
  if (outcome.status === 'dropped') recordDrop(deps, message, outcome.reason, now);
  else if (outcome.status === 'routed')
    for (const s of outcome.sessions) if (s.trigger) deps.wake(s.sessionId, s.messageId);
}

/** Past the dedup claim: the chat, a control command, then one verdict per wiring of the chat. */
async function routeClaimed(
  deps: RouterDeps,
  message: InboundMessage,
  now: string,
  pass: Pass,
): Promise<RouteOutcome> {
  const { db } = deps;
  const chat = findOrCreateChat(deps, message, now);
  if (chat.deniedAt) return { status: 'dropped', reason: 'chat_denied' };
  const control = parseControl(message.text);
  if (control) return runControl(deps, control, message, chat, now);
  const wirings = listWiringsForMessagingGroup(db, chat.id);
  if (wirings.length === 0) return unwired(deps, message, chat, now, pass);
  const sender = senderOf(db, message, chat, now);
  if (sender.status === 'suspended' || sender.mergedInto)
    return { status: 'dropped', reason: 'user_suspended' };

  const routed: Routed = [];
  const unknownTo: string[] = [];
  let firstRefusal: DropReason | undefined;
  const facts = accessFactsOf(db, message, sender); // read once, decided per wiring
  for (const wiring of wirings) {
    const known = decideAccess(facts, { kind: 'message', agentGroupId: wiring.agentGroupId }).allowed;
    const verdict = decide(wiring, chat, message, known, hasStickySession(db, wiring, chat, message));
    if (verdict.action === 'hold') {
      unknownTo.push(wiring.agentGroupId);
      firstRefusal ??= 'unknown_sender';
    } else if (verdict.action === 'drop') firstRefusal ??= verdict.reason;
    else routed.push(writeToSession(deps, message, chat, wiring, sender, verdict.action === 'trigger', now));
  }
  if (unknownTo.length > 0 && !pass.replay) {
    if (wasRejected(db, chat.id, sender.id)) firstRefusal = 'sender_rejected';
    else {
      const held = await hold(deps, message, newSenderRequest(message, chat, sender, unknownTo[0]!));
      if (held && routed.length === 0) return held;
    }
  }
  if (routed.length === 0) return { status: 'dropped', reason: firstRefusal ?? 'not_engaged' };
  return { status: 'routed', sessions: routed };
}

/** No agent answers here. A mention asks the admins to connect the chat (one card per chat). */
async function unwired(
  deps: RouterDeps,
  message: InboundMessage,
  chat: MessagingGroup,
  now: string,
  pass: Pass,
): Promise<RouteOutcome> {
  if (!message.mentioned || pass.replay || !deps.approvals || !hasDecider(deps.db, null))
    return { status: 'dropped', reason: 'no_wiring' };
  const sender = senderOf(deps.db, message, chat, now);
  if (sender.status === 'suspended' || sender.mergedInto)
    return { status: 'dropped', reason: 'user_suspended' };
  return (
    (await hold(deps, message, newChannelRequest(message, chat, sender))) ?? {
      status: 'dropped',
      reason: 'no_wiring',
    }
  );
}

/**
 * Asks the engine to hold the message for a decision; undefined when nobody could decide (the
 * caller drops it) or the engine refused. The engine keeps one pending card per dedupe key.
 */
async function hold(
  deps: RouterDeps,
  message: InboundMessage,
  request: Parameters<ApprovalRequester['request']>[0],
): Promise<RouteOutcome | undefined> {
  if (!deps.approvals || !hasDecider(deps.db, request.agentGroupId ?? null)) return undefined;
  const result = await deps.approvals.request(request);
  if (!result.ok) {
    deps.log.warn({ kind: request.kind, error: result.error }, 'approval request refused; message dropped');
    return undefined;
  }
  // Not in a session yet, so no correlation id: the platform's message id names it until it is routed.
  deps.log.info(
    {
      kind: request.kind,
      approvalId: result.approval.id,
      newApproval: result.created,
      channel: message.channelType,
      chat: message.chat.id,
      platformMessageId: message.platformMessageId,
    },
    'message held for approval',
  );
  return { status: 'held', approvalId: result.approval.id };
}

/** `/link` and friends: answered by the host itself, never routed to an agent. */
async function runControl(
  deps: RouterDeps,
  command: ControlCommand,
  message: InboundMessage,
  chat: MessagingGroup,
  now: string,
): Promise<RouteOutcome> {
  const { db, log } = deps;
  const sender = senderOf(db, message, chat, now);
  if (message.sender.anonymous || message.sender.userId) return refuseControlInWebChat(deps, message, chat);
  const result = applyControl(command, {
    db,
    now: new Date(now),
    codeTtlMs: deps.bindingCodeTtlMs ?? 10 * 60_000,
    chat,
    account: accountOf(message),
    threadId: message.threadId,
    sender,
  });
  log.info(
    { channel: message.channelType, outcome: result.outcome, userId: result.userId },
    'control command',
  );
  const key = `control:${chat.id}:${message.platformMessageId}`;
  const sent = await deps.say?.(result.reply.to, result.reply.text, key);
  if (!sent) log.warn({ channel: message.channelType, chat: chat.id }, 'control command answer not sent');
  return { status: 'control', outcome: result.outcome };
}

/**
 * An anonymous handle is anyone's to claim; and a web chat's event stream can be opened by anyone
 * who knows the chat's name, so a code shown there would be theirs too.
 */
async function refuseControlInWebChat(
  deps: RouterDeps,
  message: InboundMessage,
  chat: MessagingGroup,
): Promise<RouteOutcome> {
  const key = `control:${chat.id}:${message.platformMessageId}`;
  await deps.say?.(
    { channelType: chat.channelType, chatId: chat.platformId, threadId: message.threadId },
    message.sender.anonymous
      ? 'Sign in first (ask the operator for `warren login-link`); /link is not available to anonymous visitors.'
      : '/link is not available in web chat: ask the operator to run `warren users bind-code USER`.',
    key,
  );
  return { status: 'control', outcome: 'refused_web_chat' };
}

/**
 * An anonymous visitor's handle is anyone's to claim: it never holds an owner or admin role,
 * whatever was granted to its account. It may be a member (an admin let that handle in, in that
 * chat, through a new_sender card), so request_approval chats work for visitors too.
 */
function accessFactsOf(db: Db, message: InboundMessage, sender: User) {
  const facts = loadAccessFacts(db, sender.id);
  return message.sender.anonymous && facts ? { ...facts, roles: [] } : facts;
}

function senderOf(db: Db, message: InboundMessage, chat: MessagingGroup, now: string): User {
  // A channel that authenticated the sender (web chat sign-in, a token) names the user itself.
  const authenticated = message.sender.userId ? getUser(db, message.sender.userId) : undefined;
  const user = authenticated ?? userForAccount(db, accountOf(message), now);
  rememberDirectChat(db, user.id, chat, now);
  return user;
}

/** Writes the message into the wiring's session (resolved or created); idempotent per message and session. */
function writeToSession(
  deps: RouterDeps,
  message: InboundMessage,
  chat: MessagingGroup,
  wiring: Wiring,
  sender: User,
  trigger: boolean,
  now: string,
): Routed[number] {
  const key = sessionKeyFor(wiring.sessionMode, wiring.agentGroupId, chat.id, message.threadId);
  const routing = {
    channelType: chat.channelType,
    platformId: chat.platformId,
    threadId: message.threadId,
  };
  const { session, paths } = resolveSession(deps.db, deps.dataDir, key, routing, now);
  const id = messageIdFor(message, session.id);
  // Files first: the row the agent reads never names a file that is not there yet.
  const inbox = storeInboxFiles(
    paths,
    id,
    message.attachments,
    deps.attachments ?? DEFAULT_ATTACHMENT_LIMITS,
  );
  const [written] = insertMessagesIn(paths, [
    {
      id,
      kind: 'chat',
      timestamp: message.timestamp,
      trigger,
      platformId: chat.platformId,
      channelType: chat.channelType,
      threadId: message.threadId,
      content: {
        text: [message.text, ...inbox.refused].filter((line) => line.length > 0).join('\n'),
        sender: {
          id: `${message.channelType}:${message.sender.id}`,
          name: message.sender.name,
          userId: sender.id,
        },
        attachments: inbox.attachments,
        replyTo: message.replyTo && { text: message.replyTo.text, sender: message.replyTo.sender },
        // A click is no message to answer (Telegram's id is a callback query's): replies go to the card.
        platformMessageId: message.action?.platformMessageId ?? message.platformMessageId,
        mentioned: message.mentioned,
      },
    },
  ]);
  // From here on the message is followed by its row id in the session (`corr`, src/shared/correlation.ts):
  // the platform's id is logged with it once, to go from what a chat or `warren dropped` shows to it.
  deps.log.info(
    {
      corr: written!.id,
      sessionId: session.id,
      seq: written!.seq,
      trigger,
      channel: chat.channelType,
      platformMessageId: message.platformMessageId,
    },
    'routed',
  );
  return { sessionId: session.id, messageId: written!.id, seq: written!.seq, trigger };
}

function findOrCreateChat(deps: RouterDeps, message: InboundMessage, now: string): MessagingGroup {
  const { db } = deps;
  const autoWired = deps.autoWire === true && OPERATOR_CHANNELS.has(message.channelType);
  return db
    .transaction(() => {
      const main = autoWired ? getAgentGroupByFolder(db, DEFAULT_GROUP_FOLDER) : undefined;
      const { messagingGroup, created } = findOrCreateMessagingGroup(
        db,
        {
          channelType: message.channelType,
          platformId: message.chat.id,
          name: message.chat.name ?? null,
          isGroup: message.chat.isGroup,
          // An auto-wired channel is the operator's own door (web chat on loopback): open to its users.
          unknownSenderPolicy: main ? 'public' : 'strict',
        },
        now,
      );
      if (created && main)
        createWiring(db, { messagingGroupId: messagingGroup.id, agentGroupId: main.id }, now);
      return messagingGroup;
    })
    .immediate();
}

function hasStickySession(db: Db, wiring: Wiring, chat: MessagingGroup, message: InboundMessage): boolean {
  if (wiring.engageMode !== 'mention-sticky') return false;
  return !!findActiveSession(
    db,
    sessionKeyFor(wiring.sessionMode, wiring.agentGroupId, chat.id, message.threadId),
  );
}

function recordDrop(deps: RouterDeps, message: InboundMessage, reason: DropReason, now: string): void {
  recordDroppedMessage(
    deps.db,
    {
      channelType: message.channelType,
      chatId: message.chat.id,
      senderId: message.sender.id,
      reason,
      messageId: message.platformMessageId,
    },
    now,
  );
  // No session got it, so there is no correlation id: the platform's message id names it.
  deps.log.info(
    {
      channel: message.channelType,
      chat: message.chat.id,
      platformMessageId: message.platformMessageId,
      reason,
    },
    'message not routed',
  );
}

function accountOf(message: InboundMessage): Account {
  return {
    kind: message.channelType,
    externalId: message.sender.id,
    name: message.sender.name,
    isBot: message.sender.isBot,
  };
}

export type Verdict =
  | { action: 'trigger' }
  | { action: 'accumulate' }
  /** An unknown sender in a request_approval chat, addressing the agent: held until an admin decides. */
  | { action: 'hold' }
  | { action: 'drop'; reason: DropReason };

/**
 * What one wiring does with a message: pure, so every engage mode and policy is unit-tested.
 * Access comes first (unknown senders, sender scope), then engagement; a message that does not
 * engage is kept as context (accumulate) or dropped, as the wiring says. "Known" means the sender
 * may message the wiring's agent group (member, its admin, a global admin or the owner).
 */
export function decide(
  wiring: Pick<Wiring, 'engageMode' | 'engagePattern' | 'senderScope' | 'ignoredMessagePolicy'>,
  chat: Pick<MessagingGroup, 'unknownSenderPolicy'>,
  message: Pick<InboundMessage, 'text' | 'mentioned'>,
  senderKnown: boolean,
  stickySessionExists: boolean,
): Verdict {
  if (!senderKnown && chat.unknownSenderPolicy === 'strict')
    return { action: 'drop', reason: 'unknown_sender' };
  // Only a message that would start a turn asks the admins: chatter in a group never makes a card.
  if (!senderKnown && chat.unknownSenderPolicy === 'request_approval')
    return isEngaged(wiring, message, stickySessionExists)
      ? { action: 'hold' }
      : { action: 'drop', reason: 'unknown_sender' };
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
