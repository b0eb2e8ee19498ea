// Expiry is checked when a decision arrives, not only by the sweep: an approval past its time cannot
// be approved from a card, a numbered or typed reply, or the admin API, even when no sweep has run
// since it expired. It is settled the way its expiry says and the requester is told. The CLI, with
// the host stopped, is in cli-approvals.test.ts.
import pino from 'pino';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { listCards } from '../../src/db/approval-cards.ts';
import { getApproval, getQuestion, type Approval } from '../../src/db/approvals.ts';
import { listAuditEvents } from '../../src/db/audit.ts';
import { createApiToken } from '../../src/db/tokens.ts';
import { startHttpServer, type RunningHttpServer } from '../../src/host/http.ts';
import { withSessionFile } from '../../src/host/sessions/index.ts';
import { adminApiOf, createWorld, type Person, type World } from '../harness/approvals.ts';

let w: World;
beforeEach(() => {
  w = createWorld();
});
afterEach(() => w.close());

const TTL_MS = 60_000;

async function askAgentAction(): Promise<Approval> {
  const outcome = await w.engine.request({
    kind: 'agent_action',
    agentGroupId: w.main.id,
    sessionId: w.session(w.main).id,
    requestedBy: `agent:${w.main.id}`,
    payload: { action: 'deploy', summary: 'deploy the site', payload: { env: 'prod' } },
    ttlMs: TTL_MS,
  });
  if (!outcome.ok) throw new Error(outcome.error);
  return outcome.approval;
}

const optionsShown = (a: Approval, person: Person): string[] =>
  listCards(w.db, { approvalId: a.id }).find((c) => c.userId === person.user.id)!.options;

/** The approval expired (no sweep ran), was refused, settled as expired_rejected, and nothing applied. */
async function expectRefusedAndExpired(a: Approval): Promise<void> {
  await w.engine.settled();
  expect(getApproval(w.db, a.id)).toMatchObject({
    status: 'expired_rejected',
    decidedBy: 'expiry',
    appliedPayload: null,
    followupsDoneAt: expect.any(String),
  });
  const actions = listAuditEvents(w.db, { target: { kind: 'approval', id: a.id } }).map((e) => e.action);
  expect(actions).toContain('approval.decision_refused');
  expect(actions).not.toContain('approval.decided');
  const told = withSessionFile(w.session(w.main).paths, 'inbound', 'read', (db) =>
    db.prepare("SELECT content FROM messages_in WHERE kind = 'system'").pluck().all(),
  ) as string[];
  expect(told.map((t) => JSON.parse(t))).toEqual([
    expect.objectContaining({ event: 'approval_decided', status: 'expired_rejected' }),
  ]);
}

test('a card click after the expiry is refused with a clear message, before any sweep', async () => {
  const a = await askAgentAction();
  const approve = optionsShown(a, w.globalAdmin).find((v) => v.includes(':approve:'))!;
  w.advance(TTL_MS);
  expect(await w.engine.intercept(w.inbound(w.globalAdmin, '', { action: approve }))).toBe(true);
  expect(
    w.rich.sent.some((m) => m.kind === 'send' && /expired at .* can no longer be decided/.test(m.text)),
  ).toBe(true);
  await expectRefusedAndExpired(a);
});

test('a numbered text reply after the expiry is refused', async () => {
  const a = await askAgentAction();
  w.advance(TTL_MS + 1);
  expect(await w.engine.intercept(w.inbound(w.owner, '1'))).toBe(true);
  await expectRefusedAndExpired(a);
});

test('"approve <id>" typed after the expiry is refused', async () => {
  const a = await askAgentAction();
  w.advance(TTL_MS + 5_000);
  expect(await w.engine.intercept(w.inbound(w.globalAdmin, `approve ${a.id}`))).toBe(true);
  await expectRefusedAndExpired(a);
});

test('the admin API answers 410 for an expired approval and does not apply it', async () => {
  const http: RunningHttpServer = await startHttpServer({
    port: 0,
    host: '127.0.0.1',
    mounts: [
      {
        path: '/api',
        app: adminApiOf(w),
      },
    ],
    log: pino({ level: 'silent' }),
  });
  try {
    const token = createApiToken(w.db, w.owner.user.id, 'ops', w.now().toISOString()).token;
    const a = await askAgentAction();
    w.advance(TTL_MS);
    const res = await fetch(`${http.url}/api/approvals/${a.id}/decision`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'approve', payloadHash: a.payloadHash }),
    });
    expect(res.status).toBe(410);
    expect(await res.json()).toMatchObject({ code: 'expired', error: expect.stringContaining('expired at') });
    await expectRefusedAndExpired(a);
  } finally {
    await http.close();
  }
});

test('a decision one millisecond before the expiry still counts', async () => {
  const a = await askAgentAction();
  w.advance(TTL_MS - 1);
  expect(await w.engine.intercept(w.inbound(w.owner, '1'))).toBe(true);
  expect(getApproval(w.db, a.id)!.status).toBe('approved');
});

test('a question answered after its time, before any sweep, is closed and the answer not passed on', async () => {
  const s = w.session(w.main);
  const asked = w.said(s, w.globalAdmin, 'deploy it?');
  const result = await w.agent(
    s,
    'ask_user_question',
    { question: 'Deploy to production?', options: ['Yes', 'No'], timeout: 60 },
    asked,
  );
  const { questionId } = JSON.parse(result.text) as { questionId: string };
  const card = w.rich.sent.find(
    (m) => m.kind === 'send' && m.card?.options.some((o) => o.value.startsWith(`q:${questionId}:`)),
  );
  const yes = card?.kind === 'send' ? card.card!.options[0]!.value : '';
  w.advance(60_000);
  expect(await w.engine.intercept(w.inbound(w.globalAdmin, '', { chat: 'team', action: yes }))).toBe(true);
  expect(getQuestion(w.db, questionId)).toMatchObject({ status: 'expired', answer: null });
  const events = (
    withSessionFile(s.paths, 'inbound', 'read', (db) =>
      db.prepare("SELECT content FROM messages_in WHERE kind = 'system'").pluck().all(),
    ) as string[]
  ).map((t) => JSON.parse(t).event);
  expect(events).toEqual(['question_expired']);
  expect(w.rich.sent.some((m) => m.kind === 'send' && /question expired at/.test(m.text))).toBe(true);
});
