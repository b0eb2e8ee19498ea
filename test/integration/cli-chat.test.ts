// `warren chat` against a real host HTTP server whose sink answers through the cli channel.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { expect, test, vi } from 'vitest';
import { createCliChannel } from '../../src/host/channels/adapters/cli.ts';
import type { InboundMessage } from '../../src/host/channels/channel.ts';
import { runChat } from '../../src/host/cli/chat.ts';
import { createLogger } from '../../src/host/logger.ts';
import { cleanupsAfterEach } from '../harness/cleanups.ts';
import { serveChannel } from '../harness/channel-server.ts';

const log = createLogger('silent');
/** The install secret (`<data-dir>/cli-secret`) the host was given and `warren chat` sends. */
const SECRET = 'the-install-secret-0123456789abcdef';
const cleanups = cleanupsAfterEach();

/** A host whose only behaviour is echoing each message back, with a card when asked for one. */
async function startEchoHost() {
  const channel = createCliChannel({
    clock: () => new Date(),
    log,
    filesDir: mkdtempSync(join(tmpdir(), 'warren-cli-files-')),
    operatorSecret: SECRET,
  });
  const received: InboundMessage[] = [];
  await channel.connect(async (message) => {
    received.push(message);
    const card =
      message.text === 'choose'
        ? {
            title: 'Pick a colour',
            body: 'one only',
            options: [
              { label: 'Red', value: 'red' },
              { label: 'Blue', value: 'blue' },
            ],
          }
        : undefined;
    await channel.send({
      kind: 'send',
      idempotencyKey: `reply-${message.platformMessageId}`,
      chatId: message.chat.id,
      threadId: null,
      text: `echo: ${message.text}`,
      inReplyTo: message.platformMessageId,
      files: [],
      card,
    });
  });
  const server = await serveChannel(channel, log, cleanups);
  return { server, received };
}

function terminal() {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  return {
    input,
    output,
    type: (line: string) => input.write(`${line}\n`),
    printed: () => printed,
    waitFor: (text: string) => vi.waitFor(() => expect(printed).toContain(text), { timeout: 2000 }),
  };
}

/** Starts `warren chat` in "desk" against `url` on a fresh terminal; its options default to ana with the install secret. */
function chatIn(url: string, options: { sender?: { id: string; name?: string }; secret?: string } = {}) {
  const term = terminal();
  const chat = runChat({ url, chat: 'desk', sender: { id: 'ana' }, secret: SECRET, ...options, ...term });
  return { term, chat };
}

test('typed lines are sent and their replies printed; /quit ends the chat', async () => {
  const host = await startEchoHost();
  const { term, chat } = chatIn(host.server.url, { sender: { id: 'ana', name: 'Ana' } });

  await term.waitFor('chatting in "desk" as Ana');
  term.type('hello');
  await term.waitFor('agent: echo: hello');
  term.type('how are you?');
  await term.waitFor('agent: echo: how are you?');
  term.type('/quit');
  await chat;

  expect(host.received.map((m) => [m.channelType, m.chat.id, m.sender.id, m.text])).toEqual([
    ['cli', 'desk', 'ana', 'hello'],
    ['cli', 'desk', 'ana', 'how are you?'],
  ]);
});

test('a card is printed with numbered options, and typing a number sends that option', async () => {
  const host = await startEchoHost();
  const { term, chat } = chatIn(host.server.url);

  term.type('choose');
  await term.waitFor('[2] Blue');
  term.type('2');
  await term.waitFor('agent: echo: blue');
  term.type('/quit');
  await chat;
  expect(host.received.map((m) => m.text)).toEqual(['choose', 'blue']);
});

test('the chat ends with a notice when the host goes away', async () => {
  const host = await startEchoHost();
  const { term, chat } = chatIn(host.server.url);
  await term.waitFor('chatting in');
  await host.server.close();
  await chat;
  expect(term.printed()).toContain('(Warren closed the connection)');
});

test('an unreachable host is reported with the address tried', async () => {
  await expect(chatIn('http://127.0.0.1:9').chat).rejects.toThrow(
    /cannot reach Warren at http:\/\/127\.0\.0\.1:9\/cli\/api\/events/,
  );
});

test('warren chat with a wrong install secret is refused with a clear error, and nothing is sent', async () => {
  const host = await startEchoHost();
  await expect(chatIn(host.server.url, { secret: 'guessed' }).chat).rejects.toThrow(
    /Warren refused the chat stream: 401 .*install's secret/,
  );
  expect(host.received).toEqual([]);
});

test('a raw post or event stream on the cli channel without the install secret is refused with 401', async () => {
  const host = await startEchoHost();
  const post = (headers: Record<string, string>) =>
    fetch(`${host.server.url}/cli/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ chat: 'desk', sender: { id: 'operator-login' }, text: 'I am the operator' }),
    });
  const attempts: Record<string, string>[] = [
    {},
    { 'x-warren-secret': 'wrong' },
    { authorization: `Bearer ${SECRET}` },
  ];
  for (const headers of attempts) {
    const res = await post(headers);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toMatch(/needs this install's secret/);
  }
  const events = await fetch(`${host.server.url}/cli/api/events?chat=desk`);
  expect(events.status).toBe(401);
  await events.body?.cancel();
  const click = await fetch(`${host.server.url}/cli/api/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      chat: 'desk',
      sender: { id: 'operator-login' },
      value: 'apr:x:approve:' + '0'.repeat(64),
    }),
  });
  expect(click.status).toBe(401);
  expect(host.received).toEqual([]);

  const ok = await post({ 'x-warren-secret': SECRET });
  expect(ok.status).toBe(202);
  expect(host.received.map((m) => m.sender.id)).toEqual(['operator-login']);
});
