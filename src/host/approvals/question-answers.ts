// An answer to a question, from its card: the first from someone allowed to answer (by default the
// person whose message the agent was answering; else the agent group's members and admins, or anyone
// in a public chat) reaches the agent as a system message. Any other is refused politely.
import { answerQuestion, getQuestion, type Question } from '../../db/approvals.ts';
import { appendAuditEvent } from '../../db/audit.ts';
import { getMessagingGroup } from '../../db/messaging-groups.ts';
import { isAdmin, isMember } from '../../db/roles.ts';
import { getSession, type Session } from '../../db/sessions.ts';
import { getUser } from '../../db/users.ts';
import { isPastExpiry } from './expiry.ts';
import type { ChatAddress } from './kinds/index.ts';
import { notifyAgent } from './notify-agent.ts';
import { closeUnanswered, type QuestionsDeps } from './question-expiry.ts';

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

type AnswerRefusal = Exclude<AnswerOutcome, { ok: true }>;
type QuestionOption = Question['options'][number];

export async function submitAnswer(
  deps: QuestionsDeps,
  questionId: string,
  option: number,
  who: Answerer,
  replyTo: ChatAddress,
): Promise<AnswerOutcome> {
  const { db, clock, cards } = deps;
  const now = clock().toISOString();
  const found = getQuestion(db, questionId);
  const at = { questionId, exists: !!found, who, replyTo, now };
  if (found?.status === 'pending' && isPastExpiry(found, now)) await closeExpired(deps, found);
  const checked = checkAnswer(deps, found, option, who.userId, now);
  if ('refusal' in checked) return refuse(deps, at, checked.refusal);
  const { question, chosen } = checked;
  if (!answerQuestion(db, question.id, chosen.value, who.userId ?? who.actor, now)) {
    const message = 'Thanks, but that question was just closed; your answer was not passed on.';
    return refuse(deps, at, { ok: false, code: 'closed', message });
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
  notifyAgent(
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

/** A question found open past its time is closed as the sweep would close it. */
async function closeExpired(deps: QuestionsDeps, question: Question): Promise<void> {
  closeUnanswered(deps, question, 'no answer in time');
  await deps.cards.closeAll(
    { questionId: question.id },
    `${question.question}\n\nNo answer in time; the question is closed.`,
  );
}

/** The option this answer picks, or why it cannot be taken. */
function checkAnswer(
  deps: QuestionsDeps,
  question: Question | undefined,
  option: number,
  userId: string | null,
  now: string,
): { question: Question; chosen: QuestionOption } | { refusal: AnswerRefusal } {
  const no = (code: AnswerRefusal['code'], message: string) => ({
    refusal: { ok: false as const, code, message },
  });
  if (!question) return no('not_found', 'That question no longer exists.');
  if (question.status !== 'pending') {
    const why = question.status === 'answered' ? 'already answered' : 'no longer open';
    return no('closed', `Thanks, but that question is closed (${why}); your answer was not passed on.`);
  }
  if (isPastExpiry(question, now)) {
    return no(
      'closed',
      `Thanks, but that question expired at ${question.expiresAt}; your answer was not passed on.`,
    );
  }
  if (!mayAnswer(deps, question, userId)) {
    return no('unauthorized', 'Sorry, this question is for someone else; your answer was not passed on.');
  }
  const chosen = question.options[option - 1];
  if (!chosen) return no('invalid_option', `Please pick one of the options 1-${question.options.length}.`);
  return { question, chosen };
}

/** Audited (when the question exists) and told to the answerer in their chat. */
async function refuse(
  deps: QuestionsDeps,
  at: { questionId: string; exists: boolean; who: Answerer; replyTo: ChatAddress; now: string },
  refusal: AnswerRefusal,
): Promise<AnswerOutcome> {
  const { questionId, who, replyTo, now } = at;
  if (at.exists) {
    appendAuditEvent(
      deps.db,
      {
        actor: who.actor,
        action: 'question.answer_refused',
        targetKind: 'question',
        targetId: questionId,
        detail: { code: refusal.code },
      },
      now,
    );
  }
  await deps.cards.tell(
    { ...replyTo, chatId: replyTo.platformId },
    refusal.message,
    `question:${questionId}:refused:${who.actor}:${now}`,
  );
  return refusal;
}

function mayAnswer(deps: QuestionsDeps, question: Question, userId: string | null): boolean {
  const { db } = deps;
  if (!userId) return false;
  const user = getUser(db, userId);
  if (!user || user.status === 'suspended') return false;
  if (question.allowedUsers) return question.allowedUsers.includes(userId);
  const session = getSession(db, question.sessionId);
  if (!session) return false;
  return (
    isMember(db, userId, session.agentGroupId) ||
    isAdmin(db, userId, session.agentGroupId) ||
    chatIsPublic(deps, session)
  );
}

function chatIsPublic(deps: QuestionsDeps, session: Session): boolean {
  const chat = session.messagingGroupId ? getMessagingGroup(deps.db, session.messagingGroupId) : undefined;
  return chat?.unknownSenderPolicy === 'public';
}
