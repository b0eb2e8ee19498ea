// An agent's `op: 'ask'` row becomes a question row and a card in the conversation (the row's
// address, else the session's), if that conversation is one the agent may write to. A question that
// cannot be asked is refused and the agent told; one that cannot be shown is closed at once.
import { isDestinationAllowed } from '../access/index.ts';
import { createQuestion, getQuestion, type Question } from '../../db/approvals.ts';
import { getSession } from '../../db/sessions.ts';
import { QUESTION_LIMITS } from '../../shared/session-content.ts';
import {
  readRouting,
  recordDelivered,
  senderUserIdOf,
  sessionPaths,
  type OutboundRow,
  type SessionPaths,
} from '../sessions/index.ts';
import type { CardSpec } from './cards.ts';
import type { ChatAddress } from './kinds/index.ts';
import { notifyAgent } from './notify-agent.ts';
import { closeUnanswered, type QuestionsDeps } from './question-expiry.ts';
import { questionOptionValue } from './replies.ts';

type AskOp = Extract<OutboundRow['op'], { op: 'ask' }>;

/** Delivery hands over each `op: 'ask'` row; it is recorded in `delivered` here, once. */
export async function askQuestion(deps: QuestionsDeps, sessionId: string, row: OutboundRow): Promise<void> {
  const { db, clock } = deps;
  const session = getSession(db, sessionId);
  if (!session || row.op?.op !== 'ask') return;
  const paths = sessionPaths(deps.dataDir, session.agentGroupId, session.id);
  const op = row.op;
  const now = clock();
  const existing = getQuestion(db, op.questionId);
  if (existing && existing.sessionId !== sessionId) {
    return refuse(deps, paths, sessionId, row, `question id ${op.questionId} is taken; ask again`);
  }
  const invalid = limitBroken(op, now);
  if (invalid) return refuse(deps, paths, sessionId, row, invalid);
  const address = addressOf(paths, row);
  if (!address) return refuse(deps, paths, sessionId, row, 'the conversation has no address to ask in');
  if (!isDestinationAllowed(db, session, address)) {
    const where = `${address.channelType}:${address.platformId}`;
    return refuse(
      deps,
      paths,
      sessionId,
      row,
      `${where} is not this conversation nor one of the agent's destinations`,
    );
  }
  const question = existing ?? storeQuestion(deps, paths, { sessionId, row, op }, now);
  const card = existing
    ? undefined // shown before a crash cut this short; not shown twice
    : await deps.cards.send({ userId: null, ...address, chatId: address.platformId }, questionCard(question));
  recordDelivered(paths, {
    messageOutId: row.id,
    platformMessageId: card?.platformMessageId ?? null,
    status: 'delivered',
    deliveredAt: clock().toISOString(),
  });
  if (!existing && !card) {
    // Nobody can answer a question that was never shown: close it and say so at once.
    closeUnanswered(deps, question, 'the question could not be shown in the conversation');
  }
}

/** Why the question breaks the limits (options, expiry), or undefined when it keeps them. */
function limitBroken(op: AskOp, now: Date): string | undefined {
  const expiresAt = Date.parse(op.expiresAt);
  const longest = now.getTime() + QUESTION_LIMITS.maxTimeoutS * 1000;
  if (expiresAt > now.getTime() && expiresAt <= longest && op.options.length <= QUESTION_LIMITS.maxOptions) {
    return undefined;
  }
  return `a question needs 1-${QUESTION_LIMITS.maxOptions} options and an expiry from now up to ${QUESTION_LIMITS.maxTimeoutS} s ahead`;
}

function storeQuestion(
  deps: QuestionsDeps,
  paths: SessionPaths,
  { sessionId, row, op }: { sessionId: string; row: OutboundRow; op: AskOp },
  now: Date,
): Question {
  const asker = row.in_reply_to ? senderUserIdOf(paths, row.in_reply_to) : undefined;
  return createQuestion(
    deps.db,
    {
      id: op.questionId,
      sessionId,
      messageOutSeq: row.seq,
      question: op.question,
      options: op.options,
      allowedUsers: asker ? [asker] : null,
      expiresAt: op.expiresAt,
    },
    now.toISOString(),
  );
}

function questionCard(question: Question): CardSpec {
  return {
    subject: { questionId: question.id },
    title: 'Question',
    body: question.question,
    options: question.options.map((o, i) => ({
      label: o.label,
      value: questionOptionValue(question.id, i + 1),
    })),
    textHint: 'Reply with the number of your answer.',
    payloadHash: null,
  };
}

function refuse(
  deps: QuestionsDeps,
  paths: SessionPaths,
  sessionId: string,
  row: OutboundRow,
  error: string,
): void {
  deps.log.warn({ sessionId, messageOutId: row.id, error }, 'question refused; the agent is told');
  recordDelivered(paths, {
    messageOutId: row.id,
    platformMessageId: null,
    status: 'failed',
    deliveredAt: deps.clock().toISOString(),
  });
  notifyAgent(
    deps,
    sessionId,
    { event: 'question_refused', messageOutId: row.id, seq: row.seq, error },
    `question-refused:${row.id}`,
  );
}

/** The row's address, else the session's default one. */
function addressOf(paths: SessionPaths, row: OutboundRow): ChatAddress | undefined {
  if (row.channel_type && row.platform_id) {
    return { channelType: row.channel_type, platformId: row.platform_id, threadId: row.thread_id };
  }
  const routing = readRouting(paths);
  if (!routing?.channelType || !routing.platformId) return undefined;
  return { channelType: routing.channelType, platformId: routing.platformId, threadId: routing.threadId };
}
