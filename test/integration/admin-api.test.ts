// The admin API over real HTTP on the host's loopback server: bearer tokens, validation, cursor
// pages, and decisions made as the token's user (authorized when the decision arrives).
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { getApproval, type Approval } from '../../src/db/approvals.ts';
import { listAuditEvents } from '../../src/db/audit.ts';
import { finishAttempt, startAttempt, type AttemptOutcome } from '../../src/db/deliveries.ts';
import { createApiToken, revokeApiToken } from '../../src/db/tokens.ts';
import { setUserStatus } from '../../src/db/users.ts';
import { startHttpServer, type RunningHttpServer } from '../../src/host/http.ts';
import { adminApiOf, createWorld, type World } from '../harness/approvals.ts';

let w: World;
let http: RunningHttpServer;
const tokens: Record<string, string> = {};
const onMain: Approval[] = [];
let onOther: Approval;

beforeAll(async () => {
  w = createWorld();
  http = await startHttpServer({
    port: 0,
    host: '127.0.0.1',
    mounts: [
      {
        path: '/api',
        app: adminApiOf(w, {
          channelHealth: () => ({
            telegram: {
              connected: false,
              lastInboundAt: null,
              lastOutboundAt: null,
              lastError: 'no sign of life for 90000 ms',
            },
          }),
        }),
      },
    ],
    log: pino({ level: 'silent' }),
  });
  const iso = w.now().toISOString();
  for (const [name, person] of Object.entries({
    owner: w.owner,
    ada: w.otherAdmin,
    mallory: w.outsider,
    gus: w.globalAdmin,
  })) {
    tokens[name] = createApiToken(w.db, person.user.id, name, iso).token;
  }
  const revoked = createApiToken(w.db, w.owner.user.id, 'old', iso);
  revokeApiToken(w.db, revoked.apiToken.id, iso);
  tokens.revoked = revoked.token;
  const ask = async (agentGroupId: string, n: number) => {
    const outcome = await w.engine.request({
      kind: 'agent_action',
      agentGroupId,
      requestedBy: `agent:${agentGroupId}`,
      payload: { action: `act-${n}`, summary: 's', payload: { n } },
    });
    if (!outcome.ok) throw new Error(outcome.error);
    w.advance(1000); // distinct creation times: the order pages follow
    return outcome.approval;
  };
  for (let n = 0; n < 5; n++) onMain.push(await ask(w.main.id, n));
  onOther = await ask(w.other.id, 99);
});

afterAll(async () => {
  await http.close();
  w.close();
});

async function call(
  path: string,
  options: { token?: string; method?: string; body?: unknown; type?: string } = {},
) {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = options.type ?? 'application/json';
  const res = await fetch(`${http.url}/api${path}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers,
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('authentication', () => {
  test('no token, an unknown token and a revoked token all get 401', async () => {
    expect((await call('/approvals')).status).toBe(401);
    expect((await call('/approvals', { token: 'wrn_not-a-real-token' })).status).toBe(401);
    expect((await call('/approvals', { token: tokens.revoked })).status).toBe(401);
  });

  test('a missing or malformed header is told where tokens come from; a refused token is told why', async () => {
    const missing = await fetch(`${http.url}/api/approvals`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await missing.json()) as { error: string }).error).toMatch(/warren tokens create/);
    const malformed = await fetch(`${http.url}/api/approvals`, { headers: { authorization: 'Basic abc' } });
    expect(malformed.status).toBe(401);
    expect(((await malformed.json()) as { error: string }).error).toMatch(/warren tokens create/);
    const refused = await call('/approvals', { token: 'wrn_not-a-real-token' });
    expect(refused.body.error).toMatch(/unknown, revoked/);
  });

  test("a suspended user's token stops working", async () => {
    const iso = w.now().toISOString();
    const { token } = createApiToken(w.db, w.outsider.user.id, 'susp', iso);
    expect((await call('/approvals', { token })).status).toBe(403); // valid, but administers nothing
    setUserStatus(w.db, w.outsider.user.id, 'suspended', 'test', iso);
    expect((await call('/approvals', { token })).status).toBe(401);
    setUserStatus(w.db, w.outsider.user.id, 'active', 'test', iso);
  });

  test('a token is never accepted from the query string', async () => {
    expect((await call(`/approvals?token=${tokens.owner}`)).status).toBe(401);
  });
});

describe('channel health', () => {
  test('owners and install-wide admins read each channel; others are refused', async () => {
    const owner = await call('/channels', { token: tokens.owner });
    expect(owner.status).toBe(200);
    expect(owner.body.channels).toEqual([
      expect.objectContaining({
        type: 'telegram',
        connected: false,
        lastError: 'no sign of life for 90000 ms',
      }),
    ]);
    expect((await call('/channels', { token: tokens.gus })).status).toBe(200);
    expect((await call('/channels', { token: tokens.ada })).status).toBe(403);
    expect((await call('/channels')).status).toBe(401);
  });
});

describe('deliveries', () => {
  /** Three deliveries on two channels: one delivered at once, one after a 429, one still failing. */
  function recordDeliveries(): void {
    const at = () => w.now().toISOString();
    const attempt = (messageOutId: string, channelType: string, outcome: AttemptOutcome) => {
      const start = {
        sessionId: null,
        messageOutId,
        idempotencyKey: `key:${messageOutId}`,
        channelType,
        chatId: `chat-of-${messageOutId}`,
        threadId: channelType === 'teams' ? 'thread-1' : null,
      };
      finishAttempt(w.db, startAttempt(w.db, start, at()).id, outcome, at());
      w.advance(1000);
    };
    attempt('notice:a', 'teams', { status: 'delivered', platformMessageId: 'p-a' });
    attempt('notice:b', 'teams', { status: 'failed', errorCode: 'rate_limited', error: '429' });
    attempt('notice:c', 'slack', { status: 'failed', errorCode: 'transient', error: '503' });
    attempt('notice:b', 'teams', { status: 'delivered', platformMessageId: 'p-b' });
  }

  test('each delivery with its conversation, key and attempts, newest first, page by page', async () => {
    recordDeliveries();
    const first = await call('/deliveries?channel=teams&limit=1', { token: tokens.owner });
    expect(first.status).toBe(200);
    expect(first.body.items).toEqual([
      {
        sessionId: null,
        messageOutId: 'notice:b',
        idempotencyKey: 'key:notice:b',
        channelType: 'teams',
        conversation: { chatId: 'chat-of-notice:b', threadId: 'thread-1' },
        status: 'delivered',
        errorCode: null,
        platformMessageId: 'p-b',
        attempts: [
          expect.objectContaining({ attempt: 1, status: 'failed', errorCode: 'rate_limited', error: '429' }),
          expect.objectContaining({ attempt: 2, status: 'delivered', errorCode: null }),
        ],
      },
    ]);
    const second = await call(`/deliveries?channel=teams&limit=1&cursor=${String(first.body.nextCursor)}`, {
      token: tokens.owner,
    });
    expect((second.body.items as { messageOutId: string }[]).map((d) => d.messageOutId)).toEqual([
      'notice:a',
    ]);
    expect(second.body.nextCursor).toBeNull();
    const failing = await call('/deliveries?status=failed', { token: tokens.gus });
    expect((failing.body.items as { messageOutId: string }[]).map((d) => d.messageOutId)).toEqual([
      'notice:c',
    ]);
  });

  test('only owners and install-wide admins read them; a bad query names its field', async () => {
    expect((await call('/deliveries', { token: tokens.ada })).status).toBe(403);
    expect((await call('/deliveries')).status).toBe(401);
    const bad = await call('/deliveries?status=lost', { token: tokens.owner });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^status: /);
    const forged = await call('/deliveries?cursor=bm90LWEtY3Vyc29y', { token: tokens.owner });
    expect(forged.status).toBe(400);
    expect(forged.body.error).toMatch(/^cursor: /);
  });
});

describe('reading', () => {
  test('pages follow the cursor, oldest first, without repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await call(`/approvals?status=pending&limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
        token: tokens.owner,
      });
      expect(page.status).toBe(200);
      const items = page.body.items as { id: string }[];
      expect(items.length).toBeLessThanOrEqual(2);
      seen.push(...items.map((i) => i.id));
      cursor = page.body.nextCursor as string | null;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...onMain, onOther].map((a) => a.id));
  });

  test('limit defaults to 50 and may not exceed 200; bad queries get 400', async () => {
    expect((await call('/approvals', { token: tokens.owner })).body.items).toHaveLength(6);
    expect((await call('/approvals?limit=201', { token: tokens.owner })).status).toBe(400);
    expect((await call('/approvals?status=maybe', { token: tokens.owner })).status).toBe(400);
    expect((await call('/approvals?cursor=nonsense', { token: tokens.owner })).status).toBe(400);
    expect((await call('/approvals?colour=red', { token: tokens.owner })).status).toBe(400);
  });

  test('an admin of one agent group sees only its approvals', async () => {
    const page = await call('/approvals', { token: tokens.ada });
    expect((page.body.items as { id: string }[]).map((i) => i.id)).toEqual([onOther.id]);
    expect((await call(`/approvals/${onMain[0]!.id}`, { token: tokens.ada })).status).toBe(403);
  });

  test('one approval, with the payload hash to decide with', async () => {
    const res = await call(`/approvals/${onMain[0]!.id}`, { token: tokens.owner });
    expect(res).toMatchObject({
      status: 200,
      body: { approval: { id: onMain[0]!.id, payloadHash: onMain[0]!.payloadHash, status: 'pending' } },
    });
    expect((await call('/approvals/apr_nope', { token: tokens.owner })).status).toBe(404);
  });
});

describe('deciding', () => {
  /** POSTs `body` as the decision on approval `a`, with `token`. */
  const decide = (a: { id: string }, token: string | undefined, body: unknown, type?: string) =>
    call(`/approvals/${a.id}/decision`, { token, body, type });

  test('the token’s user decides; the decision is audited as them', async () => {
    const a = onMain[1]!;
    const res = await decide(a, tokens.gus, { decision: 'approve', payloadHash: a.payloadHash, note: 'ok' });
    expect(res).toMatchObject({
      status: 200,
      body: { approval: { status: 'approved', decidedBy: w.globalAdmin.user.id, note: 'ok' } },
    });
    const audit = listAuditEvents(w.db, { target: { kind: 'approval', id: a.id } });
    expect(audit[0]).toMatchObject({
      action: 'approval.decided',
      actor: w.globalAdmin.user.id,
      detail: expect.objectContaining({ via: 'api' }),
    });
    expect((await decide(a, tokens.owner, { decision: 'reject', payloadHash: a.payloadHash })).status).toBe(
      409,
    );
  });

  test('403 for a user who may not decide it; nothing changes', async () => {
    const a = onMain[2]!;
    const res = await decide(a, tokens.ada, { decision: 'approve', payloadHash: a.payloadHash });
    expect(res).toMatchObject({ status: 403, body: { code: 'unauthorized' } });
    expect(getApproval(w.db, a.id)!.status).toBe('pending');
  });

  test('409 when the hash is not the payload’s', async () => {
    const a = onMain[3]!;
    const res = await decide(a, tokens.owner, { decision: 'approve', payloadHash: 'a'.repeat(64) });
    expect(res).toMatchObject({ status: 409, body: { code: 'payload_changed' } });
    expect(getApproval(w.db, a.id)!.status).toBe('pending');
  });

  test('a bad body gets 400, a body that is not JSON 415', async () => {
    const a = onMain[4]!;
    expect((await decide(a, tokens.owner, { decision: 'maybe', payloadHash: a.payloadHash })).status).toBe(
      400,
    );
    expect((await decide(a, tokens.owner, { decision: 'approve' })).status).toBe(400);
    expect((await decide(a, tokens.owner, 'decision=approve', 'text/plain')).status).toBe(415);
    expect(getApproval(w.db, a.id)!.status).toBe('pending');
  });
});
