// Questions closed without an answer: at their expiry (the sweep), or at once when they could not be
// shown. The row is closed first, so a late answer is refused and nothing stays due; the agent is
// told either way.
import { expireQuestion, listExpiredQuestions, type Question } from '../../db/approvals.ts';
import { appendAuditEvent } from '../../db/audit.ts';
import type { Cards } from './cards.ts';
import { notifyAgent, type NotifyAgentDeps } from './notify-agent.ts';

export interface QuestionsDeps extends NotifyAgentDeps {
  cards: Cards;
}

/** The sweep: questions whose time is up are closed and their agents told; an index read. */
export async function expireDueQuestions(deps: QuestionsDeps, limit = 50): Promise<number> {
  const due = listExpiredQuestions(deps.db, deps.clock().toISOString(), limit);
  for (const question of due) closeUnanswered(deps, question, 'no answer in time');
  await Promise.all(
    due.map((q) =>
      deps.cards.closeAll(
        { questionId: q.id },
        `${q.question}\n\nNo answer in time; the question is closed.`,
      ),
    ),
  );
  return due.length;
}

export function closeUnanswered(deps: QuestionsDeps, question: Question, reason: string): void {
  if (!expireQuestion(deps.db, question.id)) return;
  appendAuditEvent(
    deps.db,
    {
      actor: 'expiry',
      action: 'question.expired',
      targetKind: 'question',
      targetId: question.id,
      detail: { reason },
    },
    deps.clock().toISOString(),
  );
  notifyAgent(
    deps,
    question.sessionId,
    { event: 'question_expired', questionId: question.id, question: question.question, reason },
    `question:${question.id}:expired`,
  );
}
