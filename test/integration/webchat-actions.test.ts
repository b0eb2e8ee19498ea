// The web chat's click endpoint over real HTTP: POST /webchat/api/actions becomes an inbound message
// carrying the option's value as `action` (and as text), validated like a posted message.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createWebchatChannel } from '../../src/host/channels/adapters/webchat/index.ts';
import type { InboundMessage } from '../../src/host/channels/channel.ts';
import { startHttpServer, type RunningHttpServer } from '../../src/host/http.ts';
import { createLogger } from '../../src/host/logger.ts';

const received: InboundMessage[] = [];
let server: RunningHttpServer;

beforeAll(async () => {
  const log = createLogger('silent');
  const channel = createWebchatChannel({
    clock: () => new Date('2026-03-01T10:00:00.000Z'),
    log,
    filesDir: mkdtempSync(join(tmpdir(), 'warren-webchat-actions-')),
  });
  await channel.connect(async (message) => void received.push(message));
  server = await startHttpServer({
    port: 0,
    host: '127.0.0.1',
    mounts: [{ path: channel.mountPath, app: channel.app }],
    log,
  });
});
afterAll(() => server.close());

const click = (body: unknown, type = 'application/json') =>
  fetch(`${server.url}/webchat/api/actions`, {
    method: 'POST',
    headers: { 'content-type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

test('a click reaches the host as a message with the option value as its action', async () => {
  const res = await click({
    chat: 'dm-olga',
    sender: { id: 'olga', name: 'Olga' },
    value: 'apr:apr_1:approve:x',
    messageId: 'card:7',
    id: 'click-1',
  });
  expect(res.status).toBe(202);
  expect(await res.json()).toEqual({ id: 'click-1' });
  expect(received.at(-1)).toMatchObject({
    channelType: 'webchat',
    platformMessageId: 'click-1',
    chat: { id: 'dm-olga' },
    // Not signed in: an anonymous visitor naming itself olga, never the user olga.
    sender: { id: 'anon/dm-olga/olga', name: 'Olga', anonymous: true },
    text: 'apr:apr_1:approve:x',
    action: { value: 'apr:apr_1:approve:x', platformMessageId: 'card:7' },
  });
});

test.each([
  [{ chat: 'dm', sender: { id: 'olga' } }, 400, /value/],
  [{ chat: 'dm', sender: { id: 'olga' }, value: '' }, 400, /value/],
  [{ chat: 'bad chat', sender: { id: 'olga' }, value: 'v' }, 400, /chat/],
  [{ chat: 'dm', sender: { id: 'olga' }, value: 'v', extra: 1 }, 400, /extra|Unrecognized/i],
])('a bad click is refused with the field named (%j)', async (body, status, message) => {
  const before = received.length;
  const res = await click(body);
  expect(res.status).toBe(status);
  expect(((await res.json()) as { error: string }).error).toMatch(message);
  expect(received.length).toBe(before);
});

test('a click that is not JSON is refused', async () => {
  expect((await click('value=1', 'application/x-www-form-urlencoded')).status).toBe(415);
});
