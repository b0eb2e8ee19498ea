// Discord end to end (issue 12 "Must show"): a real host with real containers, the real discord.js REST
// client and @discordjs/ws gateway pointed at a fake Discord on loopback (test/harness/fake-discord.ts:
// REST, a gateway handed out by /gateway/bot, a CDN). Messages go in as gateway dispatches; what Warren
// posts is read back from the fake's record of REST calls.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { getApproval, listPendingApprovals } from '../../src/db/approvals.ts';
import { listDroppedMessages } from '../../src/db/dropped-messages.ts';
import { createMessagingGroup } from '../../src/db/messaging-groups.ts';
import { grantRole } from '../../src/db/roles.ts';
import { createApiToken } from '../../src/db/tokens.ts';
import { setUserDm } from '../../src/db/user-dms.ts';
import { createWiring } from '../../src/db/wirings.ts';
import { userForAccount } from '../../src/host/access/index.ts';
import {
  ALICE,
  BOB,
  BOT,
  DM,
  GENERAL,
  THREAD,
  startFakeDiscord,
  type FakeDiscord,
  type RecordedCall,
} from '../harness/fake-discord.ts';
import { deployApprovalRule, startWarren, waitUntil, type Warren } from '../harness/warren.ts';

/**
 * Short liveness bounds so the outage test takes seconds. The defaults (staleAfterMs 90 s, a check
 * every 5 s) report a dead link within 95 s, inside the "unhealthy within 2 minutes".
 */
const STALE_MS = 5_000;
const CHECK_MS = 1_000;

/** Over Discord's 2,000-character limit: unique words, so a word cut in two would show. */
const LONG = Array.from(
  { length: 40 },
  (_, p) => `${Array.from({ length: 15 }, (_, i) => `word${p}x${i}`).join(' ')}.`,
).join('\n\n');

let fake: FakeDiscord;
let w: Warren;
let apiToken: string;

beforeAll(async () => {
  fake = await startFakeDiscord();
  w = await startWarren({
    script: {
      rules: [
        { match: '^long', steps: [{ reply: LONG }] },
        deployApprovalRule('Deploy the site', 'v2', { reply: 'asked' }),
        { match: '^approval_decided$', steps: [{ reply: 'decision: {{prompt}}' }] },
        { match: '^what is in it', steps: [{ reply: '{{attachment_text}}' }] },
        { match: '^send me the report', steps: [{ tool: 'send_file', args: { path: 'report.csv' } }] },
      ],
      default: [{ reply: 'echo: {{text}}' }],
    },
    env: { DISCORD_BOT_TOKEN: fake.token },
    installations: [
      {
        channelType: 'discord',
        name: 'discord',
        config: {
          apiBaseUrl: fake.apiUrl,
          cdnUrl: fake.cdnUrl,
          staleAfterMs: STALE_MS,
          requestTimeoutMs: 5_000,
          connectTimeoutMs: 5_000,
        },
      },
    ],
    config: { channels: { watchdogCheckSeconds: CHECK_MS / 1000 } },
  });
  // Platform chats are not auto-wired: the DM and the guild channel (its threads are threads of it),
  // made as the router makes them (a guild channel is a group: nobody's DM).
  const { db } = w.wire;
  const now = new Date().toISOString();
  const main = w.wire.main();
  const chat = (platformId: string, isGroup: boolean) =>
    createMessagingGroup(
      db,
      { channelType: 'discord', platformId, isGroup, unknownSenderPolicy: 'public' },
      now,
    );
  const dm = chat(DM, false);
  createWiring(db, { messagingGroupId: dm.id, agentGroupId: main.id }, now);
  createWiring(db, { messagingGroupId: chat(GENERAL, true).id, agentGroupId: main.id }, now);
  // Alice owns the install; her DM with the bot is where approval cards reach her.
  const alice = userForAccount(db, { kind: 'discord', externalId: ALICE.id, name: 'Alice' }, now);
  grantRole(db, { userId: alice.id, role: 'owner' }, 'e2e', now);
  setUserDm(db, alice.id, dm.id, now);
  apiToken = createApiToken(db, alice.id, 'e2e', now).token;
  await waitUntil(
    async () => (await health()).connected,
    30_000,
    () => 'discord never connected',
  );
}, 90_000);

afterAll(async () => {
  await w?.stop();
  await fake?.close();
});

// --- reading what Warren posted ---

const json = (c: RecordedCall) =>
  (c.json ?? {}) as {
    content?: string;
    message_reference?: { message_id: string };
    components?: { components: { custom_id: string; label: string }[] }[];
    embeds?: { title?: string; description?: string }[];
    type?: number;
  };
/** Every attempt to post to a channel (a thread is a channel), answered or not. */
const attempts = (channelId: string) =>
  fake.calls.filter((c) => c.method === 'POST' && c.path === `/channels/${channelId}/messages`);
/** Messages that landed in a channel, in order. */
const posted = (channelId: string) => attempts(channelId).filter((c) => c.status === 200);
const answering = (id: string) => (c: RecordedCall) => json(c).message_reference?.message_id === id;
/** Landed messages answering `id`, in any channel. */
const repliesTo = (id: string) =>
  fake.calls.filter((c) => c.method === 'POST' && c.status === 200 && answering(id)(c));

function waitForPost(channelId: string, match: (c: RecordedCall) => boolean, timeoutMs = 60_000) {
  return waitUntil(
    () => posted(channelId).find(match),
    timeoutMs,
    () => `no matching post in ${channelId}: ${JSON.stringify(posted(channelId).map((c) => c.json))}`,
  );
}

let sentinels = 0;
/**
 * "Nothing else arrives", shown by a positive sentinel: one more message in the chat, answered by the
 * same session, whose replies go out in order. Resolves with the channel's posts before its reply.
 */
async function sentinel(channelId: string): Promise<RecordedCall[]> {
  const mention = channelId === DM ? '' : `<@${BOT.id}> `;
  const id = fake.message({
    channelId,
    content: `${mention}sentinel ${++sentinels}`,
    ...(mention ? { mentions: [BOT.id] } : {}),
  });
  const reply = await waitForPost(channelId, answering(id));
  return posted(channelId).slice(0, posted(channelId).indexOf(reply));
}

async function health(): Promise<{ connected: boolean; lastError: string | null }> {
  const res = await fetch(`${w.url}/api/channels`, { headers: { authorization: `Bearer ${apiToken}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { channels: { type: string; connected: boolean; lastError: string }[] };
  return body.channels.find((c) => c.type === 'discord')!;
}

const seqOf = (id: string) =>
  fake.delivered.filter((e) => e.t === 'MESSAGE_CREATE' && (e.d as { id: string }).id === id);

// --- the tests ---

test('a DM and a group mention each get one reply in their chat; a thread reply stays in its thread; an unmentioned group message is not answered', async () => {
  const dmId = fake.message({ channelId: DM, content: 'hello from the DM' });
  const groupId = fake.message({
    channelId: GENERAL,
    content: `<@${BOT.id}> hello group`,
    mentions: [BOT.id],
  });
  const threadId = fake.message({
    channelId: THREAD,
    content: `<@${BOT.id}> hello thread`,
    mentions: [BOT.id],
  });
  // The wiring's engage mode is 'mention' (the default), with ignored messages dropped.
  const quietId = fake.message({ channelId: GENERAL, content: 'just chatting', author: BOB });

  expect(json(await waitForPost(DM, answering(dmId))).content).toBe('echo: hello from the DM');
  expect(json(await waitForPost(GENERAL, answering(groupId))).content).toBe('echo: hello group');
  expect(json(await waitForPost(THREAD, answering(threadId))).content).toBe('echo: hello thread');
  await waitUntil(
    () => listDroppedMessages(w.db()).find((d) => d.lastMessageId === quietId),
    10_000,
    () =>
      `the unmentioned message was not recorded as dropped: ${JSON.stringify(listDroppedMessages(w.db()))}`,
  );

  await sentinel(GENERAL);
  await sentinel(THREAD);
  await sentinel(DM);
  for (const id of [dmId, groupId, threadId]) expect(repliesTo(id)).toHaveLength(1);
  expect(attempts(GENERAL).filter(answering(threadId))).toEqual([]);
  expect(fake.calls.filter(answering(quietId))).toEqual([]);
  expect(posted(GENERAL).map((c) => json(c).content)).not.toContain('echo: just chatting');
}, 120_000);

test('a message redelivered by a resume replay, and again under a new sequence number, gets exactly one reply', async () => {
  const id = fake.message({ channelId: DM, content: 'say this once' });
  await waitForPost(DM, answering(id));
  const [first] = seqOf(id);

  // The socket drops; the next RESUME replays from before the message, which the bot had already seen.
  const resumes = fake.gatewayOps.filter((op) => op.op === 6).length;
  fake.replayNextResumeFrom(first!.s - 1);
  fake.dropSocket();
  await waitUntil(
    () => seqOf(id).length === 2,
    15_000,
    () => 'the message was not replayed',
  );
  expect(fake.gatewayOps.filter((op) => op.op === 6).length).toBeGreaterThan(resumes);
  // Discord delivers at least once: the same message may come again as a new dispatch, a new sequence.
  const again = fake.dispatch('MESSAGE_CREATE', first!.d);
  expect(again).toBeGreaterThan(first!.s);

  const before = await sentinel(DM);
  expect(before.filter(answering(id))).toHaveLength(1);
  expect(repliesTo(id)).toHaveLength(1);
}, 90_000);

test('a reply over 2,000 characters arrives split at word boundaries, in order, nothing lost', async () => {
  const id = fake.message({ channelId: DM, content: 'long one please' });
  const start = posted(DM).length;
  const lastWord = LONG.slice(LONG.lastIndexOf(' ') + 1);
  await waitForPost(DM, (c) => (json(c).content ?? '').endsWith(lastWord));
  const pieces = posted(DM).slice(start);

  expect(pieces.length).toBeGreaterThanOrEqual(3);
  for (const piece of pieces) expect(json(piece).content!.length).toBeLessThanOrEqual(2000);
  expect(pieces.map((p) => json(p).message_reference?.message_id)).toEqual([
    id,
    ...pieces.slice(1).map(() => undefined),
  ]);
  // Every word whole and in order: a cut word would be two tokens that are not in the original.
  const words = (text: string) => text.split(/\s+/).filter(Boolean);
  expect(pieces.flatMap((p) => words(json(p).content!))).toEqual(words(LONG));
  // Nothing more for it: the chat's next reply comes right after the pieces.
  expect((await sentinel(DM)).slice(start)).toEqual(pieces);
}, 90_000);

test('a 429 with retry_after is waited out before the next call, and the reply lands once', async () => {
  fake.rateLimitNext('POST /channels/:id/messages', 1, 1.5);
  const id = fake.message({ channelId: DM, content: 'rate limit me' });
  await waitForPost(DM, answering(id));

  const tries = attempts(DM).filter(answering(id));
  expect(tries.map((c) => c.status)).toEqual([429, 200]);
  expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(1_500);
  expect(json(tries[1]!).content).toBe('echo: rate limit me');
  await sentinel(DM);
  expect(repliesTo(id)).toHaveLength(1);
}, 90_000);

test('an approval card reaches the owner’s DM with buttons; a press by someone else is refused, the owner’s decides it; each press is acknowledged within 3 s', async () => {
  const askId = fake.message({
    channelId: GENERAL,
    content: `<@${BOT.id}> please deploy`,
    mentions: [BOT.id],
  });
  const card = await waitForPost(DM, (c) => (json(c).components?.length ?? 0) > 0);
  // The card's title and body show as an embed, the buttons under it.
  const [embed] = json(card).embeds ?? [];
  expect(embed?.title).toMatch(/^Approval needed/);
  expect(embed?.description).toContain('version: "v2"');
  const buttons = json(card).components!.flatMap((row) => row.components);
  expect(buttons.map((b) => b.label)).toEqual(expect.arrayContaining(['Approve', 'Reject']));
  const approve = buttons.find((b) => b.label === 'Approve')!;
  const cardId = (card.response as { id: string }).id;
  const [approval, ...others] = listPendingApprovals(w.db());
  expect(others).toEqual([]);

  /** Presses the button; returns the interaction callback, checked to have reached Discord within 3 s. */
  async function press(user: typeof ALICE): Promise<void> {
    const pressedAt = Date.now();
    const interaction = fake.press({ customId: approve.custom_id, messageId: cardId, channelId: DM, user });
    const ack = await waitUntil(
      () => fake.calls.find((c) => c.path.startsWith(`/interactions/${interaction}/`)),
      3_000,
      () => `press ${interaction} was not answered within 3 s`,
    );
    expect(ack.method).toBe('POST');
    expect(json(ack).type).toBe(6); // DEFERRED_UPDATE_MESSAGE
    expect(ack.at - pressedAt).toBeLessThan(3_000);
  }

  // Bob is not the person the card was sent to: refused, and the approval stays pending.
  await press(BOB);
  await waitForPost(DM, (c) => /^Sorry, this card was not shown to you/.test(json(c).content ?? ''), 15_000);
  expect(getApproval(w.db(), approval!.id)!.status).toBe('pending');

  await press(ALICE);
  const outcome = await waitForPost(GENERAL, (c) => (json(c).content ?? '').startsWith('decision:'));
  expect(json(outcome).content).toContain('approved: true');
  expect(getApproval(w.db(), approval!.id)!.status).toBe('approved');
  // The decided card is edited to say so, and loses its buttons.
  const closed = await waitUntil(
    () => fake.calls.find((c) => c.method === 'PATCH' && c.path === `/channels/${DM}/messages/${cardId}`),
    15_000,
    () => 'the card was not edited',
  );
  expect(json(closed).components).toEqual([]);
  expect(repliesTo(askId).map((c) => json(c).content)).toContain('asked');
}, 120_000);

test('a file sent in reaches the agent; a file the agent sends arrives with its bytes', async () => {
  const secret = `the milk expires on ${new Date().toISOString()}`;
  const url = fake.cdnFile('notes.txt', Buffer.from(secret));
  const inId = fake.message({
    channelId: DM,
    content: 'what is in it?',
    attachments: [{ filename: 'notes.txt', url, size: secret.length, content_type: 'text/plain' }],
  });
  expect(json(await waitForPost(DM, answering(inId))).content).toBe(secret);
  expect(fake.cdnHits).toContain('/attachments/notes.txt');

  const csv = 'month,sales\njan,3\n';
  await writeFile(join(w.groupsDir, 'main', 'report.csv'), csv);
  fake.message({ channelId: DM, content: 'send me the report' });
  const upload = await waitForPost(DM, (c) => (c.files?.length ?? 0) > 0);
  expect(upload.files!.map((f) => [f.name, f.data.toString('utf8')])).toEqual([['report.csv', csv]]);
}, 90_000);

test('Discord stops answering: unhealthy within the stale bound, healthy again by itself, and the message sent meanwhile is answered once', async () => {
  expect(await health()).toMatchObject({ connected: true, lastError: null });
  const resumes = fake.gatewayOps.filter((op) => op.op === 6).length;

  const silentAt = Date.now();
  fake.goSilent();
  const down = await waitUntil(
    async () => {
      const h = await health();
      return h.connected ? undefined : h;
    },
    STALE_MS + 10_000,
    () => 'the channel never became unhealthy',
  );
  const detectedMs = Date.now() - silentAt;
  // The last heartbeat ack came before the silence; then at most one check period, plus polling.
  expect(detectedMs).toBeLessThan(STALE_MS + 2 * CHECK_MS + 500);
  expect(down.lastError).toMatch(/no sign of life/);

  // Sent while the bot hears nothing: Discord keeps it in the session and replays it on RESUME.
  const meanwhile = fake.message({ channelId: DM, content: 'sent while you were away' });
  fake.comeBack();
  await waitUntil(
    async () => (await health()).connected,
    60_000,
    () => 'the channel did not recover',
  );
  const reply = await waitForPost(DM, answering(meanwhile));
  expect(json(reply).content).toBe('echo: sent while you were away');
  // The link came back by resuming the session (a fresh session would not have replayed the message).
  expect(fake.gatewayOps.filter((op) => op.op === 6).length).toBeGreaterThan(resumes);

  await sentinel(DM);
  expect(repliesTo(meanwhile)).toHaveLength(1);
}, 120_000);

test('after Discord refuses a resume (a new session, sequence numbers from 1 again), new messages are still answered', async () => {
  const identifies = fake.gatewayOps.filter((op) => op.op === 2).length;
  fake.invalidateNextResume();
  fake.dropSocket();
  await waitUntil(
    () => fake.gatewayOps.filter((op) => op.op === 2).length > identifies,
    15_000,
    () => 'the client did not identify anew',
  );
  // Its first message has a sequence number the old session already used for a message.
  const id = fake.message({ channelId: DM, content: 'new session, same numbers' });
  const [event] = seqOf(id);
  expect(fake.delivered.some((e) => e.t === 'MESSAGE_CREATE' && e.s === event!.s && e !== event)).toBe(true);
  expect(json(await waitForPost(DM, answering(id), 30_000)).content).toBe('echo: new session, same numbers');
}, 60_000);
