// The admin API as a whole: its OpenAPI document is valid (a real OpenAPI validator) and matches the
// routes the app serves; every route in it answers its documented status with a body its documented
// schema accepts; every route refuses missing, wrong and revoked tokens; bad input names the field;
// pages stay right while rows are added.
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Hono } from 'hono';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listAuditEvents } from '../../src/db/audit.ts';
import { createMessagingGroup } from '../../src/db/messaging-groups.ts';
import { createSession } from '../../src/db/sessions.ts';
import { createApiToken, revokeApiToken } from '../../src/db/tokens.ts';
import { API_OPERATIONS } from '../../src/host/api/index.ts';
import type { ApiOperation } from '../../src/host/api/openapi.ts';
import { startHttpServer, type RunningHttpServer } from '../../src/host/http.ts';
import { adminApiOf, createWorld, type World } from '../harness/approvals.ts';

let w: World;
let app: Hono;
let http: RunningHttpServer;
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};

beforeAll(async () => {
  w = createWorld();
  app = adminApiOf(w, {
    engineProblem: async () => 'no engine in this test',
    hasSecret: (name: string) => name === 'ANTHROPIC_API_KEY',
  });
  http = await startHttpServer({
    port: 0,
    host: '127.0.0.1',
    mounts: [{ path: '/api', app }],
    log: pino({ level: 'silent' }),
  });
  const iso = w.now().toISOString();
  tokens.owner = createApiToken(w.db, w.owner.user.id, 'owner', iso).token;
  tokens.outsider = createApiToken(w.db, w.outsider.user.id, 'outsider', iso).token;
  const revoked = createApiToken(w.db, w.owner.user.id, 'old', iso);
  revokeApiToken(w.db, revoked.apiToken.id, iso);
  tokens.revoked = revoked.token;

  ids.session = w.session(w.main).id;
  const asked = await w.engine.request({
    kind: 'agent_action',
    agentGroupId: w.main.id,
    requestedBy: `agent:${w.main.id}`,
    payload: { action: 'act', summary: 's', payload: { n: 1 } },
  });
  if (!asked.ok) throw new Error(asked.error);
  ids.approval = asked.approval.id;
  ids.payloadHash = asked.approval.payloadHash;
});

afterAll(async () => {
  await http.close();
  w.close();
});

async function call(path: string, options: { token?: string | null; method?: string; body?: unknown } = {}) {
  const token = options.token === undefined ? tokens.owner : options.token;
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${http.url}/api${path}`, {
    method: options.method ?? 'GET',
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    // An event stream never ends by itself: its first frame is the answer.
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    return { status: res.status, json: {} as Record<string, unknown>, text: first };
  }
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as Record<string, unknown>, text };
}

/** A request that succeeds for each documented route, in an order where each finds what it needs. */
function successfulRequest(op: ApiOperation): { path: string; body?: unknown; token?: string } {
  const idOf: Record<string, () => string> = {
    approvals: () => ids.approval!,
    wirings: () => ids.wiring!,
    sessions: () => ids.session!,
    users: () => w.otherAdmin.user.id,
  };
  const path = op.path.replace(':id', () => idOf[op.path.split('/')[1]!]!());
  if (op.method === 'post' && op.path === '/wirings')
    return { path, body: { chat: 'webchat:every-route', group: w.main.folder } };
  if (op.method === 'post' && op.path === '/approvals/:id/decision')
    return { path, body: { decision: 'approve', payloadHash: ids.payloadHash } };
  if (op.method === 'put' && op.path === '/users/:id/budget')
    return { path, body: { dailyTokenBudget: 5000 } };
  // Signing out revokes the token it is made with: a token of its own.
  if (op.path === '/tokens/current') return { path, token: throwawayToken() };
  return { path };
}

/** Routes any token's user may call, for itself. */
const FOR_EVERY_USER = new Set(['/tokens/current']);

const throwawayToken = () => createApiToken(w.db, w.owner.user.id, 'throwaway', w.now().toISOString()).token;

describe('the OpenAPI document', () => {
  test('is valid OpenAPI 3.1 and is served without a token', async () => {
    const res = await fetch(`${http.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    const document = (await res.json()) as { openapi: string; paths: Record<string, object> };
    expect(document.openapi).toBe('3.1.0');
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  test('lists exactly the routes the app serves', async () => {
    const document = (await (await fetch(`${http.url}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(document.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const served = [
      ...new Set(
        app.routes
          .filter((r) => r.method !== 'ALL' && r.path !== '/openapi.json')
          .map((r) => `${r.method} ${r.path.replace(/\/$/, '').replace(/:([A-Za-z]+)/g, '{$1}')}`),
      ),
    ].sort();
    expect(documented).toEqual(served);
  });
});

describe('every route', () => {
  test('answers its documented status with a body its schema accepts', async () => {
    const order = ['get', 'put', 'post', 'delete'] as const; // wire before unwire; stop after reading
    const sorted = [...API_OPERATIONS].sort(
      (a, b) => order.indexOf(a.method as never) - order.indexOf(b.method as never),
    );
    for (const op of sorted) {
      const { path, body, token } = successfulRequest(op);
      const res = await call(path, { method: op.method.toUpperCase(), body, token });
      expect(res.status, `${op.method} ${op.path}: ${JSON.stringify(res.json)}`).toBe(op.status ?? 200);
      const parsed = op.response.safeParse(op.contentType === 'text/event-stream' ? res.text : res.json);
      expect(parsed.success, `${op.method} ${op.path}: ${parsed.error?.message}`).toBe(true);
      if (op.method === 'post' && op.path === '/wirings') ids.wiring = (res.json.wiring as { id: string }).id;
    }
  });

  test('refuses a missing, a wrong and a revoked token with 401, and a user without the role with 403', async () => {
    for (const op of API_OPERATIONS) {
      const { path, body } = successfulRequest({ ...op, path: op.path });
      const method = op.method.toUpperCase();
      for (const token of [null, 'wrn_not-a-token', tokens.revoked!])
        expect((await call(path, { token, method, body })).status, `${method} ${op.path}`).toBe(401);
      if (FOR_EVERY_USER.has(op.path)) continue;
      expect(
        (await call(path, { token: tokens.outsider, method, body })).status,
        `${method} ${op.path}`,
      ).toBe(403);
    }
  });
});

describe('signing out', () => {
  test('a token revokes itself, is audited, and is refused from then on', async () => {
    const token = throwawayToken();
    expect((await call('/groups', { token })).status).toBe(200);
    const out = await call('/tokens/current', { token, method: 'DELETE' });
    expect(out.status).toBe(200);
    expect(listAuditEvents(w.db, { limit: 1 })[0]).toMatchObject({
      action: 'token.revoked',
      targetId: out.json.revoked,
      actor: `api:${w.owner.user.id}`,
    });
    expect((await call('/groups', { token })).status).toBe(401);
    expect((await call('/groups')).status).toBe(200); // the owner's other token still works
  });
});

describe('validation', () => {
  test.each([
    ['/sessions?limit=0', 'limit'],
    ['/sessions?all=maybe', 'all'],
    ['/wirings?cursor=' + 'x'.repeat(600), 'cursor'],
    ['/usage?since=yesterday', 'since'],
    ['/dropped?limit=201', 'limit'],
    ['/groups?colour=blue', 'colour'],
  ])('GET %s gets 400 naming %s', async (path, field) => {
    const res = await call(path);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(new RegExp(`^${field}`));
  });

  test('a wiring with bad fields gets 400 naming each, and nothing is created', async () => {
    const before = (await call('/wirings?limit=200')).json.items as unknown[];
    const cases: [unknown, RegExp][] = [
      [{ chat: 'lobby', group: w.main.folder }, /^chat: a chat is CHANNEL:CHAT_ID/],
      [{ chat: 'webchat:x', group: w.main.folder, engage: 'always' }, /^engage:/],
      [{ chat: 'webchat:x', group: w.main.folder, engage: 'pattern' }, /^pattern:/],
      [{ chat: 'webchat:x', group: w.main.folder, colour: 'blue' }, /colour/],
      [{ chat: 'webchat:x' }, /^group:/],
    ];
    for (const [body, message] of cases) {
      const res = await call('/wirings', { method: 'POST', body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error).toMatch(message);
    }
    expect(
      (await call('/wirings', { method: 'POST', body: { chat: 'webchat:x', group: 'nobody' } })).status,
    ).toBe(404);
    expect((await call('/wirings?limit=200')).json.items).toEqual(before);
  });

  test('a budget that is not a positive whole number or null gets 400; an unknown user 404', async () => {
    const path = `/users/${w.outsider.user.id}/budget`;
    for (const dailyTokenBudget of [0, -5, 1.5, 'lots'])
      expect((await call(path, { method: 'PUT', body: { dailyTokenBudget } })).json.error).toMatch(
        /^dailyTokenBudget:/,
      );
    expect(
      (await call('/users/u_nobody/budget', { method: 'PUT', body: { dailyTokenBudget: 10 } })).status,
    ).toBe(404);
    const set = await call(path, { method: 'PUT', body: { dailyTokenBudget: 1234 } });
    expect(set.json).toEqual({ userId: w.outsider.user.id, before: null, after: 1234 });
    const listed = (await call('/users?limit=200')).json.items as {
      id: string;
      dailyTokenBudget: number | null;
    }[];
    expect(listed.find((u) => u.id === w.outsider.user.id)?.dailyTokenBudget).toBe(1234);
    const cleared = await call(path, { method: 'PUT', body: { dailyTokenBudget: null } });
    expect(cleared.json).toEqual({ userId: w.outsider.user.id, before: 1234, after: null });
  });

  test('wiring a chat twice is a conflict; unwiring an unknown wiring is not found', async () => {
    const body = { chat: 'webchat:twice', group: w.main.folder };
    expect((await call('/wirings', { method: 'POST', body })).status).toBe(201);
    const again = await call('/wirings', { method: 'POST', body });
    expect(again.status).toBe(409);
    expect(again.json.error).toMatch(/already wired/);
    expect((await call('/wirings/nope', { method: 'DELETE' })).status).toBe(404);
  });
});

describe('pagination', () => {
  test('session pages neither repeat nor skip while sessions start between them', async () => {
    const chat = (n: number) =>
      createMessagingGroup(
        w.db,
        { channelType: 'webchat', platformId: `page-${n}`, isGroup: false },
        w.now().toISOString(),
      );
    const start = (n: number) => {
      w.advance(1000);
      return createSession(
        w.db,
        { agentGroupId: w.main.id, messagingGroupId: chat(n).id, threadId: null },
        w.now().toISOString(),
      ).id;
    };
    for (let n = 0; n < 7; n++) start(n);
    const everyBefore = ((await call('/sessions?limit=200')).json.items as { id: string }[]).map((s) => s.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let added = 100;
    do {
      const page = await call(`/sessions?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...(page.json.items as { id: string }[]).map((s) => s.id));
      cursor = page.json.nextCursor as string | null;
      start(added++); // a new session starts between every two pages
    } while (cursor);
    expect(seen).toEqual(everyBefore);
  });

  test('wiring pages (oldest first) neither repeat nor skip while chats are wired between them', async () => {
    for (let n = 0; n < 5; n++) {
      w.advance(1000);
      expect(
        (await call('/wirings', { method: 'POST', body: { chat: `webchat:w-${n}`, group: w.main.folder } }))
          .status,
      ).toBe(201);
    }
    const everyBefore = ((await call('/wirings?limit=200')).json.items as { id: string }[]).map((x) => x.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let added = 100;
    do {
      const page = await call(`/wirings?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...(page.json.items as { id: string }[]).map((x) => x.id));
      cursor = page.json.nextCursor as string | null;
      w.advance(1000);
      await call('/wirings', {
        method: 'POST',
        body: { chat: `webchat:w-${added++}`, group: w.main.folder },
      });
    } while (cursor);
    // New wirings come after every cursor, so they are read too, at the end and once.
    expect(seen.slice(0, everyBefore.length)).toEqual(everyBefore);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThan(everyBefore.length);
  });
});
