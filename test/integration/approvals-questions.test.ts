// ask_user_question from the agent's tool to the person's click and back: the real runner tool writes
// the `ask` row, delivery hands it to the engine, the card goes to the conversation, and the answer
// (or the lack of one) reaches the agent as a system message. Nothing is left pending.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { getQuestion, listPendingQuestions } from '../../src/db/approvals.ts';
import { listAuditEvents } from '../../src/db/audit.ts';
import { withSessionFile, type SessionPaths } from '../../src/host/sessions/index.ts';
import { createWorld, type World } from '../harness/approvals.ts';
import {
  closeRunnerSession,
  openRunnerSession,
  writeMessagesOut,
} from '../../container/agent-runner/src/db/session.ts';

let w: World;
beforeEach(() => {
  w = createWorld();
});
afterEach(() => w.close());

function inboundRows(paths: SessionPaths): { id: string; kind: string; status: string; content: string }[] {
  return withSessionFile(paths, 'inbound', 'read', (db) =>
    db.prepare('SELECT id, kind, status, content FROM messages_in ORDER BY seq').all(),
  ) as { id: string; kind: string; status: string; content: string }[];
}

/** Gus (a rich-channel user) talks to the main agent in `team`; the agent asks him a question. */
async function askGus(timeout = 600) {
  const s = w.session(w.main);
  const asked = w.said(s, w.globalAdmin, 'deploy it?');
  const result = await w.agent(
    s,
    'ask_user_question',
    { question: 'Deploy to production?', options: ['Yes', { label: 'Not now', value: 'later' }], timeout },
    asked,
  );
  expect(result.isError).toBe(false);
  const { questionId } = JSON.parse(result.text) as { questionId: string };
  return { s, questionId };
}

const card = (questionId: string) =>
  w.rich.sent.find(
    (m) => m.kind === 'send' && m.card?.options.some((o) => o.value.startsWith(`q:${questionId}:`)),
  );

test('the question is shown as a card in the conversation, limited to the person asked', async () => {
  const { questionId } = await askGus();
  expect(card(questionId)).toMatchObject({
    chatId: 'team',
    card: {
      title: 'Question',
      body: 'Deploy to production?',
      options: [{ label: 'Yes' }, { label: 'Not now' }],
    },
  });
  expect(getQuestion(w.db, questionId)).toMatchObject({
    status: 'pending',
    allowedUsers: [w.globalAdmin.user.id],
  });
});

test('an answer reaches the agent once, with the option value, and the card says who answered', async () => {
  const { s, questionId } = await askGus();
  const second = card(questionId)!;
  const value = second.kind === 'send' ? second.card!.options[1]!.value : '';
  expect(await w.engine.intercept(w.inbound(w.globalAdmin, '', { chat: 'team', action: value }))).toBe(true);
  expect(getQuestion(w.db, questionId)).toMatchObject({
    status: 'answered',
    answer: 'later',
    answeredBy: w.globalAdmin.user.id,
  });
  const told = inboundRows(s.paths)
    .filter((r) => r.kind === 'system')
    .map((r) => JSON.parse(r.content));
  expect(told).toEqual([
    expect.objectContaining({ event: 'question_answered', questionId, answer: 'later', label: 'Not now' }),
  ]);
  expect(w.woken).toContain(s.id);
  expect(w.rich.sent.at(-1)).toMatchObject({
    kind: 'edit',
    chatId: 'team',
    text: expect.stringContaining('Answered "Not now" by'),
  });
  // Clicking again: refused, the agent is not told twice.
  await w.engine.intercept(w.inbound(w.globalAdmin, '', { chat: 'team', action: value }));
  expect(inboundRows(s.paths).filter((r) => r.kind === 'system')).toHaveLength(1);
});

test('someone the question is not for is refused politely; the question stays open', async () => {
  const { s, questionId } = await askGus();
  const c = card(questionId)!;
  const yes = c.kind === 'send' ? c.card!.options[0]!.value : '';
  expect(await w.engine.intercept(w.inbound(w.outsider, '', { chat: 'team', action: yes }))).toBe(true);
  expect(getQuestion(w.db, questionId)!.status).toBe('pending');
  expect(w.rich.sent.at(-1)).toMatchObject({
    chatId: 'team',
    text: expect.stringMatching(/this question is for someone else/),
  });
  expect(inboundRows(s.paths).filter((r) => r.kind === 'system')).toHaveLength(0);
  expect(listAuditEvents(w.db, { target: { kind: 'question', id: questionId } })[0]).toMatchObject({
    action: 'question.answer_refused',
    actor: w.outsider.user.id,
  });
});

test('at its expiry the agent is told there was no answer, and the question is closed', async () => {
  const { s, questionId } = await askGus(60);
  w.advance(61_000);
  expect(await w.engine.tick()).toMatchObject({ questionsExpired: 1 });
  expect(getQuestion(w.db, questionId)!.status).toBe('expired');
  expect(listPendingQuestions(w.db)).toEqual([]);
  const told = inboundRows(s.paths)
    .filter((r) => r.kind === 'system')
    .map((r) => JSON.parse(r.content));
  expect(told).toEqual([expect.objectContaining({ event: 'question_expired', questionId })]);
  expect(w.rich.sent.at(-1)).toMatchObject({
    kind: 'edit',
    text: expect.stringContaining('No answer in time'),
  });
});

test('a late answer is refused politely and leaves nothing due', async () => {
  const { s, questionId } = await askGus(60);
  w.advance(61_000);
  await w.engine.tick();
  const rowsBefore = inboundRows(s.paths);
  const c = card(questionId)!;
  const yes = c.kind === 'send' ? c.card!.options[0]!.value : '';
  expect(await w.engine.intercept(w.inbound(w.globalAdmin, '', { chat: 'team', action: yes }))).toBe(true);
  expect(w.rich.sent.at(-1)).toMatchObject({
    chatId: 'team',
    text: expect.stringMatching(/that question is closed/),
  });
  expect(inboundRows(s.paths)).toEqual(rowsBefore); // nothing new for the agent
  expect(getQuestion(w.db, questionId)!.status).toBe('expired');
  // The sweep finds nothing more to do about it.
  w.advance(3_600_000);
  expect(await w.engine.tick()).toMatchObject({ questionsExpired: 0 });
  expect(listPendingQuestions(w.db)).toEqual([]);
});

test('on a channel without buttons the question is numbered text and "2" answers it', async () => {
  const s = w.session(w.main, { channel: 'text', id: 'dm-olga' });
  const asked = w.said(s, w.owner, 'which one?');
  const result = await w.agent(
    s,
    'ask_user_question',
    { question: 'Red or blue?', options: ['red', 'blue'] },
    asked,
  );
  const { questionId } = JSON.parse(result.text) as { questionId: string };
  expect(w.text.sent.at(-1)).toMatchObject({
    chatId: 'dm-olga',
    text: expect.stringContaining('1. red\n2. blue'),
  });
  expect(await w.engine.intercept(w.inbound(w.owner, '2'))).toBe(true);
  expect(getQuestion(w.db, questionId)).toMatchObject({ status: 'answered', answer: 'blue' });
  // Its card is closed with a follow-up message (no edits on this channel).
  expect(w.text.sent.at(-1)).toMatchObject({
    kind: 'send',
    text: expect.stringContaining('Answered "blue"'),
  });
});

test('the tool refuses a question without options and writes nothing', async () => {
  const s = w.session(w.main);
  const result = await w.agent(s, 'ask_user_question', { question: 'Anything?', options: [] });
  expect(result.isError).toBe(true);
  expect(listPendingQuestions(w.db)).toEqual([]);
});

test('a question addressed to a chat that is not the agent’s is refused, and nothing is shown there', async () => {
  const s = w.session(w.main);
  const runner = openRunnerSession({
    sessionId: s.paths.sessionId,
    inboundPath: s.paths.inbound,
    outboundPath: s.paths.outbound,
  });
  writeMessagesOut(runner, [
    {
      kind: 'chat',
      operation: {
        op: 'ask',
        questionId: 'q_foreign',
        question: 'Your password?',
        options: [{ label: 'Tell', value: 'tell' }],
        expiresAt: new Date(w.now().getTime() + 600_000).toISOString(),
      },
      timestamp: w.now().toISOString(),
      channelType: 'rich',
      platformId: 'someone-elses-chat',
    },
  ]);
  closeRunnerSession(runner);
  await w.delivery.deliverSession(s.id);
  expect(w.rich.sent.some((m) => m.chatId === 'someone-elses-chat')).toBe(false);
  expect(getQuestion(w.db, 'q_foreign')).toBeUndefined();
  const told = inboundRows(s.paths)
    .filter((r) => r.kind === 'system')
    .map((r) => r.content);
  expect(told.join('\n')).toMatch(/not this conversation nor one of the agent's destinations/);
});
