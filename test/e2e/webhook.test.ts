// Signed webhooks end to end: a real host and real containers running the scripted agent; the
// integrator is this test, POSTing signed messages to the host's /channels/webhook and receiving
// Warren's replies on a real callback server (test/harness/webhook-receiver.ts) that checks each
// signature with the standardwebhooks package.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { getApproval } from '../../src/db/approvals.ts';
import {
  newSecret,
  signedPost,
  startWebhookReceiver,
  type ReceivedPost,
  type WebhookReceiver,
} from '../harness/webhook-receiver.ts';
import { deployApprovalRule, startWarren, waitUntil, type Warren } from '../harness/warren.ts';

const SECRET = newSecret();
const CALLBACK_SECRET = newSecret();
const CHAT = 'crm-ticket-1';
const RETRY_CHAT = 'crm-ticket-2';
const DEPLOY_CHAT = 'crm-ticket-3';
const OWNER_DM = 'olga-dm';

let rx: WebhookReceiver;
let w: Warren;
let inbound: string;

beforeAll(async () => {
  rx = await startWebhookReceiver({ secret: CALLBACK_SECRET });
  w = await startWarren({
    idleExitMs: 10_000,
    script: {
      rules: [
        deployApprovalRule('Deploy the site', 'v2', { reply: 'asked: {{tool_result}}' }),
        { match: '^approval_decided$', steps: [{ reply: 'decision: {{prompt}}' }] },
      ],
    },
    installations: [
      { channelType: 'webhook', name: 'webhook', config: { callbackUrl: rx.url, timeoutMs: 5000 } },
    ],
    env: { WEBHOOK_SECRET: SECRET, WEBHOOK_CALLBACK_SECRET: CALLBACK_SECRET },
  });
  inbound = `${w.url}/channels/webhook`;
  const main = w.wire.main();
  for (const chat of [CHAT, RETRY_CHAT, DEPLOY_CHAT]) w.wire.wiring(w.wire.chat(chat, 'webhook'), main);
  w.wire.owner({ account: 'olga', name: 'Olga', dm: OWNER_DM, channelType: 'webhook' });
}, 90_000);

afterAll(async () => {
  await w?.stop();
  await rx?.close();
});

// ---- helpers ----

function say(chat: string, text: string, extra: Record<string, unknown> = {}) {
  return {
    messageId: `m-${randomUUID()}`,
    chat: { id: chat },
    sender: { id: 'ada', name: 'Ada' },
    text,
    ...extra,
  };
}

async function post(body: Record<string, unknown>, options: { id?: string } = {}) {
  const res = await signedPost(inbound, SECRET, body, options);
  expect(res.status, await res.clone().text()).toBe(200);
  return res;
}

const postsTo = (chat: string) =>
  rx.received.filter((r) => r.verified && (r.payload?.chat as { id?: string } | undefined)?.id === chat);

function waitForPost(chat: string, match: (p: ReceivedPost) => boolean, timeoutMs = 60_000) {
  return waitUntil(
    () => postsTo(chat).find((p) => p.status === 200 && match(p)),
    timeoutMs,
    () => `no matching reply in ${chat}; received: ${JSON.stringify(postsTo(chat).map((p) => p.payload))}`,
  );
}

const textOf = (p: ReceivedPost) => p.payload?.text as string;

let sentinels = 0;
/** "Nothing else arrives", proved positively: the chat's replies delivered before a new message's answer. */
async function sentinel(chat: string): Promise<ReceivedPost[]> {
  const text = `sentinel ${++sentinels}`;
  await post(say(chat, text));
  const answer = await waitForPost(chat, (p) => textOf(p) === `echo: ${text}`);
  const posts = postsTo(chat).filter((p) => p.status === 200);
  return posts.slice(0, posts.indexOf(answer));
}

// ---- the tests ----

test('a signed POST gets one signed reply at the callback; a replay of its webhook-id gets none', async () => {
  const message = say(CHAT, 'hello over a webhook');
  await post(message, { id: 'msg_e2e_1' });
  const reply = await waitForPost(CHAT, (p) => textOf(p) === 'echo: hello over a webhook');
  expect(reply.payload).toMatchObject({ type: 'message', chat: { id: CHAT }, replyTo: message.messageId });
  expect(reply.headers['webhook-id']).toBe(reply.payload!.id);

  // The same delivery again, byte for byte (signed afresh: still within five minutes), twice.
  await post(message, { id: 'msg_e2e_1' });
  await post(message, { id: 'msg_e2e_1' });
  const before = await sentinel(CHAT);
  expect(before.map(textOf)).toEqual(['echo: hello over a webhook']);

  // A forged one is refused and answered by nobody.
  const forged = await signedPost(inbound, newSecret(), say(CHAT, 'forged'));
  expect(forged.status).toBe(401);
  const stale = await signedPost(inbound, SECRET, say(CHAT, 'stale'), {
    at: new Date(Date.now() - 6 * 60 * 1000),
  });
  expect(stale.status).toBe(401);
  expect((await sentinel(CHAT)).map(textOf)).toEqual(['echo: hello over a webhook', 'echo: sentinel 1']);
}, 120_000);

test('a callback answering 503 first gets the reply once on the retry, and delivery_attempts shows both tries', async () => {
  rx.failNext(1, { status: 503 }, RETRY_CHAT);
  await post(say(RETRY_CHAT, 'try again please'));
  const delivered = await waitForPost(RETRY_CHAT, (p) => textOf(p) === 'echo: try again please');
  const tries = postsTo(RETRY_CHAT).filter((p) => textOf(p) === 'echo: try again please');
  expect(tries.map((p) => p.status)).toEqual([503, 200]);
  expect(tries[0]!.headers['webhook-id']).toBe(tries[1]!.headers['webhook-id']);
  // Delivery's backoff (500 ms before the second attempt), not a tight loop.
  expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(400);
  // The callback answered { id: "rx-N" }: that id is what delivery recorded.
  const answerId = `rx-${rx.received.indexOf(delivered) + 1}`;
  // The host records the attempt once the callback's answer is back: after the receiver saw the post.
  const attemptsOf = () =>
    w
      .db()
      .prepare(
        `SELECT attempt, status, error_code AS code, platform_message_id AS platformId FROM delivery_attempts
         WHERE idempotency_key = (SELECT idempotency_key FROM delivery_attempts WHERE platform_message_id = ?)
         ORDER BY attempt`,
      )
      .all(answerId);
  const attempts = await waitUntil(
    () => {
      const rows = attemptsOf();
      return rows.length === 2 && rows;
    },
    5000,
    () => `delivery_attempts for ${answerId}: ${JSON.stringify(attemptsOf())}`,
  );
  expect(attempts).toEqual([
    { attempt: 1, status: 'failed', code: 'transient', platformId: null },
    { attempt: 2, status: 'delivered', code: null, platformId: answerId },
  ]);
  const before = await sentinel(RETRY_CHAT);
  expect(before.filter((p) => textOf(p) === 'echo: try again please')).toHaveLength(1);
}, 120_000);

test("an approval card reaches the owner's webhook DM with buttons; a stranger's press is refused, the owner's action.token decides it", async () => {
  await post(say(DEPLOY_CHAT, 'please deploy'));
  const card = await waitForPost(OWNER_DM, (p) => Array.isArray(p.payload?.buttons));
  const {
    card: shown,
    buttons,
    id: cardId,
  } = card.payload as {
    card: { title: string; body: string };
    buttons: { label: string; token: string }[];
    id: string;
  };
  const approvalId = /Approval (apr_\S+),/.exec(shown.body)?.[1];
  expect(approvalId, shown.body).toBeDefined();
  expect(buttons.map((b) => b.label)).toEqual(expect.arrayContaining(['Approve', 'Reject']));
  const approve = buttons.find((b) => b.label === 'Approve')!;
  const cardPlatformId = `rx-${rx.received.indexOf(card) + 1}`;
  expect(cardId).toMatch(/^msg_/);

  const press = (sender: string) =>
    post({
      chat: { id: OWNER_DM },
      sender: { id: sender },
      action: { token: approve.token, messageId: cardPlatformId },
    });
  await press('mallory');
  await waitForPost(OWNER_DM, (p) => /^Sorry, only a signed-in person/.test(textOf(p) ?? ''), 30_000);
  expect(getApproval(w.db(), approvalId!)!.status).toBe('pending');

  await press('olga');
  const outcome = await waitForPost(DEPLOY_CHAT, (p) => (textOf(p) ?? '').startsWith('decision:'));
  expect(textOf(outcome)).toContain('approved: true');
  expect(getApproval(w.db(), approvalId!)).toMatchObject({ status: 'approved' });
}, 120_000);
