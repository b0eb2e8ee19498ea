// Sending cards for approvals and questions, and updating them once they are settled. Degradation
// is the host's job (DESIGN §5): a channel without Buttons, or a card with more options than the
// channel shows as buttons, gets the card as text with numbered options, and a reply "1", "2" … in
// that chat picks one; a channel without Edit gets a short follow-up message instead of an edited card.
import {
  closeCard,
  listCards,
  recordCard,
  setCardMessageId,
  type ApprovalCard,
} from '../../db/approval-cards.ts';
import type { Db } from '../../db/connection.ts';
import {
  hasCapability,
  type Channel,
  type OutboundMessage,
  type ChannelRegistry,
} from '../channels/index.ts';
import type { SendHostMessage } from '../delivery/index.ts';
import type { Logger } from '../logger.ts';
import type { CardTarget } from './approvers.ts';

export interface CardSpec {
  subject: { approvalId: string } | { questionId: string };
  title: string;
  body: string;
  /** `url`: a signed page that decides the option, shown beside it where there are no buttons. */
  options: { label: string; value: string; url?: string }[];
  /** Shown under numbered options on channels without buttons (how else to answer). */
  textHint: string;
  /** The payload hash this card shows (approvals). */
  payloadHash: string | null;
}

export interface CardsDeps {
  db: Db;
  /** To know what a chat's channel can show (buttons, edits). */
  channels: ChannelRegistry;
  /** Every card and notice goes out through delivery's notices, recorded in delivery_attempts. */
  send: SendHostMessage;
  clock: () => Date;
  log: Logger;
}

export function createCards(deps: CardsDeps) {
  const { db, log, clock } = deps;
  return { send, closeAll, tell };

  /** Sends one card; undefined (logged) when the channel is missing or refuses it. */
  async function send(target: CardTarget, spec: CardSpec): Promise<ApprovalCard | undefined> {
    const channel = channelOf(deps, target.channelType);
    if (!channel) return undefined;
    const numbered =
      !hasCapability(channel.capabilities, 'Buttons') ||
      spec.options.length > (channel.maxButtons ?? Infinity);
    const card = recordCard(db, {
      approvalId: 'approvalId' in spec.subject ? spec.subject.approvalId : null,
      questionId: 'questionId' in spec.subject ? spec.subject.questionId : null,
      userId: target.userId,
      channelType: target.channelType,
      chatId: target.chatId,
      threadId: target.threadId,
      payloadHash: spec.payloadHash,
      numbered,
      options: spec.options.map((o) => o.value),
      sentAt: clock().toISOString(),
    });
    const sent = await deps.send(target.channelType, cardMessage(card.id, target, spec, numbered));
    if (!sent.ok) {
      // Not shown: a reply in that chat must not be taken for an answer to it.
      closeCard(db, card.id, clock().toISOString());
      log.warn({ channel: target.channelType, chat: target.chatId, card: card.id }, 'card not sent');
      return undefined;
    }
    setCardMessageId(db, card.id, sent.platformMessageId);
    return { ...card, platformMessageId: sent.platformMessageId };
  }

  /** Marks every open card of the subject settled: edited where the channel can, else a follow-up. */
  async function closeAll(
    subject: { approvalId: string } | { questionId: string },
    text: string,
  ): Promise<void> {
    for (const card of listCards(db, subject)) {
      if (card.closedAt || !closeCard(db, card.id, clock().toISOString())) continue;
      const channel = channelOf(deps, card.channelType);
      if (!channel) continue;
      const message = closedCardMessage(card, text, hasCapability(channel.capabilities, 'Edit'));
      const sent = await deps.send(card.channelType, message);
      if (!sent.ok)
        log.warn({ channel: card.channelType, chat: card.chatId, card: card.id }, 'card not updated');
    }
  }

  /** A plain message from the host to a chat; `key` makes a repeat a no-op on channels that can. */
  async function tell(
    target: Omit<CardTarget, 'userId'>,
    text: string,
    key: string,
    inReplyTo: string | null = null,
  ): Promise<boolean> {
    const message = {
      kind: 'send' as const,
      idempotencyKey: `notice:${key}`,
      chatId: target.chatId,
      threadId: target.threadId,
      text,
      inReplyTo,
      files: [],
    };
    return (await deps.send(target.channelType, message)).ok;
  }
}

function channelOf(deps: CardsDeps, type: string): Channel | undefined {
  try {
    return deps.channels.get(type);
  } catch (err) {
    deps.log.warn({ err, channel: type }, 'no such channel; card or notice not sent');
    return undefined;
  }
}

/** A card as the channel gets it: with buttons, or as numbered text where it has none. */
function cardMessage(
  cardId: ApprovalCard['id'],
  target: CardTarget,
  spec: CardSpec,
  numbered: boolean,
): OutboundMessage {
  const base = {
    kind: 'send' as const,
    idempotencyKey: `card:${cardId}`,
    chatId: target.chatId,
    threadId: target.threadId,
    inReplyTo: null,
    files: [],
  };
  return numbered
    ? { ...base, text: numberedText(spec) }
    : {
        ...base,
        text: '',
        card: {
          title: spec.title,
          body: spec.body,
          options: spec.options.map(({ label, value }) => ({ label, value })),
        },
      };
}

/** A settled card: edited to `text` where the channel can, else a follow-up answering it. */
function closedCardMessage(card: ApprovalCard, text: string, canEdit: boolean): OutboundMessage {
  const base = { idempotencyKey: `card:${card.id}:closed`, chatId: card.chatId, threadId: card.threadId };
  return card.platformMessageId && canEdit
    ? { ...base, kind: 'edit', targetPlatformMessageId: card.platformMessageId, text }
    : { ...base, kind: 'send', text, inReplyTo: card.platformMessageId, files: [] };
}

/** A card as text: title, body, numbered options, and how to answer. */
export function numberedText(spec: Pick<CardSpec, 'title' | 'body' | 'options' | 'textHint'>): string {
  const options = spec.options.map((o, i) => `${i + 1}. ${o.label}${o.url ? `: ${o.url}` : ''}`).join('\n');
  return [`**${spec.title}**`, spec.body, options, spec.textHint].filter(Boolean).join('\n\n');
}

export type Cards = ReturnType<typeof createCards>;
