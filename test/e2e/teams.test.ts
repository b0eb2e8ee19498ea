// Microsoft Teams end to end: a real host and real containers running the scripted agent, and a fake
// Microsoft on loopback (test/harness/fake-teams.ts: OpenID keys, token endpoint, Bot Connector). Every
// activity a person causes is POSTed to the host's messaging endpoint with a token the fake signs; every
// thing Warren says is read from what the fake's connector recorded, and from GET /api/deliveries.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { getApproval } from '../../src/db/approvals.ts';
import { createApiToken } from '../../src/db/tokens.ts';
import type { User } from '../../src/db/users.ts';
import { ADAPTIVE_CARD } from '../../src/host/channels/adapters/teams/index.ts';
import { APP_PASSWORD, startFakeTeams, type ConnectorCall, type FakeTeams } from '../harness/fake-teams.ts';
import { deployApprovalRule, startWarren, waitUntil, type Warren } from '../harness/warren.ts';

const DM = 'a:dm-ada';
const CHANNEL = '19:general@thread.tacv2';
const OLGA_DM = 'a:dm-olga'; // where approval cards go
const DEPLOY_DM = 'a:dm-deploy';
const ADA = { id: '29:ada', name: 'Ada', aadObjectId: 'aad-ada' };
const OLGA = { id: '29:olga', name: 'Olga', aadObjectId: 'aad-olga' };
/** Over the connector's size limit once it is a message (the fake answers 413 when told to). */
const TOO_BIG = 'too big please';

let teams: FakeTeams;
let w: Warren;
let olga: User;
let apiToken: string;
let endpoint: string;

beforeAll(async () => {
  teams = await startFakeTeams();
  w = await startWarren({
    idleExitMs: 10_000,
    script: {
      rules: [
        deployApprovalRule('Deploy the site', 'v2', { reply: 'asked: {{tool_result}}' }),
        { match: '^approval_decided$', steps: [{ reply: 'decision: {{prompt}}' }] },
        // The host tells the agent when a reply could not be delivered.
        { match: '^delivery_failed$', steps: [{ reply: 'told: {{prompt}}' }] },
      ],
      default: [{ reply: 'echo: {{text}}' }],
    },
    installations: [{ channelType: 'teams', name: 'teams', config: teams.settings() }],
    env: { TEAMS_APP_PASSWORD: APP_PASSWORD },
  });
  endpoint = `${w.url}/channels/teams/api/messages`;
  olga = w.wire.owner({ account: OLGA.aadObjectId, name: 'Olga', dm: OLGA_DM, channelType: 'teams' });
  const main = w.wire.main();
  for (const chat of [DM, CHANNEL, DEPLOY_DM, OLGA_DM]) w.wire.wiring(w.wire.chat(chat, 'teams'), main);
  apiToken = createApiToken(w.wire.db, olga.id, 'e2e', new Date().toISOString()).token;
  await waitUntil(
    async () => (await channel()).connected,
    30_000,
    () => 'the teams channel did not start',
  );
}, 120_000);

afterAll(async () => {
  await w?.stop();
  await teams?.close();
});

// ---- helpers ----

async function channel(): Promise<{ connected: boolean; lastError: string | null }> {
  const res = await fetch(`${w.url}/api/channels`, { headers: { authorization: `Bearer ${apiToken}` } });
  const { channels } = (await res.json()) as {
    channels: { type: string; connected: boolean; lastError: string | null }[];
  };
  const found = channels.find((c) => c.type === 'teams');
  if (!found) throw new Error(`no teams channel in ${JSON.stringify(channels)}`);
  return found;
}

const postedTo = (conversation: string) => teams.posted().filter((c) => c.conversationId === conversation);

function waitForPost(conversation: string, match: (c: ConnectorCall) => boolean, timeoutMs = 60_000) {
  return waitUntil(
    () => postedTo(conversation).find(match),
    timeoutMs,
    () =>
      `no matching post in ${conversation}; posted: ${JSON.stringify(teams.posted().map((c) => [c.conversationId, c.activity.text]))}`,
  );
}

async function say(
  conversation: string,
  text: string,
  extra: Parameters<FakeTeams['message']>[0] | object = {},
) {
  const activity = teams.message({ conversation, text, from: ADA, ...extra });
  const answer = await teams.send(endpoint, activity);
  expect(answer.status).toBe(200);
  return activity;
}

let sentinels = 0;
/** "Nothing else arrives", proved positively: one more message, and its reply; the posts before it. */
async function sentinel(conversation: string) {
  const text = `sentinel ${++sentinels}`;
  await say(conversation, text);
  const answer = await waitForPost(conversation, (c) => c.activity.text === `echo: ${text}`);
  const posts = postedTo(conversation);
  return posts.slice(0, posts.indexOf(answer)).map((c) => c.activity.text);
}

interface DeliveryView {
  idempotencyKey: string;
  channelType: string;
  conversation: { chatId: string; threadId: string | null };
  status: string;
  errorCode: string | null;
  platformMessageId: string | null;
  attempts: { attempt: number; status: string; errorCode: string | null }[];
}

async function deliveries(query: string): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
  const res = await fetch(`${w.url}/api/deliveries?${query}`, {
    headers: { authorization: `Bearer ${apiToken}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { items: DeliveryView[]; nextCursor: string | null };
}

// ---- the tests ----

test('a signed personal message gets one reply in its conversation; a channel mention is answered in its thread', async () => {
  await say(DM, 'hello from Teams');
  await waitForPost(DM, (c) => c.activity.text === 'echo: hello from Teams');

  const root = '1700000000999';
  await say(`${CHANNEL};messageid=${root}`, 'hello channel', {
    conversationType: 'channel',
    mentionBot: true,
    replyToId: root,
  });
  const inThread = await waitForPost(
    `${CHANNEL};messageid=${root}`,
    (c) => c.activity.text === 'echo: hello channel',
  );
  expect(inThread.authorization).toMatch(/^Bearer bot-token-/);
  // Nothing went to the channel outside the thread, nor anywhere else.
  expect(postedTo(CHANNEL)).toEqual([]);
  expect(await sentinel(DM)).toEqual(['echo: hello from Teams']);
}, 120_000);

test('an unsigned activity, or one signed by another key, is refused with 401 and never answered', async () => {
  const unsigned = teams.message({ conversation: DM, text: 'sneaky unsigned', from: ADA });
  expect((await teams.send(endpoint, unsigned, { token: null })).status).toBe(401);
  const forged = teams.message({ conversation: DM, text: 'sneaky forged', from: ADA });
  expect(
    (await teams.send(endpoint, forged, { token: teams.sign({}, { key: teams.otherKey }) })).status,
  ).toBe(401);
  const before = await sentinel(DM);
  expect(before.filter((text) => text?.startsWith('echo: sneaky'))).toEqual([]);
}, 120_000);

test('the same activity delivered twice is answered once', async () => {
  const activity = teams.message({ conversation: DM, text: 'only once', from: ADA });
  expect((await teams.send(endpoint, activity)).status).toBe(200);
  expect((await teams.send(endpoint, activity)).status).toBe(200);
  const before = await sentinel(DM);
  expect(before.filter((text) => text === 'echo: only once')).toHaveLength(1);
}, 120_000);

test("an approval card reaches the owner's Teams DM as an Adaptive Card, and its Action.Submit decides it", async () => {
  await say(DEPLOY_DM, 'please deploy');
  const card = await waitForPost(OLGA_DM, (c) => c.activity.attachments?.[0]?.contentType === ADAPTIVE_CARD);
  const content = card.activity.attachments![0]!.content;
  const text = content.body.map((b) => b.text).join('\n');
  const approvalId = /Approval (apr_\S+),/.exec(text)?.[1];
  expect(approvalId, text).toBeDefined();
  const approve = content.actions!.find((a) => a.title === 'Approve')!;
  expect(content.actions!.map((a) => a.type)).toEqual(['Action.Submit', 'Action.Submit']);
  expect(approve.data.token).toMatch(/^[\x20-\x7e]{1,64}$/);

  const press = teams.submit({
    conversation: OLGA_DM,
    from: OLGA,
    token: approve.data.token,
    replyToId: card.id!,
  });
  expect((await teams.send(endpoint, press)).status).toBe(200);
  const outcome = await waitForPost(DEPLOY_DM, (c) => (c.activity.text ?? '').startsWith('decision:'));
  expect(outcome.activity.text).toContain('approved: true');
  expect(getApproval(w.db(), approvalId!)).toMatchObject({ status: 'approved', decidedBy: olga.id });
  // The card is replaced by its outcome, without buttons.
  const edit = await waitUntil(
    () => teams.calls.find((c) => c.method === 'PUT' && c.activityId === card.id),
    30_000,
    () => 'the decided card was not updated',
  );
  expect(edit.activity.attachments).toEqual([]);
}, 120_000);

test('a 429 from the connector is waited out and the reply posted once; a 413 fails as too_large without a retry', async () => {
  teams.failNext(1, { status: 429, retryAfter: 2 });
  await say(DM, 'rate me');
  await waitForPost(DM, (c) => c.activity.text === 'echo: rate me');
  const tries = teams.calls.filter((c) => c.activity.text === 'echo: rate me');
  expect(tries.map((c) => c.status)).toEqual([429, 201]);
  expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(2000);

  teams.failNext(1, { status: 413 });
  await say(DM, TOO_BIG);
  const told = await waitForPost(DM, (c) => (c.activity.text ?? '').startsWith('told:'));
  expect(told.activity.text).toContain('too_large');
  // The failure is recorded once, then the chat moves on: the sentinel's reply comes after it.
  const before = await sentinel(DM);
  expect(before.filter((text) => text === 'echo: rate me')).toHaveLength(1);
  expect(before.filter((text) => text === `echo: ${TOO_BIG}`)).toEqual([]);
  const tooBig = teams.calls.filter((c) => c.activity.text === `echo: ${TOO_BIG}`);
  expect(tooBig.map((c) => c.status)).toEqual([413]);
}, 120_000);

test('a 502 is retried as transient; the deliveries read back page by page through the admin API with their conversation, error class and attempts', async () => {
  teams.failNext(1, { status: 502 });
  await say(DM, 'flaky connector');
  await waitForPost(DM, (c) => c.activity.text === 'echo: flaky connector', 60_000);
  expect(teams.calls.filter((c) => c.activity.text === 'echo: flaky connector').map((c) => c.status)).toEqual(
    [502, 201],
  );

  // The host records the delivery once the connector's answer is back: after the fake saw the post.
  const postedId = teams.calls.find(
    (c) => c.activity.text === 'echo: flaky connector' && c.status === 201,
  )?.id;
  await waitUntil(
    async () =>
      (await deliveries('channel=teams&limit=200')).items.some(
        (d) => d.platformMessageId === postedId && d.status === 'delivered',
      ),
    5000,
    () => `no delivered record of ${postedId}`,
  );

  const all: DeliveryView[] = [];
  let page = await deliveries('channel=teams&limit=2');
  expect(page.items).toHaveLength(2);
  const pages = [page];
  while (page.nextCursor !== null) {
    page = await deliveries(`channel=teams&limit=2&cursor=${encodeURIComponent(page.nextCursor)}`);
    pages.push(page);
  }
  for (const p of pages) all.push(...p.items);
  expect(pages.length).toBeGreaterThanOrEqual(2);
  // No delivery on two pages; all of them Teams'.
  expect(new Set(all.map((d) => d.idempotencyKey)).size).toBe(all.length);
  expect(all.every((d) => d.channelType === 'teams')).toBe(true);

  const byId = new Map(teams.calls.filter((c) => c.id).map((c) => [c.id!, c]));
  const flaky = all.find(
    (d) => byId.get(d.platformMessageId ?? '')?.activity.text === 'echo: flaky connector',
  )!;
  expect(flaky).toMatchObject({
    status: 'delivered',
    errorCode: null,
    conversation: { chatId: DM, threadId: null },
  });
  expect(flaky.attempts.map((a) => [a.attempt, a.status, a.errorCode])).toEqual([
    [1, 'failed', 'transient'],
    [2, 'delivered', null],
  ]);
  // The first page is the newest: the flaky one, just delivered, is on it.
  expect(pages[0]!.items.map((d) => d.idempotencyKey)).toContain(flaky.idempotencyKey);

  const failed = all.filter((d) => d.status === 'failed');
  expect(failed.map((d) => [d.errorCode, d.attempts.length, d.conversation.chatId])).toEqual([
    ['too_large', 1, DM],
  ]);

  const threadReply = all.find(
    (d) => byId.get(d.platformMessageId ?? '')?.activity.text === 'echo: hello channel',
  )!;
  expect(threadReply.conversation).toEqual({ chatId: CHANNEL, threadId: '1700000000999' });
}, 120_000);
