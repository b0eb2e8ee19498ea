// ask_user_question: the agent's `op: 'ask'` row becomes a question row and a card in the
// conversation (question-asks.ts). The first answer from someone allowed to answer reaches the agent
// as a system message (question-answers.ts); at its expiry the agent is told there was no answer
// (question-expiry.ts). Either way the row is closed: a late answer is refused politely and leaves
// nothing due.
import type { OutboundRow } from '../sessions/index.ts';
import type { ChatAddress } from './kinds/index.ts';
import { submitAnswer, type Answerer } from './question-answers.ts';
import { askQuestion } from './question-asks.ts';
import { expireDueQuestions, type QuestionsDeps } from './question-expiry.ts';

export function createQuestions(deps: QuestionsDeps) {
  return {
    ask: (sessionId: string, row: OutboundRow) => askQuestion(deps, sessionId, row),
    answer: (questionId: string, option: number, who: Answerer, replyTo: ChatAddress) =>
      submitAnswer(deps, questionId, option, who, replyTo),
    expireDue: (limit?: number) => expireDueQuestions(deps, limit),
  };
}

export type Questions = ReturnType<typeof createQuestions>;
