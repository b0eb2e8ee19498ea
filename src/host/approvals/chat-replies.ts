// Card clicks and typed replies arriving from chats, before routing: a click on a card option, the
// option's value typed back (the terminal chat does that), a number answering the chat's last
// numbered card, or "approve|reject <id>". They are decisions or answers, never messages for an
// agent; each is checked against who the card was shown to, and where.
import { findLastNumberedCard, listCards } from '../../db/approval-cards.ts';
import { getApproval } from '../../db/approvals.ts';
import { appendAuditEvent } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import { findUserByIdentity, getUser, type User } from '../../db/users.ts';
import type { InboundMessage } from '../channels/index.ts';
import type { Logger } from '../logger.ts';
import type { Cards } from './cards.ts';
import type { DecisionInput, DecisionOutcome, DecisionVia } from './index.ts';
import type { Questions } from './questions.ts';
import { parseOptionValue, parseTextReply, type OptionIntent } from './replies.ts';

/** A typed "1" answers the last numbered card of the chat for this long after it was closed (to refuse it). */
const LATE_REPLY_WINDOW_MS = 24 * 3_600_000;

export interface ChatRepliesDeps {
  db: Db;
  clock: () => Date;
  log: Logger;
  cards: Cards;
  questions: Pick<Questions, 'answer'>;
  submitDecision(input: DecisionInput): Promise<DecisionOutcome>;
}

/** What a message means as a reply to a card: an intent, nothing (route it), or already answered. */
type ReadReply = { intent: OptionIntent; via: DecisionVia; note?: string } | 'not_a_reply' | 'answered';

type RefusalReason = 'not_signed_in' | 'card_not_shown_here' | 'card_not_shown_to_decider';

/** True when the message was a click or reply to a card (consumed: do not route it). */
export async function interceptCardReply(deps: ChatRepliesDeps, message: InboundMessage): Promise<boolean> {
  const reply = await readReply(deps, message);
  if (reply === 'not_a_reply') return false;
  if (reply === 'answered') return true;
  const { intent, via, note } = reply;
  // Who clicked, as the channel authenticated them (DESIGN §10), never as a body field claims.
  const user = message.sender.userId
    ? getUser(deps.db, message.sender.userId)
    : findUserByIdentity(deps.db, message.channelType, message.sender.id);
  const actor = user?.id ?? `${message.channelType}:${message.sender.id}`;
  if (intent.type === 'question') {
    // A question is answered in the conversation it was asked in, nowhere else.
    if (!shownIn(deps.db, { questionId: intent.questionId }, message)) {
      await refuseClick(
        deps,
        message,
        { actor, kind: 'question', id: intent.questionId, via },
        'card_not_shown_here',
      );
      return true;
    }
    const chat = {
      channelType: message.channelType,
      platformId: message.chat.id,
      threadId: message.threadId,
    };
    await deps.questions.answer(
      intent.questionId,
      intent.option,
      { userId: user?.id ?? null, actor, name: message.sender.name },
      chat,
    );
    return true;
  }
  await decideFromChat(deps, message, { ...intent, user, actor, via, note });
  return true;
}

/**
 * An approval card is decided only by the person it was sent to, from the chat it was shown in;
 * their role is then checked again by applyDecision, inside the transaction. Checked before
 * anything changes: a replayed option value from anyone else is refused here.
 */
async function decideFromChat(
  deps: ChatRepliesDeps,
  message: InboundMessage,
  click: Extract<OptionIntent, { type: 'approval' }> & {
    user: User | undefined;
    actor: string;
    via: DecisionVia;
    note?: string;
  },
): Promise<void> {
  const { user, actor, via } = click;
  if (
    !user ||
    message.sender.anonymous ||
    !shownIn(deps.db, { approvalId: click.approvalId }, message, user.id)
  ) {
    const reason = !user || message.sender.anonymous ? 'not_signed_in' : 'card_not_shown_to_decider';
    await refuseClick(deps, message, { actor, kind: 'approval', id: click.approvalId, via }, reason);
    return;
  }
  const outcome = await deps.submitDecision({
    approvalId: click.approvalId,
    decision: click.decision,
    decider: { userId: user.id },
    payloadHash: click.payloadHash,
    ...(click.choice ? { choice: click.choice } : {}),
    ...(click.note ? { note: click.note } : {}),
    via,
  });
  if (!outcome.ok) await answerChat(deps, message, refusalText(outcome));
}

/** An option value (clicked or typed back), else a typed number or command resolved against the chat's cards. */
async function readReply(deps: ChatRepliesDeps, message: InboundMessage): Promise<ReadReply> {
  const clicked = parseOptionValue(message.action?.value ?? message.text);
  if (clicked) return { intent: clicked, via: 'card' };
  const reply = parseTextReply(message.text);
  if (!reply) return 'not_a_reply';
  if (reply.type === 'number') {
    const since = new Date(deps.clock().getTime() - LATE_REPLY_WINDOW_MS).toISOString();
    const card = findLastNumberedCard(deps.db, message.channelType, message.chat.id, since);
    if (!card) return 'not_a_reply';
    const value = card.options[reply.n - 1];
    if (!value) {
      await answerChat(deps, message, `Please reply with a number from 1 to ${card.options.length}.`);
      return 'answered';
    }
    const intent = parseOptionValue(value);
    return intent ? { intent, via: 'text' } : 'not_a_reply';
  }
  const approval = getApproval(deps.db, reply.approvalId);
  if (!approval && !reply.approvalId.startsWith('apr_')) return 'not_a_reply';
  const shown = approval
    ? listCards(deps.db, { approvalId: approval.id }).filter(
        (c) => c.channelType === message.channelType && c.chatId === message.chat.id,
      )
    : [];
  const seen = shown.at(-1)?.payloadHash;
  if (!approval || !seen) {
    await answerChat(
      deps,
      message,
      `No card for ${reply.approvalId} was shown in this chat; decide it with \`warren approvals\` or the admin API.`,
    );
    return 'answered';
  }
  return {
    intent: { type: 'approval', approvalId: approval.id, decision: reply.decision, payloadHash: seen },
    via: 'text',
    ...(reply.note ? { note: reply.note } : {}),
  };
}

/**
 * Whether a card of the subject was shown in the message's chat (and, given a user, to that user):
 * a click or reply from anywhere else is no answer to it.
 */
function shownIn(
  db: Db,
  subject: { approvalId: string } | { questionId: string },
  message: InboundMessage,
  userId?: string,
): boolean {
  return listCards(db, subject).some(
    (card) =>
      card.channelType === message.channelType &&
      card.chatId === message.chat.id &&
      (userId === undefined || card.userId === userId),
  );
}

/** A click or reply that is nobody's to make here: audited, answered politely, nothing changed. */
async function refuseClick(
  deps: ChatRepliesDeps,
  message: InboundMessage,
  click: { actor: string; kind: 'approval' | 'question'; id: string; via: DecisionVia },
  reason: RefusalReason,
): Promise<void> {
  const { actor, kind, id, via } = click;
  const approval = kind === 'approval' ? getApproval(deps.db, id) : undefined;
  appendAuditEvent(
    deps.db,
    {
      actor,
      action: kind === 'approval' ? 'approval.decision_refused' : 'question.answer_refused',
      targetKind: kind,
      targetId: id,
      payloadHash: approval?.payloadHash ?? null,
      detail: { code: 'unauthorized', via, reason, channel: message.channelType },
    },
    deps.clock().toISOString(),
  );
  deps.log.warn({ kind, id, reason, channel: message.channelType }, 'card click refused');
  await answerChat(
    deps,
    message,
    reason === 'not_signed_in'
      ? 'Sorry, only a signed-in person this card was sent to can decide it. Nothing was changed.'
      : 'Sorry, this card was not shown to you in this chat, so your choice was not applied. Nothing was changed.',
  );
}

/**
 * Answers in the chat: a typed reply is answered; a click is not a message one can reply to (on
 * Telegram its id is the callback query's), so the answer points at the card that was clicked.
 */
async function answerChat(deps: ChatRepliesDeps, message: InboundMessage, text: string): Promise<void> {
  const inReplyTo = message.action ? (message.action.platformMessageId ?? null) : message.platformMessageId;
  await deps.cards.tell(
    { channelType: message.channelType, chatId: message.chat.id, threadId: message.threadId },
    text,
    `reply:${message.chat.id}:${message.platformMessageId}`,
    inReplyTo,
  );
}

function refusalText(outcome: Extract<DecisionOutcome, { ok: false }>): string {
  switch (outcome.code) {
    case 'unauthorized':
      return `Sorry, ${outcome.error.replace(/^you may not decide this approval: /, 'you may not decide this: ')}. Nothing was changed.`;
    case 'already_decided':
      return `This was already decided: ${outcome.error}.`;
    case 'payload_changed':
      return `Not applied: ${outcome.error}.`;
    default:
      return `Not applied: ${outcome.error}.`;
  }
}
