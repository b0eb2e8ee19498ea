// ask_user_question: the agent's `op: 'ask'` row becomes a question row and a card in the
// conversation. The first answer from someone allowed to answer (by default the person whose
// message the agent was answering; else the agent group's members and admins, or anyone in a public
// chat) reaches the agent as a system message; at its expiry the agent is told there was no answer.
// Either way the row is closed: a late answer is refused politely and leaves nothing due.
import { isDestinationAllowed } from '../access/index.ts';
import { appendAuditEvent } from '../../db/audit.ts';
import {
  answerQuestion,
  createQuestion,
  expireQuestion,
  getQuestion,
  listExpiredQuestions,
  type Question,
} from '../../db/approvals.ts';
import { getMessagingGroup } from '../../db/messaging-groups.ts';
import { isAdmin, isMember } from '../../db/roles.ts';
import { QUESTION_LIMITS } from '../../shared/session-content.ts';
import { getSession, type Session } from '../../db/sessions.ts';
import { getUser } from '../../db/users.ts';
import {
  recordDelivered,
  sessionPaths,
  withSessionFile,
  type OutboundRow,
  type SessionPaths,
} from '../sessions/index.ts';
import { isPastExpiry } from './decide.ts';
import type { Cards } from './cards.ts';
import type { ChatAddress } from './kinds/index.ts';
import { questionOptionValue } from './replies.ts';
import { tellAgent, type TellAgentDeps } from './tell-agent.ts';

export interface QuestionsDeps extends TellAgentDeps {
  cards: Cards;
}

/** Who answers: a user (checked against the question) or someone the host could not identify. */
export interface Answerer {
  userId: string | null;
  /** For the audit trail: the user id, or `<channel>:<sender id>`. */
  actor: string;
  name?: string;
}

export type AnswerOutcome =
  | { ok: true; question: Question }
  | { ok: false; code: 'not_found' | 'closed' | 'unauthorized' | 'invalid_option'; message: string };

export function createQuestions(deps: QuestionsDeps) {
  const { db, clock, log, cards } = deps;
  return { ask, answer, expireDue };

  /** Delivery hands over each `op: 'ask'` row; it is recorded in `delivered` here, once. */
  async function ask(sessionId: string, row: OutboundRow): Promise<void> {
    const session = getSession(db, sessionId);
    if (!session || row.op?.op !== 'ask') return;
    const paths = sessionPaths(deps.dataDir, session.agentGroupId, session.id);
    const op = row.op;
    const now = clock();
    const existing = getQuestion(db, op.questionId);
    if (existing && existing.sessionId !== sessionId) {
      return refuse(paths, sessionId, row, `question id ${op.questionId} is taken; ask again`);
    }
    const expiresAt = Date.parse(op.expiresAt);
    const longest = now.getTime() + QUESTION_LIMITS.maxTimeoutS * 1000;
    if (
      !(expiresAt > now.getTime()) ||
      expiresAt > longest ||
      op.options.length > QUESTION_LIMITS.maxOptions
    ) {
      return refuse(
        paths,
        sessionId,
        row,
        `a question needs 1-${QUESTION_LIMITS.maxOptions} options and an expiry from now up to ${QUESTION_LIMITS.maxTimeoutS} s ahead`,
      );
    }
    const address = addressOf(paths, row);
    if (!address) return refuse(paths, sessionId, row, 'the conversation has no address to ask in');
    if (!isDestinationAllowed(db, session, address)) {
      return refuse(
        paths,
        sessionId,
        row,
        `${address.channelType}:${address.platformId} is not this conversation nor one of the agent's destinations`,
      );
    }
    const question =
      existing ??
      createQuestion(
        db,
        {
          id: op.questionId,
          sessionId,
          messageOutSeq: row.seq,
          question: op.question,
          options: op.options,
          allowedUsers: askerOf(paths, row) ? [askerOf(paths, row)!] : null,
          expiresAt: op.expiresAt,
        },
        now.toISOString(),
      );
    const card = existing
      ? undefined // shown before a crash cut this short; not shown twice
      : await cards.send(
          { userId: null, ...address, chatId: address.platformId },
          {
            subject: { questionId: question.id },
            title: 'Question',
            body: question.question,
            options: question.options.map((o, i) => ({
              label: o.label,
              value: questionOptionValue(question.id, i + 1),
            })),
            textHint: 'Reply with the number of your answer.',
            payloadHash: null,
          },
        );
    recordDelivered(paths, {
      messageOutId: row.id,
      platformMessageId: card?.platformMessageId ?? null,
      status: 'delivered',
      deliveredAt: clock().toISOString(),
    });
    if (!existing && !card) {
      // Nobody can answer a question that was never shown: close it and say so at once.
      closeUnanswered(question, 'the question could not be shown in the conversation');
    }
  }

  async function answer(
    questionId: string,
    option: number,
    who: Answerer,
    replyTo: ChatAddress,
  ): Promise<AnswerOutcome> {
    const now = clock().toISOString();
    const question = getQuestion(db, questionId);
    const refuse = async (
      code: Exclude<AnswerOutcome, { ok: true }>['code'],
      message: string,
    ): Promise<AnswerOutcome> => {
      if (question) {
        appendAuditEvent(
          db,
          {
            actor: who.actor,
            action: 'question.answer_refused',
            targetKind: 'question',
            targetId: questionId,
            detail: { code },
          },
          now,
        );
      }
      await cards.tell(
        { ...replyTo, chatId: replyTo.platformId },
        message,
        `question:${questionId}:refused:${who.actor}:${now}`,
      );
      return { ok: false, code, message };
    };
    if (!question) return refuse('not_found', 'That question no longer exists.');
    if (question.status !== 'pending') {
      return refuse(
        'closed',
        `Thanks, but that question is closed (${question.status === 'answered' ? 'already answered' : 'no longer open'}); your answer was not passed on.`,
      );
    }
    if (isPastExpiry(question, now)) {
      closeUnanswered(question, 'no answer in time');
      await cards.closeAll(
        { questionId: question.id },
        `${question.question}\n\nNo answer in time; the question is closed.`,
      );
      return refuse(
        'closed',
        `Thanks, but that question expired at ${question.expiresAt}; your answer was not passed on.`,
      );
    }
    if (!mayAnswer(question, who.userId)) {
      return refuse(
        'unauthorized',
        'Sorry, this question is for someone else; your answer was not passed on.',
      );
    }
    const chosen = question.options[option - 1];
    if (!chosen)
      return refuse('invalid_option', `Please pick one of the options 1-${question.options.length}.`);
    if (!answerQuestion(db, question.id, chosen.value, who.userId ?? who.actor, now)) {
      return refuse('closed', 'Thanks, but that question was just closed; your answer was not passed on.');
    }
    appendAuditEvent(
      db,
      {
        actor: who.actor,
        action: 'question.answered',
        targetKind: 'question',
        targetId: question.id,
        detail: { option },
      },
      now,
    );
    const by = who.name ?? (who.userId ? getUser(db, who.userId)?.displayName : null) ?? who.actor;
    tellAgent(
      deps,
      question.sessionId,
      {
        event: 'question_answered',
        questionId: question.id,
        question: question.question,
        answer: chosen.value,
        label: chosen.label,
        answeredBy: { userId: who.userId, name: by },
      },
      `question:${question.id}:answered`,
    );
    await cards.closeAll(
      { questionId: question.id },
      `${question.question}\n\nAnswered "${chosen.label}" by ${by}.`,
    );
    return { ok: true, question: getQuestion(db, question.id)! };
  }

  /** The sweep: questions whose time is up are closed and their agents told; an index read. */
  async function expireDue(limit = 50): Promise<number> {
    const due = listExpiredQuestions(db, clock().toISOString(), limit);
    for (const question of due) closeUnanswered(question, 'no answer in time');
    await Promise.all(
      due.map((q) =>
        cards.closeAll({ questionId: q.id }, `${q.question}\n\nNo answer in time; the question is closed.`),
      ),
    );
    return due.length;
  }

  function closeUnanswered(question: Question, reason: string): void {
    if (!expireQuestion(db, question.id)) return;
    appendAuditEvent(
      db,
      {
        actor: 'expiry',
        action: 'question.expired',
        targetKind: 'question',
        targetId: question.id,
        detail: { reason },
      },
      clock().toISOString(),
    );
    tellAgent(
      deps,
      question.sessionId,
      { event: 'question_expired', questionId: question.id, question: question.question, reason },
      `question:${question.id}:expired`,
    );
  }

  function mayAnswer(question: Question, userId: string | null): boolean {
    if (!userId) return false;
    const user = getUser(db, userId);
    if (!user || user.status === 'suspended') return false;
    if (question.allowedUsers) return question.allowedUsers.includes(userId);
    const session = getSession(db, question.sessionId);
    if (!session) return false;
    return (
      isMember(db, userId, session.agentGroupId) ||
      isAdmin(db, userId, session.agentGroupId) ||
      chatIsPublic(session)
    );
  }

  function chatIsPublic(session: Session): boolean {
    const chat = session.messagingGroupId ? getMessagingGroup(db, session.messagingGroupId) : undefined;
    return chat?.unknownSenderPolicy === 'public';
  }

  function refuse(paths: SessionPaths, sessionId: string, row: OutboundRow, error: string): void {
    log.warn({ sessionId, messageOutId: row.id, error }, 'question refused; the agent is told');
    recordDelivered(paths, {
      messageOutId: row.id,
      platformMessageId: null,
      status: 'failed',
      deliveredAt: clock().toISOString(),
    });
    tellAgent(
      deps,
      sessionId,
      { event: 'question_refused', messageOutId: row.id, seq: row.seq, error },
      `question-refused:${row.id}`,
    );
  }
}

/** The row's address, else the session's default one. */
function addressOf(paths: SessionPaths, row: OutboundRow): ChatAddress | undefined {
  if (row.channel_type && row.platform_id) {
    return { channelType: row.channel_type, platformId: row.platform_id, threadId: row.thread_id };
  }
  const routing = withSessionFile(paths, 'inbound', 'read', (db) =>
    db.prepare('SELECT channel_type, platform_id, thread_id FROM session_routing WHERE id = 1').get(),
  ) as { channel_type: string | null; platform_id: string | null; thread_id: string | null } | undefined;
  if (!routing?.channel_type || !routing.platform_id) return undefined;
  return { channelType: routing.channel_type, platformId: routing.platform_id, threadId: routing.thread_id };
}

/** The user whose message the agent was answering when it asked, if it was a person's message. */
function askerOf(paths: SessionPaths, row: OutboundRow): string | undefined {
  if (!row.in_reply_to) return undefined;
  const userId = withSessionFile(paths, 'inbound', 'read', (db) =>
    db
      .prepare(
        "SELECT json_extract(content, '$.sender.userId') FROM messages_in WHERE id = ? AND kind = 'chat'",
      )
      .pluck()
      .get(row.in_reply_to),
  ) as string | null | undefined;
  return userId ?? undefined;
}

export type Questions = ReturnType<typeof createQuestions>;
