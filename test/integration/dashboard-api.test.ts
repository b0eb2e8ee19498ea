// The dashboard's server side over real HTTP: the page's security headers, the one-time sign-in link
// exchanged once for a short-lived token, and the change-notice stream (GET /api/events).
import { Hono } from 'hono';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listAuditEvents } from '../../src/db/audit.ts';
import { createApiToken } from '../../src/db/tokens.ts';
import { getUser } from '../../src/db/users.ts';
import { createWebSignIn, DASHBOARD_TOKEN_TTL_MS, makeLoginLink } from '../../src/host/access/index.ts';
import { apiTokenAuth, type ApiEnv } from '../../src/host/api/index.ts';
import { eventsApi } from '../../src/host/api/events.ts';
import type { ChannelHealth } from '../../src/host/channels/index.ts';
import { readServerSentEvents, type ServerSentEvent } from '../../src/host/channels/sse-reader.ts';
import { dashboardApp } from '../../src/host/dashboard/index.ts';
import { startHttpServer, type RunningHttpServer } from '../../src/host/http.ts';
import { serveApp } from '../harness/serve-app.ts';
import { adminApiOf, createWorld, type World } from '../harness/approvals.ts';

let w: World;
let http: RunningHttpServer;
let ownerToken: string;
const health: Record<string, ChannelHealth> = {
  rich: { connected: true, lastInboundAt: null, lastOutboundAt: null, lastError: null },
};
const log = pino({ level: 'silent' });

beforeAll(async () => {
  w = createWorld();
  http = await startHttpServer({
    port: 0,
    host: '127.0.0.1',
    mounts: [
      {
        path: '/api',
        app: adminApiOf(w, { log, channelHealth: () => health }),
      },
      { path: '/admin', app: dashboardApp({ db: w.db, clock: w.now, log }) },
    ],
    log,
  });
  ownerToken = createApiToken(w.db, w.owner.user.id, 'owner', w.now().toISOString()).token;
});

afterAll(async () => {
  await http.close();
  w.close();
});

const link = (userId: string, purpose: 'webchat' | 'dashboard') =>
  makeLoginLink(w.db, {
    user: getUser(w.db, userId)!,
    actor: 'test',
    now: w.now(),
    baseUrl: http.url,
    purpose,
  });

const exchange = (code: string) =>
  fetch(`${http.url}/admin/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });

const codeOf = (url: string) => /\/admin\/sign-in\/(.+)$/.exec(url)![1]!;

describe('the page', () => {
  test('is served with a strict content policy, no framing, no caching and no data in it', async () => {
    for (const path of ['/admin/', '/admin/sign-in/anything']) {
      const page = await fetch(`${http.url}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
      expect(page.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      const html = await page.text();
      expect(html).toContain('<script type="module" src="/admin/app.js">');
      expect(html).not.toContain(w.owner.user.id);
    }
  });

  test('its script is the browser code bundled into one module', async () => {
    const script = await fetch(`${http.url}/admin/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    const text = await script.text();
    expect(text).toContain('/api/events');
    expect(text).not.toMatch(/^import /m);
  });
});

describe('one-time sign-in links', () => {
  test('a dashboard link is exchanged once for a token that works for 8 hours', async () => {
    const { url } = link(w.owner.user.id, 'dashboard');
    expect(url).toMatch(new RegExp(`^${http.url}/admin/sign-in/dash\\.`));
    const first = await exchange(codeOf(url));
    expect(first.status).toBe(200);
    const { token, expiresAt } = (await first.json()) as { token: string; expiresAt: string };
    expect(Date.parse(expiresAt) - w.now().getTime()).toBe(DASHBOARD_TOKEN_TTL_MS);
    const read = () => fetch(`${http.url}/api/approvals`, { headers: { authorization: `Bearer ${token}` } });
    expect((await read()).status).toBe(200);

    const again = await exchange(codeOf(url));
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: string }).error).toMatch(/already used, has expired/);
    const actions = listAuditEvents(w.db, { target: { kind: 'user', id: w.owner.user.id } }).map(
      (e) => e.action,
    );
    expect(actions).toEqual(expect.arrayContaining(['login_link.used', 'login_link.refused']));

    w.advance(DASHBOARD_TOKEN_TTL_MS + 1000);
    expect((await read()).status).toBe(401);
  });

  test('an expired link is refused', async () => {
    const { url } = link(w.owner.user.id, 'dashboard');
    w.advance(11 * 60_000);
    expect((await exchange(codeOf(url))).status).toBe(401);
  });

  test('a web chat link does not sign in to the dashboard, nor a dashboard link to the web chat', async () => {
    const webchat = link(w.owner.user.id, 'webchat');
    const code = new URL(webchat.url).searchParams.get('code')!;
    expect((await exchange(code)).status).toBe(401);
    const dashboard = codeOf(link(w.owner.user.id, 'dashboard').url);
    expect(createWebSignIn({ db: w.db, clock: w.now }).signIn(dashboard).ok).toBe(false);
    // Neither was used up by the wrong door.
    expect(createWebSignIn({ db: w.db, clock: w.now }).signIn(code).ok).toBe(true);
    expect((await exchange(dashboard)).status).toBe(200);
  });

  test('a link of someone who administers nothing gives no token', async () => {
    const { url } = link(w.outsider.user.id, 'dashboard');
    expect((await exchange(codeOf(url))).status).toBe(401);
  });

  test('a body that is not JSON, or has no code, is refused', async () => {
    const form = await fetch(`${http.url}/admin/sign-in`, { method: 'POST', body: 'code=x' });
    expect(form.status).toBe(415);
    const empty = await fetch(`${http.url}/admin/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(empty.status).toBe(400);
  });
});

describe('GET /api/events', () => {
  const open = (token?: string, signal?: AbortSignal) =>
    fetch(`${http.url}/api/events`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal,
    });

  /** The stream's events as they come, until `stop` is aborted. */
  async function watch(token: string, stop: AbortController): Promise<AsyncGenerator<ServerSentEvent>> {
    const response = await open(token, stop.signal);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    return readServerSentEvents(response.body!);
  }

  /** The next event called `name` (others skipped); `for await` would close the stream on return. */
  async function until(
    events: AsyncGenerator<ServerSentEvent>,
    name: string,
    ms = 5000,
  ): Promise<ServerSentEvent> {
    const deadline = Date.now() + ms;
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no "${name}" event within ${ms} ms`)),
          deadline - Date.now(),
        );
      });
      const next = await Promise.race([events.next(), timeout]).finally(() => clearTimeout(timer));
      if (next.done) throw new Error(`the stream ended before a "${name}" event`);
      if (next.value.event === name) return next.value;
    }
  }

  test('needs a token, and a user who administers something', async () => {
    expect((await open()).status).toBe(401);
    expect((await open('wrn_not-a-real-token')).status).toBe(401);
    const outsider = createApiToken(w.db, w.outsider.user.id, 'x', w.now().toISOString()).token;
    expect((await open(outsider)).status).toBe(403);
  });

  test('says hello, then names the part that changed: a new approval, then a channel going down', async () => {
    const stop = new AbortController();
    const events = await watch(ownerToken, stop);
    try {
      expect((await until(events, 'hello')).data).toMatch(/"at"/);
      const asked = await w.engine.request({
        kind: 'agent_action',
        agentGroupId: w.main.id,
        requestedBy: `agent:${w.main.id}`,
        payload: { action: 'deploy', summary: 's', payload: { version: 'v1' } },
      });
      expect(asked.ok).toBe(true);
      const notice = await until(events, 'approvals');
      // A notice names the part only; the data stays behind the ordinary routes.
      expect(JSON.parse(notice.data)).toEqual({ topic: 'approvals', at: expect.any(String) });
      expect(notice.data).not.toContain('deploy');

      health.rich = { ...health.rich!, connected: false, lastError: 'no sign of life' };
      await until(events, 'channels');
    } finally {
      stop.abort();
    }
  });

  test('at most 4 streams per token are open at once', async () => {
    const stop = new AbortController();
    try {
      const token = createApiToken(w.db, w.owner.user.id, 'many', w.now().toISOString()).token;
      for (let i = 0; i < 4; i++) expect((await open(token, stop.signal)).status).toBe(200);
      const fifth = await open(token, stop.signal);
      expect(fifth.status).toBe(429);
      expect(((await fifth.json()) as { error: string }).error).toMatch(
        /4 event streams are open with this token/,
      );
      // Another token is not held back by this one.
      expect((await open(ownerToken, stop.signal)).status).toBe(200);
    } finally {
      stop.abort();
    }
  });

  test('a client that leaves notices unread past the cap is cut off, and its place is free again', async () => {
    // A cap below one notice: the first change after hello would pass it. (The web chat's stream
    // test drives the same writer with a client that stops reading, through real socket buffers.)
    let checks = 0;
    const flapping = () => ({ rich: { ...health.rich!, connected: checks++ % 2 === 0 } });
    const api = new Hono<ApiEnv>().use(apiTokenAuth(w.db, w.now)).route(
      '/events',
      eventsApi({
        db: w.db,
        clock: w.now,
        log,
        channelHealth: flapping,
        checkIntervalMs: 20,
        maxQueuedBytes: 10,
        maxStreamsPerToken: 1,
      }),
    );
    const server = await serveApp(new Hono().route('/', api), '/api');
    try {
      const read = () =>
        fetch(`${server.url}/api/events`, {
          headers: { authorization: `Bearer ${ownerToken}` },
          signal: AbortSignal.timeout(5000),
        });
      const cut = await read();
      expect(cut.status).toBe(200);
      // The stream ends by itself: hello, and no notice.
      const text = await cut.text();
      expect(text).toMatch(/^event: hello\ndata: \{"at":"[^"]+"\}\n\n$/);
      expect(checks).toBeGreaterThan(1);
      // Its place (one per token here) was given back.
      const again = await read();
      expect(again.status).toBe(200);
      await again.body!.cancel();
    } finally {
      await server.close();
    }
  });
});
