import { request } from 'node:http';
// The web chat channel over a real HTTP server on loopback, driven with real fetch.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, vi } from 'vitest';
import { createWebchatChannel } from '../../src/host/channels/adapters/webchat/index.ts';
import { readServerSentEvents } from '../../src/host/channels/sse-reader.ts';
import { ChannelSendError } from '../../src/host/channels/channel.ts';
import type { InboundMessage, InboundSink, OutboundMessage } from '../../src/host/channels/channel.ts';
import { createLogger } from '../../src/host/logger.ts';
import type { AttachmentLimits } from '../../src/host/sessions/index.ts';
import { cleanupsAfterEach } from '../harness/cleanups.ts';
import { serveChannel } from '../harness/channel-server.ts';

const log = createLogger('silent');
const cleanups = cleanupsAfterEach();

async function startWebchat(
  options: { sink?: InboundSink; maxBufferedPerChat?: number; attachments?: AttachmentLimits } = {},
) {
  let now = new Date('2026-03-01T10:00:00.000Z');
  const received: InboundMessage[] = [];
  const channel = createWebchatChannel({
    clock: () => now,
    log,
    filesDir: mkdtempSync(join(tmpdir(), 'warren-webchat-files-')),
    maxBufferedPerChat: options.maxBufferedPerChat,
    attachments: options.attachments,
  });
  await channel.connect(options.sink ?? (async (message) => void received.push(message)));
  const server = await serveChannel(channel, log, cleanups);
  const api = `${server.url}/webchat/api`;
  return {
    channel,
    server,
    received,
    api,
    advanceClock: (ms: number) => (now = new Date(now.getTime() + ms)),
    post: (body: unknown) =>
      fetch(`${api}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    subscribe: (chat: string, headers: Record<string, string> = {}) =>
      openEventStream(`${api}/events?chat=${encodeURIComponent(chat)}`, headers),
  };
}

interface StreamEvent {
  event: string;
  id: string;
  data: Record<string, unknown>;
}

/** Reads a server-sent-event response in the background; `ended` resolves when the server ends it. */
async function openEventStream(url: string, headers: Record<string, string>) {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: StreamEvent[] = [];
  const ended = (async () => {
    for await (const { event, id, data } of readServerSentEvents(response.body!)) {
      events.push({ event, id, data: JSON.parse(data) as Record<string, unknown> });
    }
  })().catch((err: unknown) => {
    if (!abort.signal.aborted) throw err;
  });
  cleanups.push(async () => {
    abort.abort();
    await ended;
  });
  return {
    events,
    ended,
    waitFor: (count: number) => vi.waitFor(() => expect(events).toHaveLength(count), { timeout: 2000 }),
  };
}

const reply = (
  chatId: string,
  key: string,
  text: string,
  extra: Partial<OutboundMessage> = {},
): OutboundMessage =>
  ({
    kind: 'send',
    idempotencyKey: key,
    chatId,
    threadId: null,
    text,
    inReplyTo: null,
    files: [],
    ...extra,
  }) as OutboundMessage;

test('a posted message reaches the sink as a normalized inbound message from an anonymous visitor', async () => {
  const chat = await startWebchat();
  const response = await chat.post({
    chat: 'lobby',
    sender: { id: 'ana', name: 'Ana' },
    text: 'hello',
    id: 'm1',
    thread: 't1',
  });
  expect(response.status).toBe(202);
  expect(await response.json()).toEqual({ id: 'm1' });
  expect(chat.received).toEqual([
    {
      channelType: 'webchat',
      installation: '',
      platformMessageId: 'm1',
      chat: { id: 'lobby', isGroup: false },
      // Without sign-in the body's sender is only a handle inside the chat, and a display name.
      sender: { id: 'anon/lobby/ana', name: 'Ana', anonymous: true },
      threadId: 't1',
      text: 'hello',
      attachments: [],
      mentioned: true,
      timestamp: '2026-03-01T10:00:00.000Z',
    },
  ]);
});

test('a message without an id gets a fresh one, and mentioned can be turned off', async () => {
  const chat = await startWebchat();
  const first = (await (
    await chat.post({ chat: 'c', sender: { id: 'a' }, text: 'x', mentioned: false })
  ).json()) as { id: string };
  const second = (await (await chat.post({ chat: 'c', sender: { id: 'a' }, text: 'y' })).json()) as {
    id: string;
  };
  expect(first.id).not.toBe(second.id);
  expect(chat.received.map((m) => [m.platformMessageId, m.mentioned, m.threadId])).toEqual([
    [first.id, false, null],
    [second.id, true, null],
  ]);
});

test('a repeated id reaches the sink again and is answered with the same id', async () => {
  const chat = await startWebchat();
  const body = { chat: 'c', sender: { id: 'a' }, text: 'hi', id: 'same' };
  const answers = [await chat.post(body), await chat.post(body)];
  expect(answers.map((a) => a.status)).toEqual([202, 202]);
  expect(await Promise.all(answers.map((a) => a.json()))).toEqual([{ id: 'same' }, { id: 'same' }]);
  expect(chat.received.map((m) => m.platformMessageId)).toEqual(['same', 'same']);
});

test.each([
  ['a bad chat id', { chat: 'no spaces', sender: { id: 'a' }, text: 'x' }, /chat/],
  ['a missing text', { chat: 'c', sender: { id: 'a' } }, /text: must not be empty \(or send files\)/],
  [
    'a file that is not base64',
    { chat: 'c', sender: { id: 'a' }, files: [{ name: 'a', data: 'a*b=' }] },
    /files\.0\.data: must be base64/,
  ],
  [
    'a file without a name',
    { chat: 'c', sender: { id: 'a' }, files: [{ name: '', data: '' }] },
    /files\.0\.name/,
  ],
  [
    'more than 10 files',
    { chat: 'c', sender: { id: 'a' }, files: Array.from({ length: 11 }, () => ({ name: 'a', data: '' })) },
    /files/,
  ],
  [
    'a text over 64 KiB',
    { chat: 'c', sender: { id: 'a' }, text: 'a'.repeat(64 * 1024 + 1) },
    /text: must be at most 64 KiB/,
  ],
  ['a sender id that is too long', { chat: 'c', sender: { id: 'a'.repeat(201) }, text: 'x' }, /sender\.id/],
  ['an unknown field', { chat: 'c', sender: { id: 'a' }, text: 'x', thread_id: 't' }, /thread_id/],
  // Found by the fuzz test: a blank name reached user creation and failed there (500).
  ['a blank sender name', { chat: 'c', sender: { id: 'a', name: '   ' }, text: 'x' }, /sender\.name/],
  ['a body that is not JSON', '{"chat": "c",', /not valid JSON/],
])('%s is refused with 400 naming the problem and never reaches the sink', async (_name, body, problem) => {
  const chat = await startWebchat();
  const response = await chat.post(body);
  expect(response.status).toBe(400);
  expect(((await response.json()) as { error: string }).error).toMatch(problem);
  expect(chat.received).toEqual([]);
});

test('a body that is not declared as JSON is refused with 415', async () => {
  const chat = await startWebchat();
  const response = await fetch(`${chat.api}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify({ chat: 'c', sender: { id: 'a' }, text: 'x' }),
  });
  expect(response.status).toBe(415);
  expect(chat.received).toEqual([]);
});

test('a body over 256 KiB plus the files the caps allow is refused with 413 before it is parsed', async () => {
  const chat = await startWebchat({ attachments: { maxFileBytes: 1000, maxMessageBytes: 1000 } });
  const response = await chat.post({ chat: 'c', sender: { id: 'a' }, text: 'a'.repeat(300 * 1024) });
  expect(response.status).toBe(413);
  expect(((await response.json()) as { error: string }).error).toBe('body is larger than 277 KiB');
  const click = await fetch(`${chat.api}/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ chat: 'c', sender: { id: 'a' }, value: 'a'.repeat(300 * 1024) }),
  });
  expect(click.status).toBe(413);
  expect(chat.received).toEqual([]);
});

const base64 = (text: string | Buffer) => Buffer.from(text).toString('base64');

test('a message with files reaches the sink with their bytes; the text may then be empty', async () => {
  const chat = await startWebchat();
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const response = await chat.post({
    chat: 'c',
    sender: { id: 'a' },
    id: 'f1',
    files: [
      { name: 'notes.txt', type: 'text/plain', data: base64('remember the milk') },
      { name: '../../etc/passwd', data: base64(png) },
    ],
  });
  expect(response.status).toBe(202);
  expect(chat.received).toMatchObject([
    {
      platformMessageId: 'f1',
      text: '',
      attachments: [
        { name: 'notes.txt', type: 'text/plain', size: 17, data: Buffer.from('remember the milk') },
        // Names and types are the router's to clean (sessions/inbox.ts); the channel passes them on.
        { name: '../../etc/passwd', type: '', size: 8, data: png },
      ],
    },
  ]);
});

test.each([
  [
    'a file over the per-file cap',
    [{ name: 'big.bin', data: base64('x'.repeat(11)) }],
    /files\.0 \(big\.bin\) is 11 bytes, more than the 10 bytes a file may have/,
  ],
  [
    'files together over the per-message cap',
    [
      { name: 'a', data: base64('x'.repeat(9)) },
      { name: 'b', data: base64('x'.repeat(9)) },
    ],
    /files: together more than the 15 bytes one message's files may have/,
  ],
])('%s is refused with 413 naming it and never reaches the sink', async (_name, files, problem) => {
  const chat = await startWebchat({ attachments: { maxFileBytes: 10, maxMessageBytes: 15 } });
  const response = await chat.post({ chat: 'c', sender: { id: 'a' }, text: 'x', files });
  expect(response.status).toBe(413);
  expect(((await response.json()) as { error: string }).error).toMatch(problem);
  expect(chat.received).toEqual([]);
});

test('a sink failure is answered with 500 and recorded in health', async () => {
  const chat = await startWebchat({
    sink: async () => {
      throw new Error('database is locked');
    },
  });
  const response = await chat.post({ chat: 'c', sender: { id: 'a' }, text: 'x', id: 'm9' });
  expect(response.status).toBe(500);
  expect(((await response.json()) as { error: string }).error).toContain('m9');
  expect(chat.channel.health().lastError).toContain('database is locked');
});

test('a disconnected channel answers 503', async () => {
  const chat = await startWebchat();
  await chat.channel.disconnect();
  expect((await chat.post({ chat: 'c', sender: { id: 'a' }, text: 'x' })).status).toBe(503);
  expect((await fetch(`${chat.api}/events?chat=c`)).status).toBe(503);
  await expect(chat.channel.send(reply('c', 'k1', 'hi'))).rejects.toMatchObject({ code: 'transient' });
});

test('a send reaches the subscribers of its chat and not those of another chat', async () => {
  const chat = await startWebchat();
  const lobby = await chat.subscribe('lobby');
  const other = await chat.subscribe('other');
  const card = { title: 'Deploy?', body: 'to production', options: [{ label: 'Yes', value: 'yes' }] };
  const result = await chat.channel.send(
    reply('lobby', 'out-1', 'hi there', { inReplyTo: 'm1', threadId: 't1', card }),
  );
  await chat.channel.send(reply('other', 'out-2', 'elsewhere'));

  expect(result).toEqual({ platformMessageId: 'out-1' });
  await lobby.waitFor(1);
  await other.waitFor(1);
  expect(lobby.events).toEqual([
    {
      event: 'message',
      id: 'out-1',
      data: { id: 'out-1', inReplyTo: 'm1', text: 'hi there', files: [], card, thread: 't1' },
    },
  ]);
  expect(other.events.map((e) => e.id)).toEqual(['out-2']);
});

test('edits and reactions are streamed as their own events', async () => {
  const chat = await startWebchat();
  const stream = await chat.subscribe('c');
  await chat.channel.send({
    kind: 'edit',
    idempotencyKey: 'e1',
    chatId: 'c',
    threadId: null,
    targetPlatformMessageId: 'out-1',
    text: 'fixed',
  });
  await chat.channel.send({
    kind: 'react',
    idempotencyKey: 'r1',
    chatId: 'c',
    threadId: null,
    targetPlatformMessageId: 'out-1',
    emoji: 'thumbs_up',
  });
  await stream.waitFor(2);
  expect(stream.events).toEqual([
    { event: 'edit', id: 'e1', data: { id: 'e1', targetId: 'out-1', text: 'fixed' } },
    { event: 'react', id: 'r1', data: { id: 'r1', targetId: 'out-1', emoji: 'thumbs_up' } },
  ]);
});

test('a late subscriber gets the buffered events, at most maxBufferedPerChat of them', async () => {
  const chat = await startWebchat({ maxBufferedPerChat: 3 });
  for (const n of [1, 2, 3, 4]) await chat.channel.send(reply('c', `out-${n}`, `reply ${n}`));
  const late = await chat.subscribe('c');
  await late.waitFor(3);
  expect(late.events.map((e) => e.id)).toEqual(['out-2', 'out-3', 'out-4']);
});

test('a reconnect with Last-Event-ID replays only the newer events', async () => {
  const chat = await startWebchat();
  for (const n of [1, 2, 3]) await chat.channel.send(reply('c', `out-${n}`, `reply ${n}`));
  const resumed = await chat.subscribe('c', { 'last-event-id': 'out-1' });
  await resumed.waitFor(2);
  expect(resumed.events.map((e) => e.id)).toEqual(['out-2', 'out-3']);

  const unknown = await chat.subscribe('c', { 'last-event-id': 'pruned-long-ago' });
  await unknown.waitFor(3);
  expect(unknown.events.map((e) => e.id)).toEqual(['out-1', 'out-2', 'out-3']);
});

test('a repeated idempotency key for the same chat is pushed once', async () => {
  const chat = await startWebchat();
  const stream = await chat.subscribe('c');
  const results = await Promise.all([
    chat.channel.send(reply('c', 'out-1', 'once')),
    chat.channel.send(reply('c', 'out-1', 'once')),
  ]);
  await chat.channel.send(reply('c', 'out-1', 'once'));
  await chat.channel.send(reply('c', 'out-2', 'next'));
  await stream.waitFor(2);
  expect(results).toEqual([{ platformMessageId: 'out-1' }, { platformMessageId: 'out-1' }]);
  expect(stream.events.map((e) => e.id)).toEqual(['out-1', 'out-2']);
});

test('files are copied, served from the channel, and paths outside it are refused', async () => {
  const chat = await startWebchat();
  const outbox = mkdtempSync(join(tmpdir(), 'warren-outbox-'));
  writeFileSync(join(outbox, 'chart.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(join(outbox, 'notes.html'), '<script>alert(1)</script>');
  const stream = await chat.subscribe('c');
  await chat.channel.send(
    reply('c', 'out-1', 'here', {
      files: [
        { name: 'chart.png', path: join(outbox, 'chart.png') },
        { name: 'notes.html', path: join(outbox, 'notes.html') },
      ],
    }),
  );
  await stream.waitFor(1);
  const files = stream.events[0]!.data.files as { name: string; url: string }[];
  expect(files.map((f) => f.name)).toEqual(['chart.png', 'notes.html']);

  writeFileSync(join(outbox, 'chart.png'), 'changed after sending');
  const png = await fetch(`${chat.server.url}${files[0]!.url}`);
  expect(png.headers.get('content-type')).toBe('image/png');
  expect(Buffer.from(await png.arrayBuffer())).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  const html = await fetch(`${chat.server.url}${files[1]!.url}`);
  expect(html.headers.get('content-type')).toBe('application/octet-stream');
  expect(html.headers.get('content-disposition')).toMatch(/^attachment/);

  const folder = files[0]!.url.split('/')[4]!;
  for (const path of [`${folder}/..%2F..%2Fetc%2Fpasswd`, `..%2F..%2Fetc/passwd`, `${folder}/..`]) {
    const refused = await fetch(`${chat.api}/files/${path}`);
    expect([400, 404]).toContain(refused.status);
    expect(await refused.text()).not.toContain('root:');
  }
  expect((await fetch(`${chat.api}/files/${folder}/missing.png`)).status).toBe(404);
});

test('a file that is missing or has a path for a name fails the send without pushing it', async () => {
  const chat = await startWebchat();
  const stream = await chat.subscribe('c');
  const missing = chat.channel.send(
    reply('c', 'out-1', 'x', { files: [{ name: 'gone.png', path: '/nonexistent/gone.png' }] }),
  );
  await expect(missing).rejects.toBeInstanceOf(ChannelSendError);
  await expect(missing).rejects.toMatchObject({ code: 'not_found' });
  const sneaky = chat.channel.send(
    reply('c', 'out-2', 'x', { files: [{ name: '../../x', path: '/etc/hostname' }] }),
  );
  await expect(sneaky).rejects.toMatchObject({ code: 'invalid_request' });
  await chat.channel.send(reply('c', 'out-3', 'fine'));
  await stream.waitFor(1);
  expect(stream.events.map((e) => e.id)).toEqual(['out-3']);
});

test('closing the server ends open event streams promptly', async () => {
  const chat = await startWebchat();
  const streams = [await chat.subscribe('a'), await chat.subscribe('b')];
  const started = performance.now();
  await chat.server.close();
  await Promise.all(streams.map((s) => s.ended));
  expect(performance.now() - started).toBeLessThan(1000);
});

test('closing the server lets a request in flight finish, then closes promptly', async () => {
  const chat = await startWebchat({ sink: () => new Promise((resolve) => setTimeout(resolve, 200)) });
  const posting = chat.post({ chat: 'c', sender: { id: 'a' }, text: 'x', id: 'slow' });
  await vi.waitFor(() => expect(chat.channel.health().lastInboundAt).not.toBeNull());
  const started = performance.now();
  await chat.server.close();
  expect(performance.now() - started).toBeLessThan(1000);
  expect((await posting).status).toBe(202);
});

test('health reports connection and the times of the last inbound and outbound message', async () => {
  const chat = await startWebchat();
  expect(chat.channel.health()).toEqual({
    connected: true,
    lastInboundAt: null,
    lastOutboundAt: null,
    lastError: null,
  });
  chat.advanceClock(60_000);
  await chat.post({ chat: 'c', sender: { id: 'a' }, text: 'x' });
  chat.advanceClock(5_000);
  await chat.channel.send(reply('c', 'out-1', 'y'));
  expect(chat.channel.health()).toEqual({
    connected: true,
    lastInboundAt: '2026-03-01T10:01:00.000Z',
    lastOutboundAt: '2026-03-01T10:01:05.000Z',
    lastError: null,
  });
  await chat.channel.disconnect();
  expect(chat.channel.health().connected).toBe(false);
});

test('the chat page is served with and without a trailing slash, with a strict content policy', async () => {
  const chat = await startWebchat();
  for (const path of ['/webchat', '/webchat/']) {
    const page = await fetch(`${chat.server.url}${path}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toContain('api/events?chat=');
  }
});

test('an unknown path is a JSON 404', async () => {
  const chat = await startWebchat();
  const response = await fetch(`${chat.server.url}/nowhere`);
  expect(response.status).toBe(404);
  expect(await response.json()).toEqual({ error: 'no route for GET /nowhere' });
});

test('a request naming another host is refused (DNS rebinding)', async () => {
  const chat = await startWebchat();
  const status = (host: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${chat.server.url}/webchat/`, { headers: { host } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject).end();
    });
  expect(await status('attacker.example')).toBe(421);
  expect(await status(`localhost:${chat.server.port}`)).toBe(200);
});
