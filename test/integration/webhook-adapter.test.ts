// The signed webhook adapter over real HTTP on loopback: the integrator's POSTs to the adapter's route
// (served as the host serves it, at /channels/webhook), and Warren's replies to a real callback server
// that checks every signature with the standardwebhooks package. No host, no containers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import {
  ChannelSendError,
  createPlatformChannel,
  type InboundMessage,
  type OutboundMessage,
  type PlatformEvents,
} from '../../src/host/channels/index.ts';
import { createWebhookAdapter } from '../../src/host/channels/adapters/webhook/index.ts';
import { createLogger } from '../../src/host/logger.ts';
import { serveChannel } from '../harness/channel-server.ts';
import { memoryChannelState } from '../harness/channel-state.ts';
import { cleanupsAfterEach } from '../harness/cleanups.ts';
import {
  newSecret,
  signedPost,
  signWith,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../harness/webhook-receiver.ts';

const log = createLogger('silent');
const cleanups = cleanupsAfterEach();
const SECRET = newSecret();
const CALLBACK_SECRET = newSecret();
const SECRETS: Record<string, string> = { secret: SECRET, callbackSecret: CALLBACK_SECRET };

let receiver: WebhookReceiver;
let dir: string;
let db: Db;
beforeEach(async () => {
  receiver = await startWebhookReceiver({ secret: CALLBACK_SECRET });
  dir = mkdtempSync(join(tmpdir(), 'warren-webhook-'));
  db = openCentralDb(join(dir, 'warren.db'));
});
afterEach(async () => {
  await receiver.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function adapter(settings: Record<string, unknown> = {}) {
  const created = createWebhookAdapter({
    installation: 'webhook',
    settings: { mode: 'signed', callbackUrl: receiver.url, timeoutMs: 2000, ...settings },
    secret: (role) => {
      const value = SECRETS[role];
      if (value === undefined) throw new Error(`no ${role}`);
      return value;
    },
    maxInboundFileBytes: 1024,
    state: memoryChannelState(),
    log,
    clock: () => new Date(),
  });
  cleanups.push(() => created.stop());
  return created;
}

/** The adapter started with a machinery that records messages; `store` decides whether one is durable. */
async function receiving(
  settings: Record<string, unknown> = {},
  store: (m: InboundMessage) => Promise<void> = async () => {},
) {
  const webhook = adapter(settings);
  const received: { message: InboundMessage; eventId: string | undefined }[] = [];
  let alive = 0;
  const events: PlatformEvents = {
    async message(message, eventId) {
      await store(message);
      received.push({ message, eventId });
    },
    alive: () => void alive++,
    failed: () => {},
  };
  await webhook.start(events);
  const server = await serveChannel({ mountPath: '/channels/webhook', app: webhook.http }, log, cleanups);
  return { webhook, received, url: `${server.url}/channels/webhook`, alive: () => alive };
}

const hello = (text = 'hello', extra: Record<string, unknown> = {}) => ({
  chat: { id: 'room-1', name: 'Support' },
  sender: { id: 'u-7', name: 'Ada' },
  text,
  ...extra,
});

async function errorOf(res: Response): Promise<string> {
  return ((await res.json()) as { error: string }).error;
}

describe('inbound', () => {
  test('a POST signed with the secret is accepted: 200 once stored, the message normalized, the webhook-id its event id', async () => {
    const r = await receiving();
    const res = await signedPost(r.url, SECRET, hello('hi there', { threadId: 't-1', replyTo: 'm-0' }), {
      id: 'msg_first',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 'msg_first' });
    expect(r.received).toHaveLength(1);
    expect(r.received[0]!.eventId).toBe('msg_first');
    expect(r.received[0]!.message).toMatchObject({
      channelType: 'webhook',
      installation: 'webhook',
      platformMessageId: 'msg_first',
      chat: { id: 'room-1', name: 'Support', isGroup: false },
      sender: { id: 'u-7', name: 'Ada', isBot: false },
      threadId: 't-1',
      text: 'hi there',
      replyTo: { platformMessageId: 'm-0' },
      mentioned: true,
      attachments: [],
    });
    expect(r.received[0]!.message.sender.userId).toBeUndefined();
  });

  test("the body's messageId is the message's id when given; a trailing slash on the route is the same route", async () => {
    const r = await receiving();
    const res = await signedPost(`${r.url}/`, SECRET, hello('x', { messageId: 'crm-42' }), { id: 'msg_2' });
    expect(res.status).toBe(200);
    expect(r.received[0]!.message.platformMessageId).toBe('crm-42');
    expect(r.received[0]!.eventId).toBe('msg_2');
  });

  test('one valid signature among several (a secret being rotated) is enough', async () => {
    const r = await receiving();
    const body = JSON.stringify(hello('rotating'));
    const good = signWith(SECRET, body, { id: 'msg_rot' });
    const stale = signWith(newSecret(), body, { id: 'msg_rot' });
    const res = await fetch(r.url, {
      method: 'POST',
      headers: {
        ...good,
        'webhook-signature': `${stale['webhook-signature']} ${good['webhook-signature']}`,
      },
      body,
    });
    expect(res.status).toBe(200);
    expect(r.received).toHaveLength(1);
  });

  test('a wrong secret, an edited body, missing headers, a 6-minute-old and a 6-minute-future timestamp are each refused with 401, and nothing arrives', async () => {
    const r = await receiving();
    const body = JSON.stringify(hello('forged'));
    const sixMinutes = 6 * 60 * 1000;
    const attempts: [string, Record<string, string>, string][] = [
      ['wrong secret', signWith(newSecret(), body), body],
      ['edited body', signWith(SECRET, body), body.replace('forged', 'forgeD')],
      ['no headers', {}, body],
      ['no signature', (({ 'webhook-signature': _s, ...rest }) => rest)(signWith(SECRET, body)), body],
      ['6 minutes old', signWith(SECRET, body, { at: new Date(Date.now() - sixMinutes) }), body],
      ['6 minutes ahead', signWith(SECRET, body, { at: new Date(Date.now() + sixMinutes) }), body],
      ['v2 scheme', { ...signWith(SECRET, body), 'webhook-signature': 'v1a,abc' }, body],
    ];
    const answers = [];
    for (const [what, headers, sent] of attempts) {
      const res = await fetch(r.url, { method: 'POST', headers, body: sent });
      answers.push([what, res.status, await errorOf(res)]);
    }
    expect(answers).toEqual([
      ['wrong secret', 401, 'signature refused: no matching signature'],
      ['edited body', 401, 'signature refused: no matching signature'],
      ['no headers', 401, expect.stringMatching(/^signature refused: missing/)],
      ['no signature', 401, expect.stringMatching(/^signature refused: missing/)],
      ['6 minutes old', 401, 'signature refused: webhook-timestamp too old'],
      ['6 minutes ahead', 401, 'signature refused: webhook-timestamp in the future'],
      ['v2 scheme', 401, 'signature refused: no matching signature'],
    ]);
    expect(r.received).toHaveLength(0);
    // Within the tolerance (4 minutes either way) the same request is fine.
    for (const shift of [-4, 4]) {
      const at = new Date(Date.now() + shift * 60 * 1000);
      expect((await signedPost(r.url, SECRET, hello(`shift ${shift}`), { at })).status).toBe(200);
    }
    expect(r.received).toHaveLength(2);
  });

  test('a body over the cap is refused with 413 before anything is read into a message', async () => {
    const r = await receiving({ maxBodyBytes: 2048 });
    const big = hello('x'.repeat(4000));
    const res = await signedPost(r.url, SECRET, big);
    expect(res.status).toBe(413);
    expect(await errorOf(res)).toBe('body over 2048 bytes');
    // Unsigned and oversized: still 413 (the cap comes first, so nothing big is ever buffered).
    const unsigned = await fetch(r.url, { method: 'POST', body: JSON.stringify(big) });
    expect(unsigned.status).toBe(413);
    expect(r.received).toHaveLength(0);
    expect((await signedPost(r.url, SECRET, hello('small'))).status).toBe(200);
  });

  test('malformed JSON and bodies of the wrong shape are refused with 400 naming the field', async () => {
    const r = await receiving();
    const cases: [unknown, string][] = [
      ['{"chat": ', 'body is not JSON (UTF-8)'],
      [{ sender: { id: 'u' }, text: 'hi' }, 'chat: Invalid input: expected object, received undefined'],
      [{ chat: { id: 'r' }, text: 'hi' }, 'sender: Invalid input: expected object, received undefined'],
      [
        hello('hi', { chat: { id: 'has space' } }),
        'chat.id: must be 1 to 256 printable ASCII characters, no spaces',
      ],
      [hello(''), 'text: a message needs text or an action'],
      [
        hello('hi', { extra: 1 }),
        expect.stringMatching(/^body: Unrecognized key: "extra"/) as unknown as string,
      ],
      [hello('hi', { action: { token: 'é' } }), 'action.token: must be the token of a button Warren sent'],
      [[1, 2], 'body: Invalid input: expected object, received array'],
    ];
    for (const [body, error] of cases) {
      const res = await signedPost(r.url, SECRET, body);
      expect([res.status, await errorOf(res)]).toEqual([400, error]);
    }
    expect(r.received).toHaveLength(0);
  });

  test('a message Warren could not store is answered 500, so the integrator sends it again', async () => {
    let failing = true;
    const r = await receiving({}, async () => {
      if (failing) throw new Error('disk full');
    });
    expect((await signedPost(r.url, SECRET, hello('retry me'), { id: 'msg_r' })).status).toBe(500);
    failing = false;
    expect((await signedPost(r.url, SECRET, hello('retry me'), { id: 'msg_r' })).status).toBe(200);
    expect(r.received.map((x) => x.message.text)).toEqual(['retry me']);
  });

  test('a button press carries its token as the action', async () => {
    const r = await receiving();
    const res = await signedPost(r.url, SECRET, {
      chat: { id: 'dm-olga' },
      sender: { id: 'olga' },
      action: { token: 'tok-1', messageId: 'rx-9' },
    });
    expect(res.status).toBe(200);
    expect(r.received[0]!.message).toMatchObject({
      text: 'tok-1',
      action: { value: 'tok-1', platformMessageId: 'rx-9' },
    });
  });

  test('a stopped adapter answers 503; a started one proves it is alive on start and on each message', async () => {
    const r = await receiving();
    const afterStart = r.alive();
    expect(afterStart).toBeGreaterThanOrEqual(1);
    await signedPost(r.url, SECRET, hello('one'));
    expect(r.alive()).toBe(afterStart + 1);
    await r.webhook.stop();
    expect((await signedPost(r.url, SECRET, hello('two'))).status).toBe(503);
  });
});

describe('inbound through the channel machinery', () => {
  test('a replayed webhook-id is answered 200 each time and reaches Warren once', async () => {
    const webhook = adapter();
    const channel = createPlatformChannel('webhook', webhook, { db, clock: () => new Date(), log });
    const stored: InboundMessage[] = [];
    await channel.connect(async (m) => void stored.push(m));
    cleanups.push(() => channel.disconnect());
    const server = await serveChannel({ mountPath: '/channels/webhook', app: webhook.http }, log, cleanups);
    const url = `${server.url}/channels/webhook`;
    const body = JSON.stringify(hello('only once'));
    const headers = { 'content-type': 'application/json', ...signWith(SECRET, body, { id: 'msg_replay' }) };
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await fetch(url, { method: 'POST', headers, body })).status);
    expect(answers).toEqual([200, 200, 200]);
    expect(stored.map((m) => m.text)).toEqual(['only once']);
    expect(channel.health().connected).toBe(true);
  });
});

describe('outbound', () => {
  const piece = {
    chatId: 'room-1',
    threadId: 't-1',
    replyTo: 'm-0',
    text: 'the answer',
    nonce: 'n'.repeat(25),
  };

  test('a reply reaches the callback signed with the callback secret, verifiable with standardwebhooks', async () => {
    const webhook = adapter();
    const { platformMessageId } = await webhook.post(piece);
    expect(receiver.received).toHaveLength(1);
    const post = receiver.received[0]!;
    expect(post.verified).toBe(true);
    expect(post.path).toBe('/hooks/warren');
    expect(post.headers['content-type']).toBe('application/json');
    expect(post.headers['webhook-id']).toBe(`msg_${'n'.repeat(25)}`);
    expect(Math.abs(Number(post.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(post.payload).toEqual({
      type: 'message',
      id: `msg_${'n'.repeat(25)}`,
      chat: { id: 'room-1' },
      threadId: 't-1',
      replyTo: 'm-0',
      text: 'the answer',
    });
    // The callback answered { id: "rx-1" }: that is the reply's platform message id.
    expect(platformMessageId).toBe('rx-1');
    // Signed with the inbound secret instead, the receiver would refuse it.
    expect(signWith(SECRET, post.body, { id: 'x' })['webhook-signature']).not.toBe(
      post.headers['webhook-signature'],
    );
  });

  test('without an id in the answer, the webhook-id is the platform message id', async () => {
    receiver.answerAll({ status: 204 });
    expect(await adapter().post(piece)).toEqual({ platformMessageId: `msg_${'n'.repeat(25)}` });
  });

  test('a card goes with its title, body and buttons', async () => {
    await adapter().post({
      ...piece,
      text: '',
      card: { title: 'Deploy?', body: 'v2 to production', options: [] },
      buttons: [
        { label: 'Approve', token: 'tok-a' },
        { label: 'Reject', token: 'tok-r' },
      ],
    });
    expect(receiver.received[0]!.payload).toMatchObject({
      card: { title: 'Deploy?', body: 'v2 to production' },
      buttons: [
        { label: 'Approve', token: 'tok-a' },
        { label: 'Reject', token: 'tok-r' },
      ],
    });
  });

  test('answers map to the delivery taxonomy: 429 with Retry-After, 5xx, 401, 403, 404, 413, 400', async () => {
    const webhook = adapter();
    const codes: [number, string, number | undefined][] = [];
    for (const [status, headers] of [
      [429, { 'retry-after': '7' }],
      [503, {}],
      [500, {}],
      [401, {}],
      [403, {}],
      [404, {}],
      [413, {}],
      [400, {}],
    ] as const) {
      receiver.failNext(1, { status, headers });
      const error = await webhook.post(piece).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChannelSendError);
      const e = error as ChannelSendError;
      codes.push([status, e.code, e.retryAfterMs]);
    }
    expect(codes).toEqual([
      [429, 'rate_limited', 7000],
      [503, 'transient', undefined],
      [500, 'transient', undefined],
      [401, 'auth_failed', undefined],
      [403, 'forbidden', undefined],
      [404, 'not_found', undefined],
      [413, 'too_large', undefined],
      [400, 'invalid_request', undefined],
    ]);
  });

  test('a callback that does not answer in time, or cannot be reached, is a transient failure', async () => {
    const slow = await import('node:http').then(({ createServer }) => createServer(() => {}));
    slow.listen(0, '127.0.0.1');
    await new Promise((resolve) => slow.once('listening', resolve));
    cleanups.push(() => new Promise((resolve) => (slow.closeAllConnections(), slow.close(resolve))));
    const port = (slow.address() as { port: number }).port;
    const started = Date.now();
    const timedOut = await adapter({ callbackUrl: `http://127.0.0.1:${port}/`, timeoutMs: 500 })
      .post(piece)
      .catch((e: unknown) => e as ChannelSendError);
    expect(timedOut).toMatchObject({
      code: 'transient',
      message: expect.stringContaining('no answer within 500 ms'),
    });
    expect(Date.now() - started).toBeLessThan(3000);
    await receiver.close();
    const refused = await adapter()
      .post(piece)
      .catch((e: unknown) => e as ChannelSendError);
    expect(refused).toMatchObject({ code: 'transient', message: expect.stringContaining('ECONNREFUSED') });
  });

  test('a redirect to another origin is not followed; a 307 within the origin is', async () => {
    const elsewhere = await startWebhookReceiver({ secret: CALLBACK_SECRET });
    cleanups.push(() => elsewhere.close());
    receiver.failNext(1, { status: 307, headers: { location: `${elsewhere.url}` } });
    const error = await adapter()
      .post(piece)
      .catch((e: unknown) => e as ChannelSendError);
    expect(error).toMatchObject({ code: 'invalid_request' });
    expect(elsewhere.received).toHaveLength(0);

    receiver.failNext(1, { status: 307, headers: { location: '/hooks/moved' } });
    await adapter().post(piece);
    expect(receiver.received.slice(-1)[0]).toMatchObject({ path: '/hooks/moved', verified: true });
    // A 302 would turn the POST into a GET: refused, not followed.
    receiver.failNext(1, { status: 302, headers: { location: '/hooks/moved' } });
    expect(
      await adapter()
        .post(piece)
        .catch((e: unknown) => (e as ChannelSendError).code),
    ).toBe('invalid_request');
  });

  test('a reply the callback answers 503 is retried with the same webhook-id until it is taken, and posted once', async () => {
    const webhook = adapter();
    const channel = createPlatformChannel('webhook', webhook, { db, clock: () => new Date(), log });
    await channel.connect(async () => {});
    cleanups.push(() => channel.disconnect());
    receiver.failNext(2, { status: 503 });
    const message: OutboundMessage = {
      kind: 'send',
      idempotencyKey: 'sess-1:out-1',
      chatId: 'room-1',
      threadId: null,
      text: 'retried reply',
      inReplyTo: 'm-1',
      files: [],
    };
    // What delivery does: try again while the failure is transient.
    const outcomes: string[] = [];
    for (let i = 0; i < 5 && !outcomes.includes('delivered'); i++) {
      try {
        const result = await channel.send(message);
        outcomes.push('delivered');
        expect(result.platformMessageId).toBe('rx-3');
      } catch (error) {
        outcomes.push((error as ChannelSendError).code);
      }
    }
    expect(outcomes).toEqual(['transient', 'transient', 'delivered']);
    // A retry after it was taken (delivery lost the answer) posts nothing more.
    await channel.send(message);
    expect(receiver.received.map((r) => [r.status, r.verified])).toEqual([
      [503, true],
      [503, true],
      [200, true],
    ]);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(receiver.delivered()).toHaveLength(1);
  });
});

describe('settings and probe', () => {
  test('settings are checked: callbackUrl required and http(s), unknown keys refused', () => {
    const build = (settings: Record<string, unknown>) => () =>
      createWebhookAdapter({
        installation: 'webhook-crm',
        settings,
        secret: () => 'unchecked',
        maxInboundFileBytes: 0,
        state: memoryChannelState(),
        log,
        clock: () => new Date(),
      });
    expect(build({ mode: 'signed' })).toThrow(
      /webhook installation webhook-crm: bad settings \(callbackUrl: /,
    );
    expect(build({ callbackUrl: 'ftp://x.example/' })).toThrow(/callbackUrl must be an http\(s\) URL/);
    expect(build({ callbackUrl: 'https://x.example/', colour: 'red' })).toThrow(/Unrecognized key/);
    expect(build({ callbackUrl: 'https://x.example/', maxBodyBytes: 10 })).toThrow(/maxBodyBytes/);
    // Secrets are read when used, not when built (`warren channels add` builds with stand-ins).
    expect(build({ callbackUrl: 'https://x.example/' })).not.toThrow();
  });

  test('a malformed secret fails the start, naming the role and not the value', async () => {
    const webhook = createWebhookAdapter({
      installation: 'webhook',
      settings: { callbackUrl: receiver.url },
      secret: (role) => (role === 'secret' ? 'whsec_not*base64' : CALLBACK_SECRET),
      maxInboundFileBytes: 0,
      state: memoryChannelState(),
      log,
      clock: () => new Date(),
    });
    const events = { message: async () => {}, alive: () => {}, failed: () => {} };
    await expect(webhook.start(events)).rejects.toThrow(
      'the webhook secret is not whsec_ followed by base64',
    );
  });

  test('probe says what it checked without posting anything', async () => {
    const { botName } = await adapter().probe();
    expect(botName).toContain(`${receiver.origin} answered HEAD with 200`);
    expect(botName).toContain('no message was posted');
    await receiver.close();
    await expect(adapter().probe()).rejects.toMatchObject({ code: 'transient' });
  });
});
