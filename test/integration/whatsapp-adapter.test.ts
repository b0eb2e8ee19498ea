// The WhatsApp adapter against a fake Graph API on loopback, inside the shared channel machinery (a real
// central database for button tokens and sent parts): its webhook served on a real HTTP server, signed
// notifications posted to it as Meta posts them, and what it sends read back from the fake.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import {
  createWhatsAppAdapter,
  type WhatsAppAdapter,
} from '../../src/host/channels/adapters/whatsapp/index.ts';
import {
  ChannelSendError,
  createPlatformChannel,
  type InboundMessage,
  type OutboundMessage,
} from '../../src/host/channels/index.ts';
import { createLogger } from '../../src/host/logger.ts';
import { memoryChannelState } from '../harness/channel-state.ts';
import {
  buttonReply,
  documentMessage,
  notification,
  postWebhook,
  startFakeWhatsApp,
  textMessage,
  type FakeWhatsApp,
} from '../harness/fake-whatsapp.ts';
import { waitUntil } from '../harness/wait-until.ts';

const APP_SECRET = 'app-secret-for-tests';
const VERIFY_TOKEN = 'verify-me-please';
const ANA = '15550001111';
const log = createLogger('silent');

let wa: FakeWhatsApp;
let dir: string;
let db: Db;
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  wa = await startFakeWhatsApp();
  dir = mkdtempSync(join(tmpdir(), 'warren-whatsapp-'));
  db = openCentralDb(join(dir, 'warren.db'));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  await wa.close();
});

function adapter(settings: Record<string, unknown> = {}, maxBytes = 1024): WhatsAppAdapter {
  const secrets: Record<string, string> = {
    accessToken: wa.token,
    appSecret: APP_SECRET,
    verifyToken: VERIFY_TOKEN,
  };
  return createWhatsAppAdapter({
    installation: 'whatsapp',
    apiBaseUrl: wa.apiBaseUrl,
    settings: { mode: 'cloud', phoneNumberId: wa.phoneNumberId, ...settings },
    secret: (role) => secrets[role]!,
    maxInboundFileBytes: maxBytes,
    state: memoryChannelState(),
    log,
    clock: () => new Date(),
  });
}

/**
 * The adapter in the machinery, connected, its webhook on a loopback port. `store` is the host's side:
 * it decides whether a message becomes durable (a throw: not stored).
 */
async function connected(
  options: {
    store?: (m: InboundMessage) => Promise<void>;
    settings?: Record<string, unknown>;
    machinery?: Parameters<typeof createPlatformChannel>[2]['options'];
  } = {},
) {
  const whatsapp = adapter(options.settings);
  const channel = createPlatformChannel('whatsapp', whatsapp, {
    db,
    clock: () => new Date(),
    log,
    options: options.machinery,
  });
  const received: InboundMessage[] = [];
  await channel.connect(async (message) => {
    await options.store?.(message);
    received.push(message);
  });
  const server = serve({ fetch: whatsapp.http.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  cleanups.push(async () => {
    await channel.disconnect();
    server.closeAllConnections();
    server.close();
  });
  const post = (messages: Record<string, unknown>[], signature?: string | null) =>
    postWebhook(url, APP_SECRET, notification(wa.phoneNumberId, messages, { [ANA]: 'Ana' }), { signature });
  return { whatsapp, channel, received, url, post };
}

const send = (
  text: string,
  extra: Partial<Extract<OutboundMessage, { kind: 'send' }>> = {},
): OutboundMessage => ({
  kind: 'send',
  idempotencyKey: `k-${Math.random()}`,
  chatId: ANA,
  threadId: null,
  text,
  inReplyTo: null,
  files: [],
  ...extra,
});

describe('the subscription check', () => {
  test('the challenge is echoed for the right verify token; a wrong token or mode gets 403', async () => {
    const { url } = await connected();
    const check = (mode: string, token: string, challenge = '1158201444') =>
      fetch(
        `${url}?hub.mode=${mode}&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=${encodeURIComponent(challenge)}`,
      );
    const ok = await check('subscribe', VERIFY_TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).toBe('1158201444');
    for (const [mode, token] of [
      ['subscribe', 'verify-me-pleasE'],
      ['subscribe', ''],
      ['unsubscribe', VERIFY_TOKEN],
    ] as const) {
      const refused = await check(mode, token);
      expect(refused.status).toBe(403);
      expect(await refused.text()).not.toContain('1158201444');
    }
    // Only a challenge of Meta's shape is echoed: the page is never made to say something else.
    expect((await check('subscribe', VERIFY_TOKEN, '<script>alert(1)</script>')).status).toBe(403);
  });
});

describe('inbound', () => {
  test('a signed notification is taken in: the person is the chat and the sender, named from contacts, with the message it answers', async () => {
    const { post, received } = await connected();
    const res = await post([
      textMessage({
        from: ANA,
        id: 'wamid.in.1',
        text: 'hello',
        context: { id: 'wamid.out.9', from: '15550100000' },
      }),
    ]);
    expect(res.status).toBe(200);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      channelType: 'whatsapp',
      platformMessageId: 'wamid.in.1',
      chat: { id: ANA, name: 'Ana', isGroup: false },
      sender: { id: ANA, name: 'Ana' },
      threadId: null,
      text: 'hello',
      mentioned: true,
      replyTo: { platformMessageId: 'wamid.out.9' },
      attachments: [],
    });
  });

  test('an unsigned, wrongly signed or altered notification is refused with 401 and reaches no one', async () => {
    const { post, url, received } = await connected();
    const message = [textMessage({ from: ANA, id: 'wamid.in.2', text: 'forged' })];
    expect((await post(message, null)).status).toBe(401);
    expect((await postWebhook(url, 'another-secret', notification(wa.phoneNumberId, message))).status).toBe(
      401,
    );
    expect((await post(message, 'sha256=' + '0'.repeat(64))).status).toBe(401);
    expect((await post(message, 'garbage')).status).toBe(401);
    // Signed, then changed on the way: the signature no longer matches the bytes.
    const signedFor = notification(wa.phoneNumberId, [
      textMessage({ from: ANA, id: 'wamid.in.2', text: 'original' }),
    ]);
    const { signWhatsAppBody } = await import('../../src/host/channels/adapters/whatsapp/index.ts');
    const altered = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': signWhatsAppBody(APP_SECRET, JSON.stringify(signedFor)),
      },
      body: JSON.stringify(signedFor).replace('original', 'altered!'),
    });
    expect(altered.status).toBe(401);
    expect(received).toEqual([]);
  });

  test('a body over the cap is refused with 413 before anything reads it', async () => {
    const { url, received } = await connected();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=' + '0'.repeat(64) },
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(res.status).toBe(413);
    expect(received).toEqual([]);
  });

  test('a message delivered twice is taken in once; both deliveries are answered 200', async () => {
    const { post, received } = await connected();
    const message = [textMessage({ from: ANA, id: 'wamid.in.dup', text: 'once please' })];
    expect((await post(message)).status).toBe(200);
    expect((await post(message)).status).toBe(200);
    expect(received.map((m) => m.platformMessageId)).toEqual(['wamid.in.dup']);
  });

  test('a notification is answered 200 only once stored: a failure answers 500, and the redelivery is taken in', async () => {
    let failing = true;
    const { post, received } = await connected({
      store: async () => {
        if (failing) throw new Error('database is locked');
      },
    });
    const message = [textMessage({ from: ANA, id: 'wamid.in.retry', text: 'keep me' })];
    expect((await post(message)).status).toBe(500);
    expect(received).toEqual([]);
    failing = false;
    expect((await post(message)).status).toBe(200);
    expect(received.map((m) => m.text)).toEqual(['keep me']);
  });

  test("another number's notification is not taken; a message of an unknown shape does not hold up the rest", async () => {
    const { url, post, received } = await connected();
    const other = notification('999999', [
      textMessage({ from: ANA, id: 'wamid.other', text: 'not for you' }),
    ]);
    expect((await postWebhook(url, APP_SECRET, other)).status).toBe(200);
    const res = await post([
      { from: 'not-a-number', id: 'x', type: 'text' },
      textMessage({ from: ANA, id: 'wamid.ok', text: 'fine' }),
    ]);
    expect(res.status).toBe(200);
    expect(received.map((m) => m.platformMessageId)).toEqual(['wamid.ok']);
  });

  test('a document sent in arrives with its bytes, fetched with the token; one over the cap becomes a note', async () => {
    const { post, received } = await connected();
    const small = wa.addMedia(Buffer.from('month,sales\njan,3\n'), 'text/csv');
    const big = wa.addMedia(Buffer.alloc(4096, 1), 'application/pdf');
    await post([
      documentMessage({
        from: ANA,
        id: 'wamid.doc.1',
        mediaId: small,
        filename: '../sales.csv',
        mimeType: 'text/csv',
        caption: 'see this',
      }),
      documentMessage({
        from: ANA,
        id: 'wamid.doc.2',
        mediaId: big,
        filename: 'big.pdf',
        mimeType: 'application/pdf',
      }),
    ]);
    expect(received).toHaveLength(2);
    expect(received[0]!.text).toBe('see this');
    expect(received[0]!.attachments).toHaveLength(1);
    expect(received[0]!.attachments[0]).toMatchObject({ name: 'sales.csv', type: 'text/csv' });
    expect(received[0]!.attachments[0]!.data.toString()).toBe('month,sales\njan,3\n');
    expect(wa.downloads()).toEqual([{ id: small, authorization: `Bearer ${wa.token}` }]);
    expect(received[1]!.attachments).toEqual([]);
    expect(received[1]!.text).toMatch(/^\[file too large: big\.pdf/);
  });

  test('a media URL on an origin not allowed is not fetched (the token stays home)', async () => {
    // The fake names its own origin for downloads; with the API base on another name it is not allowed.
    const whatsapp = createWhatsAppAdapter({
      installation: 'whatsapp',
      apiBaseUrl: wa.apiBaseUrl.replace('127.0.0.1', 'localhost'),
      settings: {
        mode: 'cloud',
        phoneNumberId: wa.phoneNumberId,
        mediaOrigins: 'https://lookaside.fbsbx.com',
      },
      secret: (role) => ({ accessToken: wa.token, appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN })[role]!,
      maxInboundFileBytes: 1024,
      state: memoryChannelState(),
      log,
      clock: () => new Date(),
    });
    const received: InboundMessage[] = [];
    await whatsapp.start({ message: async (m) => void received.push(m), alive: () => {}, failed: () => {} });
    cleanups.push(() => whatsapp.stop());
    const mediaId = wa.addMedia(Buffer.from('secret'), 'text/plain');
    const body = notification(wa.phoneNumberId, [
      documentMessage({ from: ANA, id: 'wamid.doc.3', mediaId, filename: 'a.txt', mimeType: 'text/plain' }),
    ]);
    const { signWhatsAppBody } = await import('../../src/host/channels/adapters/whatsapp/index.ts');
    const res = await whatsapp.http.request('/', {
      method: 'POST',
      headers: { 'x-hub-signature-256': signWhatsAppBody(APP_SECRET, JSON.stringify(body)) },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    expect(received[0]!.text).toBe('[file not received: a.txt (not from the platform)]');
    expect(wa.downloads()).toEqual([]);
  });
});

describe('outbound', () => {
  test('a text answers the message it replies to; the id WhatsApp gave is returned', async () => {
    const { channel } = await connected();
    const result = await channel.send(send('hi Ana', { inReplyTo: 'wamid.in.1' }));
    const [sent] = wa.sent(ANA);
    expect(sent!.body).toMatchObject({
      messaging_product: 'whatsapp',
      to: ANA,
      type: 'text',
      text: { body: 'hi Ana' },
      context: { message_id: 'wamid.in.1' },
    });
    expect(result.platformMessageId).toBe(sent!.id);
  });

  test('a pacing error (131056) is waited out and the message delivered once', async () => {
    const { channel } = await connected();
    wa.failNext(1, {
      status: 400,
      code: 131056,
      message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
    });
    const started = Date.now();
    await channel.send(send('paced'));
    const [refused] = wa.refused();
    expect(refused!.fault.code).toBe(131056);
    const delivered = wa.sent(ANA).filter((m) => (m.body.text as { body: string }).body === 'paced');
    expect(delivered).toHaveLength(1);
    // The machinery waited the 6 s the pair limit asks before trying again.
    expect(delivered[0]!.at - refused!.at).toBeGreaterThanOrEqual(5_900);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);

  test('a card with up to 3 options goes as reply buttons: titles cut to 20, ids the tokens; a press is the option', async () => {
    const { channel, post, received } = await connected();
    const card = {
      title: 'Approval needed: deploy',
      body: 'version: "v7"',
      options: [
        { label: 'Approve', value: 'approve:1' },
        { label: 'Reject with a very long reason', value: 'reject:1' },
      ],
    };
    const result = await channel.send(send('', { card }));
    const [sent] = wa.sent(ANA);
    expect(sent!.type).toBe('interactive');
    const interactive = sent!.body.interactive as {
      type: string;
      header: { text: string };
      body: { text: string };
      action: { buttons: { type: string; reply: { id: string; title: string } }[] };
    };
    expect(interactive.type).toBe('button');
    expect(interactive.header.text).toBe('Approval needed: deploy');
    expect(interactive.body.text).toBe('version: "v7"');
    const titles = interactive.action.buttons.map((b) => b.reply.title);
    expect(titles).toEqual(['Approve', 'Reject with a very …']);
    expect([...titles[1]!]).toHaveLength(20);
    const ids = interactive.action.buttons.map((b) => b.reply.id);
    expect(ids).not.toContain('approve:1'); // tokens, not the values
    expect(result.platformMessageId).toBe(sent!.id);

    const res = await post([
      buttonReply({
        from: ANA,
        id: 'wamid.press.1',
        buttonId: ids[1]!,
        title: titles[1]!,
        context: sent!.id,
      }),
    ]);
    expect(res.status).toBe(200);
    expect(received).toHaveLength(1);
    expect(received[0]!.action).toEqual({ value: 'reject:1', platformMessageId: sent!.id });
    expect(received[0]!.text).toBe('reject:1');
  });

  test('a button id Warren never issued is dropped', async () => {
    const { post, received } = await connected();
    expect(
      (await post([buttonReply({ from: ANA, id: 'wamid.press.2', buttonId: 'forged', title: 'Approve' })]))
        .status,
    ).toBe(200);
    expect(received).toEqual([]);
  });

  test('the channel says it shows at most 3 buttons (a bigger approval card goes as numbered text); an agent card of 5 goes as a list', async () => {
    const { channel } = await connected();
    expect(channel.maxButtons).toBe(3);
    const options = ['one', 'two', 'three', 'four', 'a fifth option with a long label'].map((label) => ({
      label,
      value: label,
    }));
    await channel.send(send('pick one', { card: { title: 'Pick', body: '', options } }));
    const interactive = wa.sent(ANA)[0]!.body.interactive as {
      type: string;
      body: { text: string };
      action: { sections: { rows: { id: string; title: string; description?: string }[] }[] };
    };
    expect(interactive.type).toBe('list');
    expect(interactive.body.text).toBe('pick one');
    const rows = interactive.action.sections[0]!.rows;
    expect(rows.map((r) => r.title)).toEqual(['one', 'two', 'three', 'four', 'a fifth option with a l…']);
    expect(rows[4]!.description).toBe('a fifth option with a long label');
  });

  test('a file is uploaded and sent as a document with its name', async () => {
    const { channel } = await connected();
    const path = join(dir, 'report.csv');
    writeFileSync(path, 'month,sales\n');
    await channel.send(send('', { files: [{ name: 'report.csv', path }] }));
    expect(wa.uploads()).toHaveLength(1);
    expect(wa.uploads()[0]).toMatchObject({ name: 'report.csv', type: 'text/csv' });
    expect(wa.uploads()[0]!.data.toString()).toBe('month,sales\n');
    const [sent] = wa.sent(ANA);
    expect(sent!.body).toMatchObject({
      type: 'document',
      document: { id: wa.uploads()[0]!.id, filename: 'report.csv' },
    });
  });

  test('"typing…" marks the person\'s last message read and shows against it; a chat nobody wrote in gets none', async () => {
    const { channel, post } = await connected();
    await post([textMessage({ from: ANA, id: 'wamid.in.typing', text: 'think hard' })]);
    channel.startTyping!(ANA, null);
    channel.startTyping!('15559999999', null);
    const read = await waitUntil(
      () => wa.reads()[0],
      5_000,
      () => 'no read receipt',
    );
    expect(read).toMatchObject({ messageId: 'wamid.in.typing', typing: true });
    await channel.send(send('done'));
    expect(wa.reads()).toHaveLength(1);
  });

  test('a reaction goes as a reaction message', async () => {
    const { channel } = await connected();
    await channel.send({
      kind: 'react',
      idempotencyKey: 'r1',
      chatId: ANA,
      threadId: null,
      targetPlatformMessageId: 'wamid.in.1',
      emoji: '👍',
    });
    expect(wa.sent(ANA)[0]!.body).toMatchObject({
      type: 'reaction',
      reaction: { message_id: 'wamid.in.1', emoji: '👍' },
    });
  });

  test("Graph's refusals map to the taxonomy", async () => {
    const whatsapp = adapter();
    const piece = { chatId: ANA, threadId: null, replyTo: null, text: 'x' };
    const cases: [Parameters<FakeWhatsApp['failNext']>[1], string, number | undefined][] = [
      [{ status: 400, code: 131056 }, 'rate_limited', 6_000],
      [{ status: 400, code: 130429 }, 'rate_limited', 1_000],
      [{ status: 429, retryAfter: 3 }, 'rate_limited', 3_000],
      [{ status: 400, code: 80007 }, 'rate_limited', 60_000],
      [{ status: 401, code: 190 }, 'auth_failed', undefined],
      [{ status: 400, code: 131047 }, 'forbidden', undefined],
      [{ status: 400, code: 100 }, 'invalid_request', undefined],
      [{ status: 503 }, 'transient', undefined],
    ];
    for (const [fault, code, retryAfterMs] of cases) {
      wa.failNext(1, fault);
      const error = await whatsapp.post(piece).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChannelSendError);
      expect({
        code: (error as ChannelSendError).code,
        wait: (error as ChannelSendError).retryAfterMs,
      }).toEqual({ code, wait: retryAfterMs });
    }
    await wa.close();
    const down = await whatsapp.post(piece).catch((e: unknown) => e);
    expect((down as ChannelSendError).code).toBe('transient');
    wa = await startFakeWhatsApp(); // afterEach closes it
  });
});

describe('liveness', () => {
  test('probe names the number; silence never restarts the channel, which stays healthy', async () => {
    expect(await adapter().probe()).toEqual({ botName: 'Warren Test (+1 555-010-0000)' });
    const lookups = () =>
      wa.calls().filter((c) => c.method === 'GET' && c.path.endsWith(`/${wa.phoneNumberId}`)).length;
    const before = lookups();
    const { channel } = await connected({ machinery: { staleAfterMs: 300, checkEveryMs: 50 } });
    await waitUntil(
      () => channel.health().connected || undefined,
      2_000,
      () => 'never healthy',
    );
    // Ten staleness periods without a single notification.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(channel.health()).toMatchObject({ connected: true, lastError: null });
    expect(lookups() - before).toBe(1); // the start's own check; no restart called start again
  });

  test('an expired token found by the periodic check makes the channel unhealthy, with the reason', async () => {
    const whatsapp = createWhatsAppAdapter({
      installation: 'whatsapp',
      apiBaseUrl: wa.apiBaseUrl,
      settings: { mode: 'cloud', phoneNumberId: wa.phoneNumberId, healthCheckSeconds: 1 },
      secret: (role) => ({ accessToken: 'expired', appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN })[role]!,
      maxInboundFileBytes: 1024,
      state: memoryChannelState(),
      log,
      clock: () => new Date(),
    });
    const channel = createPlatformChannel('whatsapp', whatsapp, {
      db,
      clock: () => new Date(),
      log,
      options: { checkEveryMs: 50 },
    });
    await channel.connect(async () => {});
    cleanups.push(() => channel.disconnect());
    const health = await waitUntil(
      () => (channel.health().lastError ? channel.health() : undefined),
      5_000,
      () => 'never unhealthy',
    );
    expect(health.connected).toBe(false);
    expect(health.lastError).toMatch(/190|OAuth/);
  });
});
