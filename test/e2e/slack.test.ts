// Slack end to end (issue 12, "Must show"): a real host and real containers running the scripted agent,
// the real @slack/web-api and @slack/socket-mode clients, and a fake Slack on loopback
// (test/harness/fake-slack.ts: the Web API, Socket Mode's WebSocket, files). Everything a person does is
// an event the fake sends over Socket Mode; everything Warren says is read from what the fake recorded.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { getApproval } from '../../src/db/approvals.ts';
import { grantRole } from '../../src/db/roles.ts';
import { createApiToken } from '../../src/db/tokens.ts';
import { setUserDm } from '../../src/db/user-dms.ts';
import { createWiring } from '../../src/db/wirings.ts';
import { userForAccount } from '../../src/host/access/index.ts';
import {
  APP_TOKEN,
  BOT_TOKEN,
  startFakeSlack,
  type FakeSlack,
  type PostedMessage,
} from '../harness/fake-slack.ts';
import { deployApprovalRule, startWarren, waitUntil, type Warren } from '../harness/warren.ts';

// Short liveness settings so the hang test takes seconds. The defaults (staleAfterMs 90 s, a check every
// 5 s; and a Socket Mode ping unanswered for 5 s closes the link at once) report a dead link well
// within the "unhealthy within 2 minutes".
const STALE_AFTER_MS = 5000;
const CHECK_SECONDS = 1;

const DM = 'DADA'; // Ada's DM with the bot
const GROUP = 'CGROUP';
const LONG_DM = 'DLONG';
const DEPLOY_DM = 'DDEPLOY';
const FILES_DM = 'DFILES';
const OWNER_DM = 'DOWNER'; // where approval cards go

/** A reply over Slack's 40,000 characters: unique words (a word cut in two would show), paragraphs, markup. */
const LONG = Array.from({ length: 6000 }, (_, i) => `word${i}${i % 97 === 96 ? '\n\n' : ''}`)
  .join(' ')
  .replace('word3000', 'R&D <b> word3000');

let slack: FakeSlack;
let w: Warren;
let apiToken: string;

beforeAll(async () => {
  slack = await startFakeSlack({ users: { UADA: 'Ada', UOWNER: 'Olga', UMAL: 'Mallory' } });
  w = await startWarren({
    idleExitMs: 10_000,
    script: {
      rules: [
        deployApprovalRule('Deploy the site', 'v2', { reply: 'asked: {{tool_result}}' }),
        { match: '^approval_decided$', steps: [{ reply: 'decision: {{prompt}}' }] },
        { match: '^long reply', steps: [{ reply: LONG }] },
        { match: '^what is in it', steps: [{ reply: '{{attachments}}\n---\n{{attachment_text}}' }] },
        {
          match: '^send me the report',
          steps: [{ tool: 'send_file', args: { path: 'report.csv', text: 'here' } }],
        },
      ],
    },
    installations: [
      {
        channelType: 'slack',
        name: 'slack',
        config: { apiBaseUrl: slack.apiUrl, staleAfterMs: STALE_AFTER_MS, filesBaseUrl: slack.origin },
      },
    ],
    env: { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN },
    config: { channels: { watchdogCheckSeconds: CHECK_SECONDS } },
  });
  const now = new Date().toISOString();
  const main = w.wire.main();
  for (const chat of [DM, GROUP, LONG_DM, DEPLOY_DM, FILES_DM]) {
    // Default engage mode: 'mention' (a DM always counts as addressed to the bot).
    createWiring(w.wire.db, { messagingGroupId: w.wire.chat(chat, 'slack').id, agentGroupId: main.id }, now);
  }
  const owner = userForAccount(w.wire.db, { kind: 'slack', externalId: 'UOWNER', name: 'Olga' }, now);
  grantRole(w.wire.db, { userId: owner.id, role: 'owner' }, 'e2e', now);
  setUserDm(w.wire.db, owner.id, w.wire.chat(OWNER_DM, 'slack').id, now);
  apiToken = createApiToken(w.wire.db, owner.id, 'e2e', now).token;
  await waitUntil(
    async () => slack.connections() === 1 && (await health()).connected,
    20_000,
    () => `the Slack channel did not connect: ${slack.connections()} sockets`,
  );
}, 90_000);

afterAll(async () => {
  await w?.stop();
  await slack?.close();
});

// ---- helpers ----

let tsCounter = 0;
const newTs = () => `1710000000.${String(++tsCounter).padStart(6, '0')}`;

function dm(channel: string, text: string, extra: Record<string, unknown> = {}) {
  return { type: 'message', channel, channel_type: 'im', user: 'UADA', text, ts: newTs(), ...extra };
}

function inGroup(text: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'message',
    channel: GROUP,
    channel_type: 'channel',
    user: 'UADA',
    text,
    ts: newTs(),
    ...extra,
  };
}

const unescape = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const postedIn = (chat: string) => slack.messages.filter((m) => m.channel === chat);

function waitForPost(chat: string, match: (m: PostedMessage) => boolean, timeoutMs = 60_000) {
  return waitUntil(
    () => postedIn(chat).find(match),
    timeoutMs,
    () => `no matching post in ${chat}; posted there: ${JSON.stringify(postedIn(chat).map((m) => m.text))}`,
  );
}

let sentinels = 0;
/**
 * "Nothing else arrives", proved positively: one more message in the chat, and its reply awaited. The
 * chat's session answers in order, so any reply still owed (a duplicate included) is posted before it.
 * Returns the chat's posts before the sentinel's reply.
 */
async function sentinel(chat: string, event: (text: string) => Record<string, unknown>) {
  const text = `sentinel ${++sentinels}`;
  slack.sendEvent(event(text));
  const answer = await waitForPost(chat, (m) => m.text === `echo: ${text}`);
  const posts = postedIn(chat);
  return posts.slice(0, posts.indexOf(answer));
}

const repliesSaying = (posts: PostedMessage[], text: string) => posts.filter((m) => m.text === text);

async function health(): Promise<{
  connected: boolean;
  lastError: string | null;
  lastInboundAt: string | null;
}> {
  const res = await fetch(`${w.url}/api/channels`, { headers: { authorization: `Bearer ${apiToken}` } });
  if (res.status !== 200) throw new Error(`/api/channels answered ${res.status}: ${await res.text()}`);
  const { channels } = (await res.json()) as {
    channels: { type: string; connected: boolean; lastError: string | null; lastInboundAt: string | null }[];
  };
  const slackChannel = channels.find((c) => c.type === 'slack');
  if (!slackChannel) throw new Error(`no slack channel in ${JSON.stringify(channels)}`);
  return slackChannel;
}

// ---- the tests ----

test('a DM and a group mention each get one reply in their chat; a thread reply stays in its thread; chatter without a mention is not answered', async () => {
  slack.sendEvent(dm(DM, 'hello from a DM'));
  const dmReply = await waitForPost(DM, (m) => m.text === 'echo: hello from a DM');
  expect(dmReply.thread_ts).toBeUndefined();

  // Chatter in the channel: the wiring engages on a mention only.
  slack.sendEvent(inGroup('lunch anyone?'));
  // A mention comes twice from Slack: a `message` and an `app_mention`, each with its own event_id.
  const mention = inGroup('<@UBOT> hello group');
  slack.sendEvent(mention);
  slack.sendEvent({ ...mention, type: 'app_mention', channel_type: undefined });
  const groupReply = await waitForPost(GROUP, (m) => m.text === 'echo: hello group');
  expect(groupReply.thread_ts).toBeUndefined();

  const parent = newTs();
  slack.sendEvent(inGroup('<@UBOT> in the thread', { thread_ts: parent }));
  const threadReply = await waitForPost(GROUP, (m) => m.text === 'echo: in the thread');
  expect(threadReply.thread_ts).toBe(parent);

  const groupPosts = await sentinel(GROUP, (text) => inGroup(`<@UBOT> ${text}`));
  expect(groupPosts.map((m) => [m.text, m.thread_ts])).toEqual([
    ['echo: hello group', undefined],
    ['echo: in the thread', parent],
  ]);
  expect((await sentinel(DM, (text) => dm(DM, text))).map((m) => m.text)).toEqual(['echo: hello from a DM']);
  // Nothing went anywhere else.
  expect(slack.messages.every((m) => m.channel === DM || m.channel === GROUP)).toBe(true);
}, 120_000);

test('a redelivered event (a retry of the same envelope, before and after its ack, and a resend with a new event_id) gets exactly one reply', async () => {
  const event = dm(DM, 'once only');
  const first = slack.sendEvent(event);
  slack.redeliver(first.envelopeId); // Slack retrying while the first delivery is still in flight
  await waitUntil(
    () => slack.acks.filter((id) => id === first.envelopeId).length === 2,
    20_000,
    () => `acks: ${JSON.stringify(slack.acks)}`,
  );
  slack.redeliver(first.envelopeId); // a retry after the ack (Slack lost it)
  const resend = slack.sendEvent(event); // the same message under a new event_id
  expect(resend.eventId).not.toBe(first.eventId);
  await waitUntil(
    () => slack.acks.filter((id) => id === first.envelopeId).length === 3 && slack.acked(resend.envelopeId),
    20_000,
    () => `acks: ${JSON.stringify(slack.acks)}`,
  );

  const before = await sentinel(DM, (text) => dm(DM, text));
  expect(repliesSaying(before, 'echo: once only')).toHaveLength(1);
}, 120_000);

test('a reply over 40,000 characters arrives split into several messages of 3,000-character sections, no word cut, nothing lost', async () => {
  expect(LONG.length).toBeGreaterThan(45_000);
  slack.sendEvent(dm(LONG_DM, 'long reply please'));
  // The last word closes the reply.
  await waitForPost(LONG_DM, (m) => unescape(m.text ?? '').endsWith('word5999'));
  const posts = postedIn(LONG_DM);
  expect(posts.length).toBeGreaterThanOrEqual(2);
  const sectionTexts: string[] = [];
  for (const post of posts) {
    expect(post.text!.length).toBeLessThanOrEqual(40_000);
    expect(post.blocks!.length).toBeLessThanOrEqual(50);
    const sections = post.blocks!.map((block) => {
      expect(block.type).toBe('section');
      expect(block.text!.text.length).toBeLessThanOrEqual(3000);
      return unescape(block.text!.text);
    });
    // The notification text holds the blocks' words (clipped with "…" when escaping made it too long).
    const fallback = words(unescape(post.text!));
    if (post.text!.endsWith('…')) fallback.pop();
    expect(words(sections.join(' ')).slice(0, fallback.length)).toEqual(fallback);
    expect(fallback.length).toBeGreaterThan(words(sections.join(' ')).length - 2);
    sectionTexts.push(...sections);
  }
  expect(sectionTexts.length).toBeGreaterThan(15);
  expect(words(sectionTexts.join(' '))).toEqual(words(LONG));
  expect(sectionTexts.join(' ')).toContain('R&D <b> word3000');
  // One reply, answering once: the first piece only is the answer, the rest follow in order.
  expect(await sentinel(LONG_DM, (text) => dm(LONG_DM, text))).toHaveLength(posts.length);
}, 120_000);

const words = (text: string) => text.split(/\s+/).filter((word) => word !== '');

test('a 429 with retry_after on the send is waited out, and the reply is posted once', async () => {
  slack.failNext('chat.postMessage', 1, { status: 429, retryAfter: 2 });
  slack.sendEvent(dm(DM, 'rate me'));
  await waitForPost(DM, (m) => m.text === 'echo: rate me');
  const tries = slack.callsTo('chat.postMessage').filter((c) => c.params.text === 'echo: rate me');
  expect(tries).toHaveLength(2);
  expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(2000);
  const before = await sentinel(DM, (text) => dm(DM, text));
  expect(repliesSaying(before, 'echo: rate me')).toHaveLength(1);
}, 120_000);

test("an approval card arrives in the owner's DM with buttons; someone else's press is refused, the owner's decides it and the agent's follow-up arrives", async () => {
  slack.sendEvent(dm(DEPLOY_DM, 'please deploy'));
  const card = await waitForPost(OWNER_DM, (m) => m.blocks?.some((b) => b.type === 'actions') ?? false);
  const body = card.blocks!.map((b) => b.text?.text ?? '').join('\n');
  const approvalId = /Approval (apr_\S+),/.exec(unescape(body))?.[1];
  expect(approvalId, body).toBeDefined();
  const buttons = card.blocks!.filter((b) => b.type === 'actions').flatMap((b) => b.elements!);
  const approve = buttons.find((b) => b.text.text === 'Approve');
  expect(buttons.map((b) => b.text.text)).toContain('Reject');
  expect(approve?.value).toMatch(/^[\x20-\x7e]{1,64}$/);

  const press = (user: string, trigger: string) =>
    slack.sendInteraction({
      type: 'block_actions',
      trigger_id: trigger,
      user: { id: user },
      channel: { id: OWNER_DM },
      container: { channel_id: OWNER_DM, message_ts: card.ts },
      message: { ts: card.ts },
      actions: [{ action_id: 'warren_0', value: approve!.value, action_ts: newTs() }],
    });

  press('UMAL', 'trigger-mallory');
  await waitForPost(OWNER_DM, (m) => /^Sorry, only a signed-in person/.test(m.text ?? ''), 30_000);
  expect(getApproval(w.db(), approvalId!)!.status).toBe('pending');
  expect(slack.callsTo('chat.update')).toHaveLength(0);

  press('UOWNER', 'trigger-olga');
  const outcome = await waitForPost(DEPLOY_DM, (m) => (m.text ?? '').startsWith('decision:'));
  expect(unescape(outcome.text!)).toContain('approved: true');
  expect(getApproval(w.db(), approvalId!)).toMatchObject({ status: 'approved' });
  // The card is edited to its outcome and loses its buttons.
  await waitUntil(
    () => slack.callsTo('chat.update').find((c) => c.params.ts === card.ts),
    20_000,
    () => 'the card was not updated',
  );
  const update = slack.callsTo('chat.update').find((c) => c.params.ts === card.ts)!;
  expect(JSON.stringify(update.params.blocks)).not.toContain('"actions"');
}, 120_000);

test('a file sent in reaches the agent, and a file the agent sends arrives on Slack with its bytes', async () => {
  const secret = `the milk expires on ${new Date().toISOString()}`;
  const file = slack.addFile('notes.txt', Buffer.from(secret), 'text/plain');
  slack.sendEvent(dm(FILES_DM, 'what is in it?', { subtype: 'file_share', files: [file] }));
  const reply = await waitForPost(FILES_DM, (m) => (m.text ?? '').includes('\n---\n'));
  const [listing, read] = unescape(reply.text!).split('\n---\n');
  expect(listing).toMatch(
    new RegExp(
      `^notes\\.txt \\(text/plain, ${secret.length} bytes\\) at /session/in/inbox/\\S+/notes\\.txt$`,
    ),
  );
  expect(read).toBe(secret);
  expect(slack.downloads).toEqual([
    { path: new URL(file.url_private_download).pathname, authorization: `Bearer ${BOT_TOKEN}` },
  ]);

  writeFileSync(join(w.groupsDir, 'main', 'report.csv'), 'month,sales\njan,3\n');
  slack.sendEvent(dm(FILES_DM, 'send me the report'));
  const upload = await waitUntil(
    () => slack.uploads.find((u) => u.name === 'report.csv' && u.completed),
    60_000,
    () => `uploads: ${JSON.stringify(slack.uploads)}`,
  );
  expect(upload.bytes?.toString()).toBe('month,sales\njan,3\n');
  expect(upload.completed).toMatchObject({ channel_id: FILES_DM });
  await waitForPost(FILES_DM, (m) => m.text === 'here');
}, 120_000);

test('Slack stops answering: the channel is reported unhealthy within the stale bound, recovers by itself, and a message sent meanwhile is answered once', async () => {
  expect(await health()).toMatchObject({ connected: true, lastError: null });
  const hungAt = Date.now();
  slack.hang();
  const down = await waitUntil(
    async () => {
      const h = await health();
      return h.connected ? undefined : h;
    },
    STALE_AFTER_MS + 10_000,
    () => 'the channel never became unhealthy',
  );
  expect(Date.now() - hungAt).toBeLessThanOrEqual(STALE_AFTER_MS + CHECK_SECONDS * 1000 + 2000);
  expect(down.lastError).toBeTruthy();
  await waitUntil(
    () => slack.connections() === 0,
    10_000,
    () => 'the dead socket was not closed',
  );

  // Sent while Warren cannot reach Slack: Slack keeps the envelope until someone acknowledges it.
  const missed = slack.sendEvent(dm(DM, 'sent while down'));
  const inboundBefore = (await health()).lastInboundAt;

  slack.resume();
  await waitUntil(
    async () => (await health()).connected,
    30_000,
    () => 'the channel did not recover',
  );
  await waitForPost(DM, (m) => m.text === 'echo: sent while down');
  expect(slack.acked(missed.envelopeId)).toBe(true);
  expect((await health()).lastInboundAt).not.toBe(inboundBefore);
  const before = await sentinel(DM, (text) => dm(DM, text));
  expect(repliesSaying(before, 'echo: sent while down')).toHaveLength(1);
}, 120_000);
