// The Slack adapter against a fake Slack on loopback: the real @slack/web-api and @slack/socket-mode
// clients talk to it over HTTP and a WebSocket. No host, no containers: what the adapter hands the
// machinery, and what it posts.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { InboundMessage } from '../../src/host/channels/channel.ts';
import { ChannelSendError } from '../../src/host/channels/channel.ts';
import { createSlackAdapter, signSlackRequest } from '../../src/host/channels/adapters/slack/index.ts';
import type { PlatformAdapter, PlatformEvents } from '../../src/host/channels/platform.ts';
import { startFakeSlack, type FakeSlack } from '../harness/fake-slack.ts';
import { waitUntil } from '../harness/wait-until.ts';
import { memoryChannelState } from '../harness/channel-state.ts';

let slack: FakeSlack;
const adapters: PlatformAdapter[] = [];

beforeEach(async () => {
  slack = await startFakeSlack({ users: { U1: 'Ada', U2: 'Grace' } });
});
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((adapter) => adapter.stop()));
  await slack.close();
});

function adapter(
  overrides: {
    settings?: Record<string, unknown>;
    secret?: (role: string) => string;
    maxBytes?: number;
  } = {},
) {
  const created = createSlackAdapter({
    installation: 'slack',
    apiBaseUrl: slack.apiUrl,
    settings: {
      filesBaseUrl: slack.origin,
      pingTimeoutMs: 1000,
      connectTimeoutMs: 2000,
      ...overrides.settings,
    },
    secret: overrides.secret ?? slack.secret,
    maxInboundFileBytes: overrides.maxBytes ?? 1024,
    state: memoryChannelState(),
    log: pino({ level: process.env.SLACK_TEST_LOG ?? 'silent' }),
    clock: () => new Date(),
  });
  adapters.push(created);
  return created;
}

/** The machinery's side: records what arrives; `store` decides whether a message becomes durable. */
function machinery(store: (message: InboundMessage) => Promise<void> = async () => {}) {
  const received: { message: InboundMessage; eventId: string | undefined }[] = [];
  const failures: unknown[] = [];
  let alive = 0;
  const events: PlatformEvents = {
    async message(message, eventId) {
      await store(message);
      received.push({ message, eventId });
    },
    alive: () => void alive++,
    failed: (error) => void failures.push(error),
  };
  return { events, received, failures, alive: () => alive };
}

async function started(
  overrides: Parameters<typeof adapter>[0] = {},
  store?: (m: InboundMessage) => Promise<void>,
) {
  const slackAdapter = adapter(overrides);
  const machine = machinery(store);
  await slackAdapter.start(machine.events);
  return { adapter: slackAdapter, ...machine };
}

const dm = (text: string, ts = '1700000000.000100') => ({
  type: 'message',
  channel: 'D1',
  channel_type: 'im',
  user: 'U1',
  text,
  ts,
});

async function nextMessage(
  machine: { received: { message: InboundMessage; eventId: string | undefined }[] },
  count = 1,
) {
  await waitUntil(
    () => machine.received.length >= count,
    5000,
    () => `${machine.received.length} messages`,
  );
  return machine.received[count - 1]!;
}

describe('receiving over Socket Mode', () => {
  test('a DM arrives normalized, and its envelope is acknowledged once stored', async () => {
    const machine = await started();
    const { envelopeId, eventId } = slack.sendEvent(dm('hello there'));
    const { message, eventId: given } = await nextMessage(machine);
    expect(message).toMatchObject({
      channelType: 'slack',
      installation: 'slack',
      platformMessageId: '1700000000.000100',
      chat: { id: 'D1', isGroup: false },
      sender: { id: 'U1', name: 'Ada', isBot: false },
      threadId: null,
      text: 'hello there',
      attachments: [],
      mentioned: true,
      timestamp: '2023-11-14T22:13:20.000Z',
    });
    expect(given).toBe(eventId);
    await waitUntil(
      () => slack.acked(envelopeId),
      2000,
      () => 'ack',
    );
  });

  test('a channel mention is addressed to the bot, with the mention stripped', async () => {
    const machine = await started();
    slack.sendEvent({
      type: 'app_mention',
      channel: 'C1',
      user: 'U2',
      text: '<@UBOT> deploy now',
      ts: '1.1',
    });
    slack.sendEvent({
      type: 'message',
      channel: 'C1',
      channel_type: 'channel',
      user: 'U2',
      text: 'lunch?',
      ts: '1.2',
    });
    const mention = (await nextMessage(machine, 1)).message;
    const chatter = (await nextMessage(machine, 2)).message;
    expect(mention).toMatchObject({ chat: { id: 'C1', isGroup: true }, text: 'deploy now', mentioned: true });
    expect(chatter).toMatchObject({ chat: { id: 'C1', isGroup: true }, text: 'lunch?', mentioned: false });
  });

  test("a reply in the thread of the bot's message carries the thread and counts as addressed", async () => {
    const machine = await started();
    slack.sendEvent({
      type: 'message',
      channel: 'C1',
      channel_type: 'channel',
      user: 'U1',
      text: 'and then?',
      ts: '1700000000.000300',
      thread_ts: '1700000000.000200',
      parent_user_id: 'UBOT',
    });
    const { message } = await nextMessage(machine);
    expect(message).toMatchObject({
      threadId: '1700000000.000200',
      mentioned: true,
      replyTo: { platformMessageId: '1700000000.000200', sender: 'UBOT' },
    });
  });

  test("the bot's own messages and malformed events are skipped (and acknowledged), the next one still arrives", async () => {
    const machine = await started();
    const own = slack.sendEvent({ ...dm('echo'), user: 'UBOT' });
    const malformed = slack.sendEvent({ type: 'message', channel: '../../etc', user: 42, ts: 'yesterday' });
    const edited = slack.sendEvent({ ...dm('edit'), subtype: 'message_changed' });
    slack.sendEvent(dm('real', '1700000000.000400'));
    const { message } = await nextMessage(machine);
    expect(message.text).toBe('real');
    await waitUntil(
      () => [own, malformed, edited].every((e) => slack.acked(e.envelopeId)),
      2000,
      () => 'acks',
    );
    expect(machine.received).toHaveLength(1);
  });

  test('a retried envelope and a resend with a new event_id come with the same platformMessageId', async () => {
    const machine = await started();
    const first = slack.sendEvent(dm('once'));
    await nextMessage(machine, 1);
    slack.redeliver(first.envelopeId);
    const resend = slack.sendEvent(dm('once'));
    const ids = [(await nextMessage(machine, 2)).message, (await nextMessage(machine, 3)).message];
    expect(ids.map((m) => m.platformMessageId)).toEqual(['1700000000.000100', '1700000000.000100']);
    expect(machine.received[2]!.eventId).toBe(resend.eventId);
  });

  test('an event Warren failed to store stays unacknowledged and is taken when Slack retries it', async () => {
    let failures = 1;
    const machine = await started({}, async () => {
      if (failures-- > 0) throw new Error('database is locked');
    });
    const sent = slack.sendEvent(dm('important'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(slack.acked(sent.envelopeId)).toBe(false);
    slack.redeliver(sent.envelopeId);
    expect((await nextMessage(machine)).message.text).toBe('important');
    await waitUntil(
      () => slack.acked(sent.envelopeId),
      2000,
      () => 'ack after the retry',
    );
  });

  test('a button press is acknowledged at once and arrives as the token from the card', async () => {
    const machine = await started({}, () => new Promise((resolve) => setTimeout(resolve, 500)));
    const { envelopeId } = slack.sendInteraction({
      type: 'block_actions',
      trigger_id: '123.456.abc',
      user: { id: 'U2', name: 'grace' },
      channel: { id: 'C1' },
      container: { type: 'message', channel_id: 'C1', message_ts: '1700000000.000500' },
      message: { ts: '1700000000.000500' },
      actions: [
        { action_id: 'warren_0', type: 'button', value: 'tok-approve', action_ts: '1700000001.000001' },
      ],
    });
    await waitUntil(
      () => slack.acked(envelopeId),
      2000,
      () => 'ack',
    );
    expect(machine.received).toHaveLength(0);
    const { message } = await nextMessage(machine);
    expect(message).toMatchObject({
      platformMessageId: 'press:123.456.abc',
      chat: { id: 'C1', isGroup: true },
      sender: { id: 'U2', name: 'grace' },
      text: 'tok-approve',
      action: { value: 'tok-approve', platformMessageId: '1700000000.000500' },
      mentioned: true,
    });
  });
});

describe('files in', () => {
  test('a file is downloaded with the bot token; a larger one is named in the text; a foreign URL is not fetched', async () => {
    const machine = await started({ maxBytes: 16 });
    const small = slack.addFile('notes.txt', Buffer.from('hello file'), 'text/plain');
    const big = slack.addFile('big.bin', Buffer.alloc(64));
    const foreign = { ...small, name: 'evil.txt', url_private_download: 'http://127.0.0.2:9/steal' };
    slack.sendEvent({ ...dm('see attached'), subtype: 'file_share', files: [small, big, foreign] });
    const { message } = await nextMessage(machine);
    expect(message.attachments).toEqual([
      { name: 'notes.txt', type: 'text/plain', size: 10, data: Buffer.from('hello file') },
    ]);
    expect(message.text).toBe(
      'see attached\n[file too large: big.bin (64 bytes)]\n[file not received: evil.txt (not from the platform)]',
    );
    expect(slack.downloads).toEqual([
      { path: expect.stringContaining('notes.txt'), authorization: 'Bearer xoxb-fake-bot-token' },
    ]);
  });

  test('a file whose size was understated is cut off once it passes the cap', async () => {
    const machine = await started({ maxBytes: 16 });
    const liar = { ...slack.addFile('liar.bin', Buffer.alloc(1000)), size: 10 };
    slack.sendEvent({ ...dm('x'), files: [liar] });
    const { message } = await nextMessage(machine);
    expect(message.attachments).toEqual([]);
    expect(message.text).toBe('x\n[file too large: liar.bin (larger than 16 bytes)]');
  });
});

describe('posting', () => {
  const piece = { chatId: 'C1', threadId: null, replyTo: null, text: 'hi' };

  test('a reply goes into the thread; outside a thread it goes to the channel unless replyInThread is set', async () => {
    const plain = adapter();
    await plain.post({ ...piece, threadId: '1700000000.000200', text: 'in thread' });
    await plain.post({ ...piece, replyTo: '1700000000.000300', text: 'in channel' });
    const threaded = adapter({ settings: { replyInThread: true } });
    await threaded.post({ ...piece, replyTo: '1700000000.000300', text: 'starts a thread' });
    expect(slack.messages.map((m) => [m.text, m.thread_ts])).toEqual([
      ['in thread', '1700000000.000200'],
      ['in channel', undefined],
      ['starts a thread', '1700000000.000300'],
    ]);
  });

  test('a long text becomes sections of at most 3,000 characters holding every word, with the text as fallback', async () => {
    const text = Array.from({ length: 2500 }, (_, i) => `word${i}`).join(' ');
    const { platformMessageId } = await adapter().post({ ...piece, text });
    const [posted] = slack.messages;
    expect(platformMessageId).toBe(posted!.ts);
    const sections = posted!.blocks!.map((block) => block.text!.text);
    expect(sections.length).toBeGreaterThan(5);
    for (const section of sections) expect(section.length).toBeLessThanOrEqual(3000);
    expect(sections.join(' ').split(/\s+/)).toEqual(text.split(' '));
    expect(posted!.text).toBe(text);
  });

  test('buttons carry their tokens; markup from the agent is escaped', async () => {
    await adapter().post({
      ...piece,
      text: 'Please decide <!here>',
      card: { title: 'Approval', body: 'Approve <!channel> & co?', options: [] },
      buttons: [
        { label: 'Yes', token: 'tok-1' },
        { label: 'No', token: 'tok-2' },
      ],
    });
    const [text, header, section, actions] = slack.messages[0]!.blocks!;
    expect(text!.text!.text).toBe('Please decide &lt;!here&gt;');
    expect(header).toMatchObject({ type: 'header', text: { text: 'Approval' } });
    expect(section!.text!.text).toBe('Approve &lt;!channel&gt; &amp; co?');
    expect(actions!.elements!.map((e) => [e.text.text, e.value])).toEqual([
      ['Yes', 'tok-1'],
      ['No', 'tok-2'],
    ]);
  });

  test('a file is uploaded to the upload URL and shared in the thread', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slack-'));
    await writeFile(join(dir, 'report.txt'), 'the report');
    const sent = await adapter().post({
      ...piece,
      threadId: '1700000000.000200',
      text: '',
      file: { name: 'report.txt', path: join(dir, 'report.txt') },
    });
    const [upload] = slack.uploads;
    expect(upload!.bytes?.toString()).toBe('the report');
    expect(upload!.completed).toMatchObject({ channel_id: 'C1', thread_ts: '1700000000.000200' });
    expect(sent.platformMessageId).toBe(slack.messages[0]!.ts);
  });

  test('an upload URL on another origin is refused before any byte leaves', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slack-'));
    await writeFile(join(dir, 'secret.txt'), 'secret');
    slack.uploadOrigin = 'http://127.0.0.2:9';
    const post = adapter().post({
      ...piece,
      text: '',
      file: { name: 'secret.txt', path: join(dir, 'secret.txt') },
    });
    await expect(post).rejects.toMatchObject({ code: 'destination_denied' });
    expect(slack.callsTo('files.completeUploadExternal')).toHaveLength(0);
  });

  test('a 429 and a 200 ratelimited are rate_limited with the wait, and the library did not retry', async () => {
    slack.failNext('chat.postMessage', 1, { status: 429, retryAfter: 3 });
    slack.failNext('chat.postMessage', 1, { error: 'ratelimited', retryAfter: 2 });
    const slackAdapter = adapter();
    await expect(slackAdapter.post(piece)).rejects.toMatchObject({
      code: 'rate_limited',
      retryAfterMs: 3000,
    });
    await expect(slackAdapter.post(piece)).rejects.toMatchObject({
      code: 'rate_limited',
      retryAfterMs: 2000,
    });
    expect(slack.callsTo('chat.postMessage')).toHaveLength(2);
    expect(slack.messages).toHaveLength(0);
  });

  test('platform errors map to the delivery taxonomy', async () => {
    slack.failNext('chat.postMessage', 1, { error: 'channel_not_found' });
    slack.failNext('chat.postMessage', 1, { error: 'not_in_channel' });
    slack.failNext('chat.postMessage', 1, { status: 503 });
    const slackAdapter = adapter();
    const codes = [];
    for (let i = 0; i < 3; i++)
      codes.push(await slackAdapter.post(piece).catch((e: ChannelSendError) => e.code));
    expect(codes).toEqual(['not_found', 'forbidden', 'transient']);
  });

  test('edit updates the message; react adds the reaction by name', async () => {
    const slackAdapter = adapter();
    await slackAdapter.edit!('C1', null, '1700000000.000500', 'decided: yes');
    await slackAdapter.react!('C1', '1700000000.000500', ':eyes:');
    await slackAdapter.react!('C1', '1700000000.000500', '👍');
    expect(slack.callsTo('chat.update')[0]!.params).toMatchObject({
      channel: 'C1',
      ts: '1700000000.000500',
      text: 'decided: yes',
    });
    expect(slack.callsTo('reactions.add').map((c) => c.params.name)).toEqual(['eyes', 'thumbsup']);
  });
});

describe('credentials and liveness', () => {
  test('a bad token is auth_failed, for probe and for start', async () => {
    const bad = adapter({ secret: (role) => (role === 'botToken' ? 'xoxb-wrong' : slack.secret(role)) });
    await expect(bad.probe()).rejects.toMatchObject({ code: 'auth_failed' });
    await expect(bad.start(machinery().events)).rejects.toBeInstanceOf(ChannelSendError);
    await expect(adapter().probe()).resolves.toEqual({ botName: 'warren' });
  });

  test('alive() keeps coming from the heartbeat while the link is healthy', async () => {
    const machine = await started();
    const before = machine.alive();
    await waitUntil(
      () => machine.alive() >= before + 3,
      5000,
      () => `alive ${machine.alive()}`,
    );
    expect(machine.failures).toEqual([]);
  });

  test('stop() returns promptly while Slack hangs, and ends a post in flight', async () => {
    const { adapter: slackAdapter } = await started();
    slack.hang();
    const post = slackAdapter
      .post({ chatId: 'C1', threadId: null, replyTo: null, text: 'stuck' })
      .catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const startedAt = Date.now();
    await slackAdapter.stop();
    expect(Date.now() - startedAt).toBeLessThan(3000);
    expect(await post).toMatchObject({ code: 'transient' });
  });

  test('a start() hanging on Slack ends when stop() is called, and leaves nothing connected', async () => {
    const slackAdapter = adapter();
    slack.hang();
    const start = slackAdapter.start(machinery().events).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await slackAdapter.stop();
    expect(await start).toMatchObject({ code: 'transient' });
    slack.resume();
    expect(slack.connections()).toBe(0);
  });

  test('a link that stops answering is reported; a restart after Slack returns receives what was missed', async () => {
    const { adapter: slackAdapter, ...machine } = await started();
    slack.hang();
    await waitUntil(
      () => machine.failures.length > 0,
      5000,
      () => 'failed()',
    );
    await slackAdapter.stop(); // what the watchdog does, then start() again with backoff
    const missed = slack.sendEvent(dm('while away')); // Slack keeps it until a connection acknowledges it
    slack.resume();
    await slackAdapter.start(machine.events);
    expect((await nextMessage(machine)).message.text).toBe('while away');
    await waitUntil(
      () => slack.acked(missed.envelopeId),
      2000,
      () => 'ack',
    );
  });

  test("Slack's routine disconnect reconnects at once without reporting a failure", async () => {
    const machine = await started();
    slack.sendRaw({ type: 'disconnect', reason: 'refresh_requested' });
    await waitUntil(
      () => slack.callsTo('apps.connections.open').length === 2 && slack.connections() === 1,
      5000,
      () => 'reconnect',
    );
    slack.sendEvent(dm('after refresh'));
    expect((await nextMessage(machine)).message.text).toBe('after refresh');
    expect(machine.failures).toEqual([]);
  });
});

describe('HTTP Events API mode', () => {
  const secret = 'signing-secret';
  const secrets = (role: string) => (role === 'signingSecret' ? secret : slack.secret(role));

  async function request(
    app: NonNullable<ReturnType<typeof createSlackAdapter>['http']>,
    body: string,
    headers: Record<string, string> = {},
  ) {
    const timestamp = String(Math.floor(Date.now() / 1000));
    return app.request('/events', {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature': signSlackRequest(secret, timestamp, body),
        ...headers,
      },
    });
  }

  test('a signed event is stored before the 200; a retry is handled the same; url_verification is answered', async () => {
    const slackAdapter = adapter({ settings: { mode: 'http' }, secret: secrets });
    const machine = machinery();
    await slackAdapter.start(machine.events);
    const http = (slackAdapter as ReturnType<typeof createSlackAdapter>).http!;
    const body = JSON.stringify({ type: 'event_callback', event_id: 'Ev1', event: dm('over http') });
    expect((await request(http, body)).status).toBe(200);
    expect(machine.received).toHaveLength(1);
    expect((await request(http, body, { 'x-slack-retry-num': '1' })).status).toBe(200);
    expect(machine.received.map((r) => r.message.platformMessageId)).toEqual([
      '1700000000.000100',
      '1700000000.000100',
    ]);
    const challenge = await request(http, JSON.stringify({ type: 'url_verification', challenge: 'abc' }));
    expect(await challenge.json()).toEqual({ challenge: 'abc' });
    expect(slack.connections()).toBe(0);
  });

  test('with no socket to watch, auth.test proves the link now and then; a failing one reports it broken', async () => {
    const slackAdapter = adapter({ settings: { mode: 'http', httpCheckSeconds: 1 }, secret: secrets });
    const machine = machinery();
    await slackAdapter.start(machine.events);
    const before = machine.alive();
    await waitUntil(
      () => machine.alive() > before,
      3000,
      () => 'no proof of life in HTTP mode',
    );
    slack.failNext('auth.test', 1, { error: 'invalid_auth' });
    await waitUntil(
      () => machine.failures.length > 0,
      3000,
      () => 'the failing auth.test was not reported',
    );
    expect(machine.failures[0]).toMatchObject({ code: 'auth_failed' });
    await slackAdapter.stop();
  });

  test('a bad signature or an old timestamp is refused with 401', async () => {
    const http = (
      adapter({ settings: { mode: 'http' }, secret: secrets }) as ReturnType<typeof createSlackAdapter>
    ).http!;
    const body = JSON.stringify({ type: 'url_verification', challenge: 'abc' });
    expect((await request(http, body, { 'x-slack-signature': 'v0=00' })).status).toBe(401);
    const old = String(Math.floor(Date.now() / 1000) - 301);
    expect(
      (
        await request(http, body, {
          'x-slack-request-timestamp': old,
          'x-slack-signature': signSlackRequest(secret, old, body),
        })
      ).status,
    ).toBe(401);
  });
});
