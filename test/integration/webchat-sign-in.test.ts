// Who a web chat request comes from, and what one peer may make the host spend: the web chat
// channel with the real sign-in (src/host/access/web-sign-in.ts) on a real central database, behind
// a real HTTP server on loopback, with the clock in the test's hands. Each attack first.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { listAuditEvents } from '../../src/db/audit.ts';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import { createApiToken } from '../../src/db/tokens.ts';
import { createUser, setUserStatus, type User } from '../../src/db/users.ts';
import { createLoginLink } from '../../src/db/web-sign-in.ts';
import { createWebSignIn, makeLoginLink } from '../../src/host/access/index.ts';
import { createWebchatChannel } from '../../src/host/channels/adapters/webchat/index.ts';
import type { WebchatLimits } from '../../src/host/channels/adapters/webchat/index.ts';
import type { InboundMessage } from '../../src/host/channels/channel.ts';
import { readServerSentEvents } from '../../src/host/channels/sse-reader.ts';
import { createLogger } from '../../src/host/logger.ts';
import { cleanupsAfterEach } from '../harness/cleanups.ts';
import { serveChannel } from '../harness/channel-server.ts';

const log = createLogger('silent');
const cleanups = cleanupsAfterEach();

async function startSignIn(limits: Partial<WebchatLimits> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'warren-signin-'));
  const db: Db = openCentralDb(join(root, 'warren.db'));
  cleanups.push(() => void db.close());
  let now = new Date('2026-03-01T10:00:00.000Z');
  const clock = () => now;
  const received: InboundMessage[] = [];
  const channel = createWebchatChannel({
    clock,
    log,
    filesDir: join(root, 'files'),
    auth: createWebSignIn({ db, clock }),
    limits,
  });
  await channel.connect(async (message) => void received.push(message));
  const server = await serveChannel(channel, log, cleanups);
  const olga = createUser(db, { displayName: 'Olga' }, now.toISOString());
  return {
    db,
    channel,
    url: server.url,
    received,
    olga,
    advance: (ms: number) => (now = new Date(now.getTime() + ms)),
    link: (user: User = olga, minutes = 10) =>
      makeLoginLink(db, { user, actor: 'cli:op', now, ttlMs: minutes * 60_000, baseUrl: server.url }),
    /** The confirmation page's form post, as the browser sends it. */
    confirm: (linkUrl: string, origin: string = server.url) =>
      fetch(`${server.url}/webchat/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
        body: new URLSearchParams({ code: new URL(linkUrl).searchParams.get('code')! }).toString(),
        redirect: 'manual',
      }),
    post: (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/webchat/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }),
  };
}

const cookieOf = (res: Response) => /^(warren_browser=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
const auditActions = (db: Db) => listAuditEvents(db, {}).map((e) => e.action);

test('a post naming a user is an anonymous visitor scoped to its chat, never that user', async () => {
  const w = await startSignIn();
  const res = await w.post({ chat: 'olga-dm', sender: { id: w.olga.id, name: 'Olga' }, text: 'hi' });
  expect(res.status).toBe(202);
  expect(w.received[0]!.sender).toEqual({ id: `anon/olga-dm/${w.olga.id}`, name: 'Olga', anonymous: true });
  expect(w.received[0]!.sender.userId).toBeUndefined();
});

test('a made-up cookie is an anonymous browser of its own, whatever sender the body names', async () => {
  const w = await startSignIn();
  const forged = `warren_browser=${'A'.repeat(43)}`;
  await w.post({ chat: 'lobby', sender: { id: 'olga' }, text: 'hi' }, { cookie: forged });
  expect(w.received[0]!.sender).toMatchObject({
    id: expect.stringMatching(/^anon\/lobby\/browser-/),
    anonymous: true,
  });
});

test('a login link opened (GET) shows a confirmation page and is not used up by it', async () => {
  const w = await startSignIn();
  const link = w.link();
  for (let i = 0; i < 2; i++) {
    const page = await fetch(link.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    // The link in the address bar never leaves in a Referer to another site.
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
    expect(await page.text()).toContain('Sign in as Olga');
  }
  expect((await w.confirm(link.url)).status).toBe(303);
});

test('a signed-in browser posts as its user, with an HttpOnly SameSite=Strict cookie of its own', async () => {
  const w = await startSignIn();
  const res = await w.confirm(w.link().url);
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/webchat/');
  const setCookie = res.headers.get('set-cookie')!;
  expect(setCookie).toMatch(/HttpOnly/);
  expect(setCookie).toMatch(/SameSite=Strict/);
  expect(setCookie).toMatch(/Path=\/webchat/);

  await w.post({ chat: 'olga-dm', sender: { id: 'anything' }, text: 'hi' }, { cookie: cookieOf(res)! });
  expect(w.received[0]!.sender).toEqual({ id: `user/${w.olga.id}`, userId: w.olga.id });
  expect(auditActions(w.db)).toEqual(expect.arrayContaining(['login_link.created', 'login_link.used']));
  // The database holds hashes only: neither the link code nor the cookie value.
  const stored = JSON.stringify(w.db.prepare('SELECT * FROM login_links, web_browsers').all());
  expect(stored).not.toContain(cookieOf(res)!.split('=')[1]);
});

test('a login link works once: the second confirmation is refused, audited, and signs nobody in', async () => {
  const w = await startSignIn();
  const link = w.link();
  expect((await w.confirm(link.url)).status).toBe(303);
  const again = await w.confirm(link.url);
  expect(again.status).toBe(400);
  expect(await again.text()).toMatch(/already used, has expired, or was mistyped/);
  expect(cookieOf(again)).toBeUndefined();
  expect((await fetch(link.url)).status).toBe(400);
  const refused = listAuditEvents(w.db, {}).find((e) => e.action === 'login_link.refused');
  expect(refused?.detail).toEqual({ reason: 'already_used' });
});

test('two browsers confirming the same link at once: exactly one is signed in', async () => {
  const w = await startSignIn();
  const link = w.link();
  const answers = await Promise.all(Array.from({ length: 8 }, () => w.confirm(link.url)));
  expect(answers.map((r) => r.status).sort()).toEqual([303, 400, 400, 400, 400, 400, 400, 400]);
  expect(w.db.prepare('SELECT count(*) FROM web_browsers').pluck().get()).toBe(1);
});

test('a login link past its time is refused', async () => {
  const w = await startSignIn();
  const link = w.link(w.olga, 10);
  w.advance(10 * 60_000 + 1);
  expect((await fetch(link.url)).status).toBe(400);
  expect((await w.confirm(link.url)).status).toBe(400);
  expect(listAuditEvents(w.db, {}).find((e) => e.action === 'login_link.refused')?.detail).toEqual({
    reason: 'expired',
  });
});

test('a login link cannot live longer than 15 minutes, nor be made for a suspended user', async () => {
  const w = await startSignIn();
  expect(() => w.link(w.olga, 16)).toThrow(/15 minutes/);
  // The schema refuses it too.
  expect(() =>
    w.db
      .prepare(
        "INSERT INTO login_links (link_hash, user_id, created_by, created_at, expires_at) VALUES ('h', ?, 'x', '2026-03-01T10:00:00.000Z', '2026-03-01T10:16:00.000Z')",
      )
      .run(w.olga.id),
  ).toThrow(/CHECK/);
  setUserStatus(w.db, w.olga.id, 'suspended', 'test', new Date().toISOString());
  expect(() => w.link()).toThrow(/suspended/);
});

test('a link made before its user was suspended no longer signs in', async () => {
  const w = await startSignIn();
  const { secret } = createLoginLink(w.db, w.olga.id, 'test', '2026-03-01T10:00:00.000Z', 600_000);
  setUserStatus(w.db, w.olga.id, 'suspended', 'test', '2026-03-01T10:00:00.000Z');
  const res = await w.confirm(`${w.url}/webchat/sign-in?code=${secret}`);
  expect(res.status).toBe(400);
});

test('a sign-in posted from another site is refused (login CSRF), and the link stays usable', async () => {
  const w = await startSignIn();
  const link = w.link();
  expect((await w.confirm(link.url, 'https://evil.example')).status).toBe(403);
  expect((await w.confirm(link.url, 'null')).status).toBe(403);
  expect((await w.confirm(link.url)).status).toBe(303);
});

test('an admin API token acts as its user; an unknown one is a 401, never an anonymous visitor', async () => {
  const w = await startSignIn();
  const { token } = createApiToken(w.db, w.olga.id, 'script', new Date().toISOString());
  const ok = await w.post(
    { chat: 'ops', sender: { id: 'bot' }, text: 'hi' },
    { authorization: `Bearer ${token}` },
  );
  expect(ok.status).toBe(202);
  expect(w.received[0]!.sender.userId).toBe(w.olga.id);
  const bad = await w.post(
    { chat: 'ops', sender: { id: 'bot' }, text: 'hi' },
    { authorization: 'Bearer wrn_nope' },
  );
  expect(bad.status).toBe(401);
  expect(((await bad.json()) as { error: string }).error).toMatch(/unknown, revoked/);
  expect(w.received).toHaveLength(1);
});

test('signing out forgets the browser: its cookie is anonymous again', async () => {
  const w = await startSignIn();
  const cookie = cookieOf(await w.confirm(w.link().url))!;
  const out = await fetch(`${w.url}/webchat/api/sign-out`, { method: 'POST', headers: { cookie } });
  expect(out.status).toBe(200);
  await w.post({ chat: 'lobby', sender: { id: 'x' }, text: 'hi' }, { cookie });
  expect(w.received[0]!.sender.anonymous).toBe(true);
});

test('the chat page gives a browser without one an anonymous cookie of its own', async () => {
  const w = await startSignIn();
  const page = await fetch(`${w.url}/webchat/`);
  expect(page.headers.get('set-cookie')).toMatch(
    /^warren_browser=[A-Za-z0-9_-]{43}; Path=\/webchat; HttpOnly; SameSite=Strict/,
  );
  const again = await fetch(`${w.url}/webchat/`, { headers: { cookie: cookieOf(page)! } });
  expect(again.headers.get('set-cookie')).toBeNull();
});

// Limits (DESIGN §10): every one answers with a clear error and a status a client can act on.

test('posts past the per-sender rate are refused with 429 and retry-after, until the bucket refills', async () => {
  const w = await startSignIn({ postsPerMinutePerSender: 3, postsPerMinutePerChat: 100 });
  const send = () => w.post({ chat: 'lobby', sender: { id: 'flood' }, text: 'x' });
  for (let i = 0; i < 3; i++) expect((await send()).status).toBe(202);
  const limited = await send();
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(((await limited.json()) as { error: string }).error).toMatch(/too many messages/);
  // Another sender in the same chat is not held up by this one.
  expect((await w.post({ chat: 'lobby', sender: { id: 'calm' }, text: 'x' })).status).toBe(202);
  w.advance(20_000);
  expect((await send()).status).toBe(202);
  expect(w.received).toHaveLength(5);
});

test('posts past the per-chat rate are refused with 429, whoever sends them', async () => {
  const w = await startSignIn({ postsPerMinutePerSender: 100, postsPerMinutePerChat: 4 });
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++)
    statuses.push((await w.post({ chat: 'busy', sender: { id: `s${i}` }, text: 'x' })).status);
  expect(statuses).toEqual([202, 202, 202, 202, 429, 429]);
  expect((await w.post({ chat: 'quiet', sender: { id: 's9' }, text: 'x' })).status).toBe(202);
});

test('event streams past the per-chat and total caps are refused with 429', async () => {
  const w = await startSignIn({ maxStreamsPerChat: 2, maxStreams: 3 });
  const open = (chat: string) => fetch(`${w.url}/webchat/api/events?chat=${chat}`);
  const streams = [await open('a'), await open('a')];
  cleanups.push(() => Promise.all(streams.map((s) => s.body?.cancel())).then(() => undefined));
  expect(streams.map((s) => s.status)).toEqual([200, 200]);
  const third = await open('a');
  expect(third.status).toBe(429);
  expect(((await third.json()) as { error: string }).error).toMatch(/2 event streams are open on chat a/);
  streams.push(await open('b'));
  expect(streams[2]!.status).toBe(200);
  const fourth = await open('c');
  expect(fourth.status).toBe(429);
  expect(((await fourth.json()) as { error: string }).error).toMatch(
    /3 event streams are open on this channel/,
  );
  // Closing one frees its place.
  await streams.shift()!.body!.cancel();
  await expect
    .poll(async () => await open('c').then(async (r) => (await r.body?.cancel(), r.status)))
    .toBe(200);
});

test('a client that does not read is cut off once the bytes queued for it pass the cap', async () => {
  const w = await startSignIn({ maxQueuedBytes: 64 * 1024 });
  const stalled = await fetch(`${w.url}/webchat/api/events?chat=slow`);
  expect(stalled.status).toBe(200);
  // Never read: the socket and then the channel's queue fill up. 40 events of 32 KiB = 1.25 MiB.
  for (let i = 0; i < 40; i++) {
    await w.channel.send({
      kind: 'send',
      idempotencyKey: `big-${i}`,
      chatId: 'slow',
      threadId: null,
      text: 'x'.repeat(32 * 1024),
      inReplyTo: null,
      files: [],
    });
  }
  // Cut off: a new stream on the chat is accepted again (the slow one no longer counts) and the
  // stalled one ends once its buffered bytes are read.
  const reader = stalled.body!.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
  }
  expect(bytes).toBeLessThan(40 * 32 * 1024);
});

test('an anonymous event stream gets approval cards without their option values; a signed-in one gets them', async () => {
  const w = await startSignIn();
  const cookie = cookieOf(await w.confirm(w.link().url))!;
  const readCard = async (headers: Record<string, string>) => {
    const abort = new AbortController();
    const res = await fetch(`${w.url}/webchat/api/events?chat=olga-dm`, { headers, signal: abort.signal });
    for await (const { event, data } of readServerSentEvents(res.body!)) {
      if (event !== 'message') continue;
      abort.abort();
      return (JSON.parse(data) as { card: { options: { label: string; value?: string }[] } }).card.options;
    }
    throw new Error('the stream ended without the card');
  };
  const approve = `apr:apr_1:approve:${'0'.repeat(64)}`;
  await w.channel.send({
    kind: 'send',
    idempotencyKey: 'card:1',
    chatId: 'olga-dm',
    threadId: null,
    text: '',
    inReplyTo: null,
    files: [],
    card: {
      title: 'Approval needed',
      body: '…',
      options: [
        { label: 'Approve', value: approve },
        { label: 'Blue', value: 'q:q_1:1' },
      ],
    },
  });
  expect(await readCard({})).toEqual([{ label: 'Approve' }, { label: 'Blue', value: 'q:q_1:1' }]);
  expect(await readCard({ cookie })).toEqual([
    { label: 'Approve', value: approve },
    { label: 'Blue', value: 'q:q_1:1' },
  ]);
});
