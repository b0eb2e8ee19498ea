// The Discord adapter against a fake Discord on loopback (test/harness/fake-discord.ts): the real
// discord.js REST client and @discordjs/ws gateway, no host. What arrives is normalized, what is posted
// lands in the right channel, and the link survives drops, restarts and silence.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { InboundMessage } from '../../src/host/channels/channel.ts';
import { ChannelSendError } from '../../src/host/channels/channel.ts';
import { createDiscordAdapter } from '../../src/host/channels/adapters/discord/index.ts';
import type { PlatformAdapter, PlatformEvents } from '../../src/host/channels/platform.ts';
import { createLogger } from '../../src/host/logger.ts';
import {
  ALICE,
  BOB,
  BOT,
  DM,
  GENERAL,
  LATE_THREAD,
  THREAD,
  startFakeDiscord,
  type FakeDiscord,
} from '../harness/fake-discord.ts';
import { waitUntil } from '../harness/wait-until.ts';
import { memoryChannelState } from '../harness/channel-state.ts';

const MAX_FILE = 1000;

interface Recorder extends PlatformEvents {
  messages: { message: InboundMessage; eventId?: string }[];
  alives: number;
  failures: unknown[];
}

function recorder(): Recorder {
  const r: Recorder = {
    messages: [],
    alives: 0,
    failures: [],
    message: async (message, eventId) => void r.messages.push({ message, eventId }),
    alive: () => void r.alives++,
    failed: (err) => void r.failures.push(err),
  };
  return r;
}

let fake: FakeDiscord;
let adapter: PlatformAdapter;
let events: Recorder;
let logText: string;
let dir: string;

function makeAdapter(token = fake.token, settings: Record<string, unknown> = {}): PlatformAdapter {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logText += chunk.toString();
      done();
    },
  });
  return createDiscordAdapter({
    installation: 'discord-main',
    apiBaseUrl: fake.apiUrl,
    settings: { cdnUrl: fake.cdnUrl, ...settings },
    secret: (role) => {
      if (role !== 'botToken') throw new Error(`no secret ${role}`);
      return token;
    },
    maxInboundFileBytes: MAX_FILE,
    state: memoryChannelState(),
    log: createLogger('debug', sink),
    clock: () => new Date(),
  });
}

async function nextMessage(count = events.messages.length + 1): Promise<InboundMessage> {
  return (
    await waitUntil(
      () => events.messages[count - 1],
      5000,
      () => `message #${count}`,
    )
  ).message;
}

const posts = (channelId: string) =>
  fake.calls.filter((c) => c.method === 'POST' && c.path === `/channels/${channelId}/messages`);

beforeEach(async () => {
  fake = await startFakeDiscord({ heartbeatIntervalMs: 200 });
  events = recorder();
  logText = '';
  dir = await mkdtemp(join(tmpdir(), 'warren-discord-'));
  adapter = makeAdapter();
  await adapter.start(events);
});

afterEach(async () => {
  await adapter.stop();
  await fake.close();
  await rm(dir, { recursive: true, force: true });
  expect(logText).not.toContain(fake.token);
});

describe('what arrives', () => {
  test('a DM is addressed to the bot, from its sender, in a chat of its own', async () => {
    const id = fake.message({ channelId: DM, content: 'hello there' });
    const m = await nextMessage();
    expect(m).toMatchObject({
      channelType: 'discord-main',
      installation: 'discord-main',
      platformMessageId: id,
      chat: { id: DM, isGroup: false },
      sender: { id: ALICE.id, name: 'Alice', isBot: false },
      threadId: null,
      text: 'hello there',
      mentioned: true,
      attachments: [],
    });
    expect(Date.parse(m.timestamp)).not.toBeNaN();
    expect(events.messages[0]!.eventId).toMatch(/^session-\d+:\d+$/);
  });

  test('a group message mentioning the bot is addressed to it, the mention taken out of the text', async () => {
    fake.message({
      channelId: GENERAL,
      content: `<@${BOT.id}> what is up?`,
      mentions: [BOT.id],
      author: BOB,
    });
    const m = await nextMessage();
    expect(m).toMatchObject({ chat: { id: GENERAL, isGroup: true }, text: 'what is up?', mentioned: true });
    expect(m.sender).toMatchObject({ id: BOB.id, name: 'bob' });
  });

  test('a group message without a mention is not addressed to the bot', async () => {
    fake.message({ channelId: GENERAL, content: 'just chatting' });
    expect(await nextMessage()).toMatchObject({ mentioned: false, text: 'just chatting' });
  });

  test('a message in a thread names the parent channel as the chat and the thread as threadId', async () => {
    fake.message({ channelId: THREAD, content: `<@${BOT.id}> in a thread`, mentions: [BOT.id] });
    expect(await nextMessage()).toMatchObject({
      chat: { id: GENERAL },
      threadId: THREAD,
      text: 'in a thread',
    });
  });

  test('a thread the gateway never announced is looked up once over REST', async () => {
    fake.message({ channelId: LATE_THREAD, content: 'one' });
    fake.message({ channelId: LATE_THREAD, content: 'two' });
    expect(await nextMessage(2)).toMatchObject({ chat: { id: GENERAL }, threadId: LATE_THREAD });
    expect(events.messages[0]!.message.threadId).toBe(LATE_THREAD);
    expect(fake.calls.filter((c) => c.path === `/channels/${LATE_THREAD}`)).toHaveLength(1);
  });

  test("a reply to the bot's message is addressed to it and carries what it answers", async () => {
    fake.message({
      channelId: GENERAL,
      content: 'yes please',
      reference: { id: '555000000000000001', content: 'Shall I?', author: BOT },
    });
    expect(await nextMessage()).toMatchObject({
      mentioned: true,
      replyTo: { platformMessageId: '555000000000000001', text: 'Shall I?', sender: 'warren-bot' },
    });
  });

  test("the bot's own messages are ignored", async () => {
    fake.message({ channelId: GENERAL, content: 'I said this', author: BOT });
    fake.message({ channelId: GENERAL, content: 'marker' });
    expect(await nextMessage()).toMatchObject({ text: 'marker' });
    expect(events.messages).toHaveLength(1);
  });

  test('a malformed event is skipped with a log line and the next one still arrives', async () => {
    fake.dispatch('MESSAGE_CREATE', { id: 'not-a-snowflake', channel_id: GENERAL, content: 42 });
    fake.dispatch('MESSAGE_CREATE', null);
    fake.dispatch('INTERACTION_CREATE', { type: 3, id: '1' });
    fake.message({ channelId: GENERAL, content: 'after the junk' });
    expect(await nextMessage()).toMatchObject({ text: 'after the junk' });
    expect(events.messages).toHaveLength(1);
    expect(logText).toContain('MESSAGE_CREATE malformed; skipped');
    expect(logText).toContain('INTERACTION_CREATE malformed; skipped');
  });

  test('the same message dispatched again comes with the same platformMessageId', async () => {
    const id = fake.message({ channelId: GENERAL, content: 'twice' });
    fake.message({ id, channelId: GENERAL, content: 'twice' });
    await nextMessage(2);
    const [first, second] = events.messages;
    expect(first!.message.platformMessageId).toBe(id);
    expect(second!.message.platformMessageId).toBe(id);
    expect(first!.eventId).not.toBe(second!.eventId);
  });
});

describe('files in', () => {
  test('an attachment on the CDN is downloaded into the message', async () => {
    const url = fake.cdnFile('notes.txt', Buffer.from('file body'));
    fake.message({
      channelId: DM,
      content: 'see file',
      attachments: [{ filename: 'notes.txt', url, size: 9, content_type: 'text/plain' }],
    });
    const m = await nextMessage();
    expect(m.attachments).toHaveLength(1);
    expect(m.attachments[0]).toMatchObject({ name: 'notes.txt', type: 'text/plain', size: 9 });
    expect(m.attachments[0]!.data.toString()).toBe('file body');
  });

  test('a file over the cap is not downloaded and the text says so', async () => {
    const url = fake.cdnFile('big.bin', Buffer.alloc(MAX_FILE + 1));
    fake.message({
      channelId: DM,
      content: '',
      attachments: [{ filename: 'big.bin', url, size: MAX_FILE + 1 }],
    });
    const m = await nextMessage();
    expect(m.attachments).toEqual([]);
    expect(m.text).toBe(`[file too large: big.bin (${MAX_FILE + 1} bytes)]`);
    expect(fake.cdnHits).toEqual([]);
  });

  test('a file whose declared size lies is read no further than the cap', async () => {
    const url = fake.cdnFile('liar.bin', Buffer.alloc(MAX_FILE * 50));
    fake.message({ channelId: DM, content: 'x', attachments: [{ filename: 'liar.bin', url, size: 10 }] });
    const m = await nextMessage();
    expect(m.attachments).toEqual([]);
    expect(m.text).toBe(`x\n[file too large: liar.bin (larger than ${MAX_FILE} bytes)]`);
  });

  test('an attachment URL outside the CDN is never fetched', async () => {
    const evil = `${fake.apiUrl.replace('/api', '')}/internal/secret`;
    fake.message({ channelId: DM, content: 'x', attachments: [{ filename: 'a.txt', url: evil, size: 3 }] });
    const m = await nextMessage();
    expect(m.attachments).toEqual([]);
    expect(m.text).toContain('[file not received: a.txt (not from the platform)]');
    expect(fake.strayHits).toEqual([]);
  });
});

describe('what is posted', () => {
  test('a piece in a thread goes to the thread channel, as a reply when it answers a message', async () => {
    const posted = await adapter.post({
      chatId: GENERAL,
      threadId: THREAD,
      replyTo: '555000000000000009',
      text: 'in thread',
    });
    const [call] = posts(THREAD);
    expect(call!.json).toMatchObject({
      content: 'in thread',
      message_reference: { message_id: '555000000000000009' },
      allowed_mentions: { parse: [] },
    });
    expect(posted.platformMessageId).toMatch(/^\d+$/);
    expect(posts(GENERAL)).toHaveLength(0);
  });

  test('buttons come in rows of five and a press is acknowledged, then delivered as an action', async () => {
    const buttons = Array.from({ length: 7 }, (_, i) => ({ label: `Option ${i}`, token: `t${i}` }));
    const card = await adapter.post({
      chatId: GENERAL,
      threadId: null,
      replyTo: null,
      text: 'Pick one',
      buttons,
    });
    const rows = (posts(GENERAL)[0]!.json as { components: { components: { custom_id: string }[] }[] })
      .components;
    expect(rows.map((r) => r.components.length)).toEqual([5, 2]);
    expect(rows[1]!.components[1]!.custom_id).toBe('t6');

    const pressId = fake.press({
      customId: 't3',
      messageId: card.platformMessageId,
      channelId: GENERAL,
      user: BOB,
    });
    const m = await nextMessage();
    expect(m).toMatchObject({
      platformMessageId: pressId,
      text: 't3',
      action: { value: 't3', platformMessageId: card.platformMessageId },
      chat: { id: GENERAL, isGroup: true },
      sender: { id: BOB.id },
      mentioned: true,
    });
    const ack = fake.calls.find((c) => c.path.startsWith(`/interactions/${pressId}/`));
    expect(ack).toMatchObject({ method: 'POST', json: { type: 6 } });
    expect(ack!.headers.authorization).toBeUndefined();
  });

  test('a press is acknowledged at once even while an earlier message is still being stored', async () => {
    let release!: () => void;
    const stored = new Promise<void>((resolve) => (release = resolve));
    const slow = events.message;
    events.message = async (message, eventId) => {
      if (message.text === 'slow one') await stored; // Warren's database is busy with this one
      return slow(message, eventId);
    };
    fake.message({ channelId: DM, content: 'slow one' });
    await waitUntil(
      () => events.alives > 0,
      5000,
      () => 'no event',
    );
    const pressId = fake.press({
      customId: 'ok',
      messageId: '555000000000000003',
      channelId: GENERAL,
      user: BOB,
    });
    await waitUntil(
      () => fake.calls.find((c) => c.path.startsWith(`/interactions/${pressId}/`)),
      3000,
      () => 'the press was not acknowledged within 3 s while the queue was busy',
    );
    expect(events.messages.some((m) => m.message.platformMessageId === pressId)).toBe(false); // still in order
    release();
    await waitUntil(
      () => events.messages.some((m) => m.message.platformMessageId === pressId),
      5000,
      () => 'press',
    );
    expect(events.messages.map((m) => m.message.text).slice(-2)).toEqual(['slow one', 'ok']);
  });

  test('a press on a card in a thread names the thread', async () => {
    fake.press({ customId: 'ok', messageId: '555000000000000002', channelId: THREAD });
    expect(await nextMessage()).toMatchObject({
      chat: { id: GENERAL },
      threadId: THREAD,
      action: { value: 'ok' },
    });
  });

  test('a file goes out as a multipart upload', async () => {
    const path = join(dir, 'report.txt');
    await writeFile(path, 'report body');
    await adapter.post({
      chatId: DM,
      threadId: null,
      replyTo: null,
      text: '',
      file: { name: 'report.txt', path },
    });
    const [call] = posts(DM);
    expect(call!.files).toHaveLength(1);
    expect(call!.files![0]!.name).toBe('report.txt');
    expect(call!.files![0]!.data.toString()).toBe('report body');
  });

  test('edits, reactions and typing reach the right channel', async () => {
    const posted = await adapter.post({ chatId: GENERAL, threadId: THREAD, replyTo: null, text: 'v1' });
    await adapter.edit!(GENERAL, THREAD, posted.platformMessageId, 'v2');
    await adapter.react!(GENERAL, posted.platformMessageId, '👍');
    await adapter.typing!(GENERAL, THREAD);
    const paths = fake.calls.map((c) => `${c.method} ${c.path}`);
    expect(paths).toContain(`PATCH /channels/${THREAD}/messages/${posted.platformMessageId}`);
    expect(paths).toContain(
      `PUT /channels/${THREAD}/messages/${posted.platformMessageId}/reactions/${encodeURIComponent('👍')}/@me`,
    );
    expect(paths).toContain(`POST /channels/${THREAD}/typing`);
  });

  test('a 429 becomes rate_limited with retryAfterMs, and the retry after it posts once', async () => {
    fake.rateLimitNext('POST /channels/:id/messages', 1, 1);
    const piece = { chatId: GENERAL, threadId: null, replyTo: null, text: 'patience' };
    const err = await adapter.post(piece).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelSendError);
    expect(err).toMatchObject({ code: 'rate_limited' });
    expect((err as ChannelSendError).retryAfterMs).toBeGreaterThanOrEqual(1000);
    await sleep((err as ChannelSendError).retryAfterMs!);
    await adapter.post(piece);
    expect(posts(GENERAL)).toHaveLength(2); // the refused one and the one that landed
  });

  test('a piece whose answer was lost is posted again with the same nonce, and Discord keeps one message', async () => {
    const piece = {
      chatId: GENERAL,
      threadId: null,
      replyTo: null,
      text: 'said once',
      nonce: 'n'.repeat(25),
    };
    fake.loseNextPostAnswer();
    await expect(adapter.post(piece)).rejects.toMatchObject({ code: 'transient' });
    const retried = await adapter.post(piece);
    const stored = fake.stored(GENERAL).filter((m) => m.content === 'said once');
    expect(stored).toEqual([expect.objectContaining({ id: retried.platformMessageId, nonce: piece.nonce })]);
    expect(posts(GENERAL).at(-1)?.json).toMatchObject({ nonce: piece.nonce, enforce_nonce: true });
  });

  test.each([
    [401, 'auth_failed'],
    [403, 'forbidden'],
    [404, 'not_found'],
    [413, 'too_large'],
    [400, 'invalid_request'],
    [502, 'transient'],
  ])('an answer %i becomes %s', async (status, code) => {
    fake.failNext('POST /channels/:id/messages', 1, { status, body: { message: 'no', code: 0 } });
    await expect(
      adapter.post({ chatId: GENERAL, threadId: null, replyTo: null, text: 'x' }),
    ).rejects.toMatchObject({ code });
  });

  test('a message too long for Discord becomes too_large', async () => {
    fake.failNext('POST /channels/:id/messages', 1, {
      status: 400,
      body: {
        message: 'Invalid Form Body',
        code: 50035,
        errors: {
          content: {
            _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }],
          },
        },
      },
    });
    await expect(
      adapter.post({ chatId: GENERAL, threadId: null, replyTo: null, text: 'x' }),
    ).rejects.toMatchObject({ code: 'too_large' });
  });
});

describe('credentials', () => {
  test('probe names the bot', async () => {
    expect(await adapter.probe()).toEqual({ botName: 'warren-bot' });
  });

  test('a wrong token is auth_failed, from probe and from start', async () => {
    const wrong = makeAdapter('wrong-token');
    await expect(wrong.probe()).rejects.toMatchObject({ code: 'auth_failed' });
    await expect(wrong.start(recorder())).rejects.toMatchObject({ code: 'auth_failed' });
    await wrong.stop();
  });
});

describe('the link', () => {
  test('heartbeat acks call alive() while the link is healthy', async () => {
    const before = events.alives;
    await waitUntil(
      () => events.alives >= before + 3,
      5000,
      () => `alive calls: ${events.alives}`,
    );
  });

  test('a dropped socket resumes, and what was dispatched meanwhile arrives once', async () => {
    fake.dropSocket();
    const id = fake.message({ channelId: DM, content: 'while you were away' });
    expect(await nextMessage()).toMatchObject({ platformMessageId: id });
    expect(fake.gatewayOps.filter((o) => o.op === 6)).toHaveLength(1);
    await sleep(300);
    expect(events.messages).toHaveLength(1);
  });

  test('stop() then start() resumes the session, and a message sent in between arrives', async () => {
    await adapter.stop();
    const id = fake.message({ channelId: DM, content: 'sent while stopped' });
    await adapter.start(events);
    expect(await nextMessage(1)).toMatchObject({ platformMessageId: id });
    expect(fake.gatewayOps.filter((o) => o.op === 2)).toHaveLength(1); // identified once, then resumed
    expect(fake.gatewayOps.filter((o) => o.op === 6)).toHaveLength(1);
    expect(fake.connections()).toBe(1);
  });

  test('a gateway refusal (disallowed intents) fails start() at once and tells the watchdog', async () => {
    fake.refuseNextIdentify(4014);
    const fresh = recorder();
    const other = makeAdapter();
    const started = Date.now();
    await expect(other.start(fresh)).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('Message Content intent'),
    });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(fresh.failures).toHaveLength(1);
    await other.stop();
  });

  test('a link stopped while reconnecting leaves no socket behind', async () => {
    fake.dropSocket();
    await sleep(50); // inside @discordjs/ws's 500 ms pause before it reconnects
    await adapter.stop();
    await sleep(1500);
    expect(fake.connections()).toBe(0);
  });

  test('stop() returns promptly while Discord hangs, and aborts a post in flight', async () => {
    fake.goSilent();
    const pending = adapter
      .post({ chatId: GENERAL, threadId: null, replyTo: null, text: 'stuck' })
      .catch((e: unknown) => e);
    await waitUntil(
      () => posts(GENERAL).length === 1,
      5000,
      () => 'the post reached the fake',
    );
    const started = Date.now();
    await adapter.stop();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await pending).toMatchObject({ code: 'transient' });
    fake.comeBack();
  });

  test('stop() during a start() that hangs returns promptly, and start() fails', async () => {
    await adapter.stop();
    fake.goSilent();
    const starting = adapter.start(events).catch((e: unknown) => e);
    await sleep(200);
    const started = Date.now();
    await adapter.stop();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await starting).toBeInstanceOf(ChannelSendError);
    fake.comeBack();
    await adapter.start(events);
    fake.message({ channelId: DM, content: 'back' });
    expect(await nextMessage()).toMatchObject({ text: 'back' });
  });
});
