// The Telegram adapter against a fake Bot API on loopback, through the real grammY client: what arrives
// is normalized, what is posted lands where it should, and the link survives 429s, hangs and restarts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, test } from 'vitest';
import { ChannelSendError, type InboundMessage } from '../../src/host/channels/channel.ts';
import {
  createTelegramAdapter,
  type TelegramAdapter,
} from '../../src/host/channels/adapters/telegram/index.ts';
import { cleanupsAfterEach } from '../harness/cleanups.ts';
import { startFakeTelegram, type FakeMessage, type FakeTelegram } from '../harness/fake-telegram.ts';
import { waitUntil } from '../harness/wait-until.ts';
import { memoryChannelState } from '../harness/channel-state.ts';

const TOKEN = '123456:AAE-secret-token_xyz';
const BOT = { id: 99, username: 'warren_bot' };
const cleanups = cleanupsAfterEach();

interface Setup {
  tg: FakeTelegram;
  adapter: TelegramAdapter;
  received: { message: InboundMessage; eventId: string | undefined }[];
  alive: { count: number };
  failures: unknown[];
  logs: string[];
  /** The next N messages are refused by "Warren" (events.message throws): Telegram must send them again. */
  refuse: { next: number };
  /** Every hand-over, taken or refused: `platformMessageId@eventId`. */
  attempts: string[];
}

async function setup(
  options: {
    settings?: Record<string, unknown>;
    token?: string;
    maxInboundFileBytes?: number;
    start?: boolean;
  } = {},
): Promise<Setup> {
  const tg = await startFakeTelegram({ token: TOKEN, bot: BOT });
  cleanups.push(() => tg.close());
  const logs: string[] = [];
  const received: Setup['received'] = [];
  const alive = { count: 0 };
  const failures: unknown[] = [];
  const refuse = { next: 0 };
  const secrets: Record<string, string> = {
    botToken: options.token ?? TOKEN,
    webhookSecret: 'hook-secret_1',
  };
  const adapter = createTelegramAdapter({
    installation: 'tg-main',
    apiBaseUrl: tg.apiRoot,
    settings: { pollTimeoutSeconds: 1, ...options.settings },
    secret: (role) => secrets[role] ?? '',
    maxInboundFileBytes: options.maxInboundFileBytes ?? 1_000,
    state: memoryChannelState(),
    log: pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) }),
    clock: () => new Date(),
  });
  const setupValue: Setup = { tg, adapter, received, alive, failures, logs, refuse, attempts: [] };
  if (options.start !== false) {
    await adapter.start(events(setupValue));
    cleanups.push(() => adapter.stop());
  }
  return setupValue;
}

function events(s: Setup) {
  return {
    message: async (message: InboundMessage, eventId?: string) => {
      s.attempts.push(`${message.platformMessageId}@${eventId}`);
      if (s.refuse.next > 0) {
        s.refuse.next -= 1;
        throw new Error('not durable');
      }
      s.received.push({ message, eventId });
    },
    alive: () => void (s.alive.count += 1),
    failed: (error: unknown) => void s.failures.push(error),
  };
}

const arrived = (s: Setup, count: number) =>
  waitUntil(
    () => (s.received.length >= count ? s.received : undefined),
    5_000,
    () => `expected ${count} messages, got ${s.received.length}`,
  );

async function sentCard(s: Setup, chatId: string): Promise<FakeMessage> {
  await s.adapter.post({
    chatId,
    threadId: null,
    replyTo: null,
    text: 'Approve?',
    buttons: [{ label: 'Yes', token: 't1' }],
  });
  return { message_id: 5000, date: 0, chat: s.tg.dm(Number(chatId)), from: { ...s.tg.bot } };
}

async function rejection(promise: Promise<unknown>): Promise<ChannelSendError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ChannelSendError);
  return error as ChannelSendError;
}

describe('normalization', () => {
  test('a DM arrives addressed to the bot, with its chat, sender, update id and time', async () => {
    const s = await setup();
    const { update_id, message_id } = s.tg.message({
      chat: s.tg.dm(7),
      from: s.tg.user(7, 'Ann'),
      text: 'hello',
      date: 1_700_000_000,
    });
    const [{ message, eventId }] = (await arrived(s, 1)) as [Setup['received'][0]];
    expect(eventId).toBe(String(update_id));
    expect(message).toMatchObject({
      channelType: 'tg-main',
      installation: 'tg-main',
      platformMessageId: String(message_id),
      chat: { id: '7', isGroup: false },
      sender: { id: '7', name: 'Ann', isBot: false },
      threadId: null,
      text: 'hello',
      mentioned: true,
      timestamp: '2023-11-14T22:13:20.000Z',
      attachments: [],
    });
  });

  test('a group message mentions the bot only with @username, which is stripped from the text', async () => {
    const s = await setup();
    const chat = s.tg.group(-1001, 'Team');
    s.tg.message({
      chat,
      from: s.tg.user(7),
      text: '@warren_bot what time is it?',
      entities: [{ type: 'mention', offset: 0, length: 11 }],
    });
    s.tg.message({ chat, from: s.tg.user(8), text: 'just chatting' });
    const [mention, chatter] = await arrived(s, 2);
    expect(mention!.message).toMatchObject({
      chat: { id: '-1001', name: 'Team', isGroup: true },
      text: 'what time is it?',
      mentioned: true,
    });
    expect(chatter!.message).toMatchObject({ text: 'just chatting', mentioned: false });
  });

  test('a message in a forum topic carries the topic as its thread, not as a reply', async () => {
    const s = await setup();
    const chat = s.tg.group(-1002, 'Forum', true);
    s.tg.message({
      chat,
      from: s.tg.user(7),
      text: 'in the topic',
      message_thread_id: 77,
      is_topic_message: true,
      reply_to_message: { message_id: 77, date: 1, chat, forum_topic_created: { name: 'Topic' } },
    });
    const [{ message }] = (await arrived(s, 1)) as [Setup['received'][0]];
    expect(message.threadId).toBe('77');
    expect(message.replyTo).toBeUndefined();
  });

  test("a reply to the bot's message is addressed to it and says what it answers", async () => {
    const s = await setup();
    const chat = s.tg.group(-1001);
    s.tg.message({
      chat,
      from: s.tg.user(7),
      text: 'yes please',
      reply_to_message: { message_id: 4242, date: 1, chat, from: s.tg.bot, text: 'Shall I?' },
    });
    const [{ message }] = (await arrived(s, 1)) as [Setup['received'][0]];
    expect(message.mentioned).toBe(true);
    expect(message.replyTo).toEqual({ platformMessageId: '4242', text: 'Shall I?', sender: 'Warren' });
  });

  test("the bot's own messages and malformed updates are skipped, and what follows still arrives", async () => {
    const s = await setup();
    s.tg.message({ chat: s.tg.dm(7), from: s.tg.bot, text: 'my own echo' });
    s.tg.raw({ message: 'not an object' });
    s.tg.message({ chat: { id: 'x', type: 'private' }, from: s.tg.user(7), text: 'bad chat id' });
    s.tg.message({ chat: s.tg.dm(7), from: s.tg.user(7), text: 'x'.repeat(70_000) });
    s.tg.raw({ callback_query: { id: 'cb-bad', from: { id: 'nope' } } });
    s.tg.message({ chat: s.tg.dm(7), from: s.tg.user(7), text: 'fine' });
    const [{ message }] = (await arrived(s, 1)) as [Setup['received'][0]];
    expect(message.text).toBe('fine');
    await waitUntil(
      () => s.tg.pending().length === 0,
      5_000,
      () => 'skipped updates were not confirmed',
    );
    expect(s.received).toHaveLength(1);
  });
});

describe('posting', () => {
  test('text goes into the thread and as a reply, plain, and its message id comes back', async () => {
    const s = await setup();
    const { platformMessageId } = await s.adapter.post({
      chatId: '-1002',
      threadId: '77',
      replyTo: '31',
      text: 'answer *here*',
    });
    const [call] = s.tg.calls('sendMessage');
    expect(call!.params).toMatchObject({
      chat_id: '-1002',
      text: 'answer *here*',
      message_thread_id: 77,
      reply_parameters: { message_id: 31, allow_sending_without_reply: true },
    });
    expect(call!.params.parse_mode).toBeUndefined();
    expect(platformMessageId).toMatch(/^\d+$/);
  });

  test('buttons become an inline keyboard whose callback_data is the token', async () => {
    const s = await setup();
    await s.adapter.post({
      chatId: '7',
      threadId: null,
      replyTo: null,
      text: 'Approve?',
      buttons: [
        { label: 'Approve', token: 'a1' },
        { label: 'Reject', token: 'r1' },
      ],
    });
    expect(s.tg.calls('sendMessage')[0]!.params.reply_markup).toEqual({
      inline_keyboard: [
        [{ text: 'Approve', callback_data: 'a1' }],
        [{ text: 'Reject', callback_data: 'r1' }],
      ],
    });
  });

  test("a card's title and body are the text above its buttons (a card's own text is empty)", async () => {
    const s = await setup();
    const card = { title: 'Approval needed', body: 'Deploy v2?', options: [{ label: 'Yes', value: 'y' }] };
    await s.adapter.post({
      chatId: '7',
      threadId: null,
      replyTo: null,
      text: '',
      card,
      buttons: [{ label: 'Yes', token: 'y1' }],
    });
    expect(s.tg.calls('sendMessage')[0]!.params.text).toBe('Approval needed\n\nDeploy v2?');
    // Too long for one message: shortened at a word, marked, still under Telegram's limit.
    await s.adapter.post({
      chatId: '7',
      threadId: null,
      replyTo: null,
      text: '',
      card: { ...card, body: 'word '.repeat(2000) },
      buttons: [{ label: 'Yes', token: 'y2' }],
    });
    const long = String(s.tg.calls('sendMessage')[1]!.params.text);
    expect(long.length).toBeLessThanOrEqual(4096);
    expect(long).toMatch(/^Approval needed\n\n(word )+word…$/);
  });

  test('a button token over 64 bytes is refused before anything is sent', async () => {
    const s = await setup();
    const error = await rejection(
      s.adapter.post({
        chatId: '7',
        threadId: null,
        replyTo: null,
        text: 'x',
        buttons: [{ label: 'x', token: 'x'.repeat(65) }],
      }),
    );
    expect(error.code).toBe('invalid_request');
    expect(s.tg.calls('sendMessage')).toHaveLength(0);
  });

  test('a file goes out as a document with its name, bytes and caption', async () => {
    const s = await setup();
    const dir = mkdtempSync(join(tmpdir(), 'tg-out-'));
    writeFileSync(join(dir, 'r.csv'), 'a,b\n1,2\n');
    await s.adapter.post({
      chatId: '7',
      threadId: null,
      replyTo: null,
      text: 'the report',
      file: { name: 'report.csv', path: join(dir, 'r.csv') },
    });
    const [call] = s.tg.calls('sendDocument');
    expect(call!.file).toMatchObject({ name: 'report.csv' });
    expect(call!.file!.data.toString()).toBe('a,b\n1,2\n');
    expect(call!.params).toMatchObject({ chat_id: 7, caption: 'the report' });
  });

  test('edit, reaction and typing call their methods', async () => {
    const s = await setup();
    await s.adapter.edit!('7', null, '5000', 'better');
    await s.adapter.react!('7', '5000', '👍');
    await s.adapter.typing!('-1002', '77');
    expect(s.tg.calls('editMessageText')[0]!.params).toMatchObject({
      chat_id: '7',
      message_id: 5000,
      text: 'better',
    });
    expect(s.tg.calls('setMessageReaction')[0]!.params).toMatchObject({
      reaction: [{ type: 'emoji', emoji: '👍' }],
    });
    expect(s.tg.calls('sendChatAction')[0]!.params).toMatchObject({
      action: 'typing',
      message_thread_id: 77,
    });
  });

  test('an edit to the same text ("message is not modified") counts as done', async () => {
    const s = await setup();
    s.tg.failNext('editMessageText', 1, 400, 'Bad Request: message is not modified');
    await expect(s.adapter.edit!('7', null, '5000', 'same')).resolves.toBeUndefined();
  });
});

describe('errors', () => {
  test('a 429 is rate_limited with retry_after in milliseconds, and nothing is retried by the library', async () => {
    const s = await setup();
    s.tg.failNext('sendMessage', 1, 429, 'Too Many Requests: retry after 3', { retry_after: 3 });
    const error = await rejection(s.adapter.post({ chatId: '7', threadId: null, replyTo: null, text: 'hi' }));
    expect(error).toMatchObject({ code: 'rate_limited', retryAfterMs: 3000 });
    expect(s.tg.calls('sendMessage')).toHaveLength(1);
  });

  test.each([
    [403, 'Forbidden: bot was blocked by the user', 'forbidden'],
    [400, 'Bad Request: chat not found', 'not_found'],
    [400, 'Bad Request: message is too long', 'too_large'],
    [400, 'Bad Request: wrong parameter', 'invalid_request'],
    [502, 'Bad Gateway', 'transient'],
  ])('a %i "%s" is %s', async (status, description, code) => {
    const s = await setup();
    s.tg.failNext('sendMessage', 1, status, description);
    const error = await rejection(s.adapter.post({ chatId: '7', threadId: null, replyTo: null, text: 'hi' }));
    expect(error.code).toBe(code);
  });

  test('a refused token is auth_failed from probe() and start(), and the token shows nowhere', async () => {
    const s = await setup({ token: '999:wrong-token', start: false });
    const probed = await rejection(s.adapter.probe());
    const started = await rejection(s.adapter.start(events(s)));
    expect([probed.code, started.code]).toEqual(['auth_failed', 'auth_failed']);
    expect(`${probed.message} ${started.message} ${s.logs.join('')}`).not.toContain('wrong-token');
  });

  test('probe() names the bot', async () => {
    const s = await setup({ start: false });
    expect(await s.adapter.probe()).toEqual({ botName: 'warren_bot' });
  });
});

describe('button presses', () => {
  test('a press is answered at once and arrives as the token, from the presser, on the card', async () => {
    const s = await setup();
    const card = await sentCard(s, '7');
    const { id, update_id } = s.tg.press({ from: s.tg.user(8, 'Bob'), card, data: 't1' });
    const [{ message, eventId }] = (await arrived(s, 1)) as [Setup['received'][0]];
    expect(s.tg.calls('answerCallbackQuery')[0]!.params).toMatchObject({ callback_query_id: id });
    expect(eventId).toBe(String(update_id));
    expect(message).toMatchObject({
      platformMessageId: id,
      chat: { id: '7' },
      sender: { id: '8', name: 'Bob' },
      text: 't1',
      mentioned: true,
      action: { value: 't1', platformMessageId: '5000' },
    });
  });
});

describe('files in', () => {
  test('a document arrives with its bytes, name and type', async () => {
    const s = await setup();
    const file = s.tg.addFile(Buffer.from('hello file'));
    s.tg.message({
      chat: s.tg.dm(7),
      from: s.tg.user(7),
      caption: 'see this',
      document: { ...file, file_unique_id: 'u1', file_name: 'notes.txt', mime_type: 'text/plain' },
    });
    const [{ message }] = (await arrived(s, 1)) as [Setup['received'][0]];
    expect(message.text).toBe('see this');
    expect(message.attachments).toHaveLength(1);
    expect(message.attachments[0]).toMatchObject({ name: 'notes.txt', type: 'text/plain', size: 10 });
    expect(message.attachments[0]!.data.toString()).toBe('hello file');
  });

  test('a file over the limit is not downloaded and is named in the text', async () => {
    const s = await setup({ maxInboundFileBytes: 100 });
    const file = s.tg.addFile(Buffer.alloc(500));
    s.tg.message({
      chat: s.tg.dm(7),
      from: s.tg.user(7),
      document: { ...file, file_unique_id: 'u2', file_name: 'big.bin' },
    });
    const [{ message }] = (await arrived(s, 1)) as [Setup['received'][0]];
    expect(message.text).toBe('[file too large: big.bin (500 bytes)]');
    expect(message.attachments).toEqual([]);
    expect(s.tg.calls('getFile')).toHaveLength(0);
  });

  test('a file whose stated size is a lie is cut off at the limit, not read to the end', async () => {
    const s = await setup({ maxInboundFileBytes: 100 });
    const file = s.tg.addFile(Buffer.alloc(5_000), 10);
    s.tg.message({
      chat: s.tg.dm(7),
      from: s.tg.user(7),
      document: { ...file, file_unique_id: 'u3', file_name: 'liar.bin' },
    });
    const [{ message }] = (await arrived(s, 1)) as [Setup['received'][0]];
    expect(message.text).toBe('[file too large: liar.bin (larger than 100 bytes)]');
    expect(message.attachments).toEqual([]);
  });
});

describe('the link', () => {
  test('alive() is called while polls succeed', async () => {
    const s = await setup();
    const before = s.alive.count;
    await waitUntil(
      () => s.alive.count >= before + 2,
      5_000,
      () => `alive ${s.alive.count}`,
    );
    expect(s.failures).toEqual([]);
  });

  test('a message Warren did not take comes again with the same ids', async () => {
    const s = await setup();
    s.refuse.next = 1;
    const { update_id, message_id } = s.tg.message({ chat: s.tg.dm(7), from: s.tg.user(7), text: 'again' });
    const [{ message, eventId }] = (await arrived(s, 1)) as [Setup['received'][0]];
    expect(message.platformMessageId).toBe(String(message_id));
    expect(eventId).toBe(String(update_id));
    expect(s.attempts).toEqual([`${message_id}@${update_id}`, `${message_id}@${update_id}`]);
  });

  test('stop() returns promptly while Telegram hangs, and a restart resumes from the offset', async () => {
    const s = await setup();
    s.tg.message({ chat: s.tg.dm(7), from: s.tg.user(7), text: 'first' });
    await arrived(s, 1);
    s.tg.hang();
    await waitUntil(
      () => s.tg.calls('getUpdates').length > 0,
      1_000,
      () => 'no poll',
    );
    const started = Date.now();
    await s.adapter.stop();
    expect(Date.now() - started).toBeLessThan(3_000);

    s.tg.resume();
    s.tg.message({ chat: s.tg.dm(7), from: s.tg.user(7), text: 'during the outage' });
    await s.adapter.start(events(s));
    const all = await arrived(s, 2);
    expect(all.map((r) => r.message.text)).toEqual(['first', 'during the outage']);
  });

  test('stop() returns promptly even while Warren is still taking a message', async () => {
    const s = await setup();
    let taking = false;
    await s.adapter.stop();
    await s.adapter.start({
      ...events(s),
      message: () => {
        taking = true;
        return new Promise<void>(() => undefined);
      },
    });
    s.tg.message({ chat: s.tg.dm(7), from: s.tg.user(7), text: 'slow' });
    await waitUntil(
      () => taking,
      5_000,
      () => 'the message never reached Warren',
    );
    const started = Date.now();
    await s.adapter.stop();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(s.tg.pending()).toHaveLength(1);
  });

  test('a failing poll reports failed() and the loop carries on', async () => {
    const s = await setup();
    s.tg.failNext('getUpdates', 1, 502, 'Bad Gateway');
    await waitUntil(
      () => s.failures.length > 0,
      5_000,
      () => 'no failure reported',
    );
    s.tg.message({ chat: s.tg.dm(7), from: s.tg.user(7), text: 'after' });
    await arrived(s, 1);
    expect(s.logs.join('')).not.toContain(TOKEN);
  });

  test('when Telegram is unreachable, failed() says why without the token', async () => {
    const s = await setup();
    await s.tg.close();
    await waitUntil(
      () => s.failures.length > 0,
      5_000,
      () => 'no failure reported',
    );
    const said = `${s.failures.map(String).join(' ')} ${s.logs.join('')}`;
    expect(said).toContain('getUpdates');
    expect(said).not.toContain(TOKEN);
    expect(said).not.toContain(encodeURIComponent(TOKEN));
  });
});

describe('webhook mode', () => {
  const settings = { mode: 'webhook', webhookUrl: 'https://warren.example/channels/tg-main/webhook' };

  test('start() registers the webhook with its secret; only posts carrying it are taken', async () => {
    const s = await setup({ settings });
    expect(s.tg.calls('setWebhook')[0]!.params).toMatchObject({
      url: settings.webhookUrl,
      secret_token: 'hook-secret_1',
    });
    const update = {
      update_id: 500,
      message: {
        message_id: 1,
        date: 1,
        chat: { id: 7, type: 'private' },
        from: s.tg.user(7),
        text: 'via hook',
      },
    };
    const post = (secret?: string) =>
      s.adapter.http!.request('/webhook', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(secret && { 'x-telegram-bot-api-secret-token': secret }),
        },
        body: JSON.stringify(update),
      });
    expect((await post()).status).toBe(401);
    expect((await post('hook-secret_2')).status).toBe(401);
    expect((await post('hook-secret_1')).status).toBe(200);
    expect(s.received.map((r) => [r.message.text, r.eventId])).toEqual([['via hook', '500']]);
    expect(s.tg.calls('getUpdates')).toHaveLength(0);
  });

  test('an update Warren did not take is answered 500, so Telegram sends it again', async () => {
    const s = await setup({ settings });
    s.refuse.next = 1;
    const res = await s.adapter.http!.request('/webhook', {
      method: 'POST',
      headers: { 'x-telegram-bot-api-secret-token': 'hook-secret_1' },
      body: JSON.stringify({
        update_id: 1,
        message: { message_id: 1, date: 1, chat: { id: 7, type: 'private' }, from: s.tg.user(7), text: 'x' },
      }),
    });
    expect(res.status).toBe(500);
  });
});
