// Property-based fuzzing of the web chat HTTP API of a real host (DESIGN §10: every field of every
// request is hostile input). 10,000 generated requests: valid and malformed bodies, wrong types,
// huge and deeply nested JSON, odd headers and cookies, forged senders and tokens. Each must be
// answered with a 202 (the message taken durably) or a 4xx carrying a clear error; the host must
// never fail (5xx) or fall over, and no forged identity may act as the owner.
import { readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createApiToken } from '../../src/db/tokens.ts';
import { startWarren, type Warren } from '../harness/warren.ts';

const BATCHES = 200;
const PER_BATCH = 50; // 10,000 requests, each batch sent concurrently

let warren: Warren;
let ownerId: string;
let ownerToken: string;

beforeAll(async () => {
  // No containers: the one wired chat keeps what it is sent as context (a pattern nothing matches,
  // accumulate), every other chat is unwired (recorded as dropped). Rates high enough that most
  // requests reach parsing and routing; the limits have their own tests.
  warren = await startWarren({
    autoWire: false,
    config: { webchat: { postsPerMinutePerSender: 1_000_000, postsPerMinutePerChat: 1_000_000 } },
  });
  warren.wire.wiring('fuzz', warren.wire.main(), {
    engageMode: 'pattern',
    engagePattern: '^\\b$',
    ignoredMessagePolicy: 'accumulate',
  });
  const owner = warren.wire.owner({ account: 'owner', name: 'Olga', dm: 'owner-dm' });
  ownerId = owner.id;
  ownerToken = createApiToken(warren.wire.db, owner.id, 'fuzz', new Date().toISOString()).token;
}, 60_000);
afterAll(() => warren?.stop());

interface FuzzRequest {
  path: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

const idLike = fc.oneof(
  fc.constantFrom('fuzz', 'owner-dm', 'owner', 'lobby', 'a:b', 'user/x', 'anon/fuzz/owner', ''),
  fc.stringMatching(/^[A-Za-z0-9._:@-]{1,20}$/),
  fc.string({ maxLength: 30 }),
  fc.constant('x'.repeat(201)),
);
const text = fc.oneof(
  { weight: 8, arbitrary: fc.string({ minLength: 0, maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constant('y'.repeat(64 * 1024 + 1)) }, // one byte over the text limit
  { weight: 1, arbitrary: fc.constantFrom('/link', '/link ABCDE-FGHJK', '1', 'approve apr_x', 'q:q_1:1') },
);
const wrongType = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
);
const sender = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      { id: idLike, name: fc.option(fc.string({ maxLength: 210 }), { nil: undefined }) },
      { requiredKeys: ['id'] },
    ),
  },
  { weight: 1, arbitrary: fc.constant({ id: 'owner', name: 'Olga' }) },
  { weight: 1, arbitrary: fc.constant({ id: 'owner', userId: 'u_forged', anonymous: false }) },
  { weight: 1, arbitrary: wrongType },
);
// Files with hostile names and types (the router turns them into plain files in the session inbox).
const fileName = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.constantFrom('../../etc/passwd', 'a/b', '..', '.', '\u0000x', ' .hidden', 'a\\..\\b', 'x'.repeat(300)),
);
const postedFile = fc.record(
  {
    name: fileName,
    type: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('image/png', 'text/html\r\nx: 1')),
    data: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('base64')),
  },
  { requiredKeys: ['name', 'data'] },
);
const files = fc.array(postedFile, { maxLength: 4 });
const message = fc.record(
  {
    files: fc.oneof(
      files,
      wrongType,
      fc.array(fc.record({ name: fc.anything(), data: fc.string({ maxLength: 20 }) }), { maxLength: 2 }),
    ),
    chat: fc.oneof({ weight: 5, arbitrary: idLike }, { weight: 1, arbitrary: wrongType }),
    sender,
    text: fc.oneof({ weight: 5, arbitrary: text }, { weight: 1, arbitrary: wrongType }),
    id: fc.oneof(idLike, wrongType),
    thread: idLike,
    mentioned: fc.oneof(fc.boolean(), wrongType),
    value: fc.oneof(fc.string({ maxLength: 100 }), fc.constant(`apr:apr_x:approve:${'0'.repeat(64)}`)),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);
const validMessage = fc.record({
  chat: fc.constantFrom('fuzz', 'lobby', 'owner-dm'),
  sender: fc.record({
    id: fc.stringMatching(/^[a-z]{1,8}$/),
    name: fc.string({ minLength: 1, maxLength: 20 }),
  }),
  text: fc.string({ minLength: 1, maxLength: 100 }),
  files: fc.option(files, { nil: undefined }),
});
// Weighted so that about one request in 40 carries a body over 256 KiB (enough to prove the limit
// without spending the run moving megabytes), and most are well formed or nearly so.
const body = fc.oneof(
  { weight: 12, arbitrary: message.map((m) => JSON.stringify(m)) },
  { weight: 20, arbitrary: validMessage.map((m) => JSON.stringify(m)) },
  { weight: 4, arbitrary: fc.string({ maxLength: 100 }) }, // not JSON
  { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 100, max: 5_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  },
  {
    weight: 1,
    arbitrary: fc.constant(`{"chat":"fuzz","sender":{"id":"a"},"text":"${'z'.repeat(300 * 1024)}"}`),
  }, // over 256 KiB
  { weight: 1, arbitrary: fc.constant('') },
);
/** Sometimes: an odd header is there one request in `1 + absent` (the rest of the time it is not sent). */
const sometimes = (value: fc.Arbitrary<string>, absent: number) =>
  fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });
const headers = fc
  .record({
    'content-type': fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
      {
        weight: 1,
        arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/jsonx'),
      },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
    cookie: sometimes(
      fc.oneof(
        fc.string({ maxLength: 60 }),
        fc.stringMatching(/^[A-Za-z0-9_-]{43}$/).map((v) => `warren_browser=${v}`),
        fc.constant('warren_browser=; warren_browser=x'),
      ),
      2,
    ),
    authorization: sometimes(
      fc.oneof(
        fc.constantFrom('Bearer wrn_forged', 'Bearer', 'Basic b3duZXI6b3duZXI=', 'bearer  '),
        fc.string({ maxLength: 40 }).map((s) => `Bearer ${s}`),
      ),
      8,
    ),
    'x-warren-secret': sometimes(fc.string({ maxLength: 40 }), 4),
    'last-event-id': sometimes(fc.string({ maxLength: 40 }), 4),
    origin: sometimes(fc.constantFrom('null', 'https://evil.example'), 8),
  })
  .map(
    (h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>,
  );
const request: fc.Arbitrary<FuzzRequest> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      path: fc.constantFrom(
        '/webchat/api/messages',
        '/webchat/api/messages',
        '/webchat/api/messages',
        '/webchat/api/actions',
        '/cli/api/messages',
      ),
      method: fc.constant('POST' as const),
      headers,
      body,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      path: fc
        .oneof(idLike, fc.string({ maxLength: 20 }))
        .map((chat) => `/webchat/api/events?chat=${encodeURIComponent(String(chat))}`),
      method: fc.constant('GET' as const),
      headers,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      path: fc.constantFrom(
        '/webchat/sign-in?code=',
        '/webchat/sign-in?code=AAAA',
        '/webchat/api/files/..%2F..%2Fwarren.db/x',
        '/webchat/api/nothing',
      ),
      method: fc.constantFrom('GET' as const, 'POST' as const),
      headers,
      body: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
    }),
  },
);

/**
 * Sends one request over its own connection (node:http: a server refusing an oversized body answers
 * before the client has written it all, and closes; fetch would report only the broken write).
 * Resolves with the status and, for an error, the message it carried.
 */
function send(r: FuzzRequest): Promise<{ status: number; error?: string; id?: string }> {
  // Header values must be printable ASCII: a client cannot send others, so they are left out.
  const safe = Object.fromEntries(Object.entries(r.headers).filter(([, v]) => /^[\x20-\x7e]*$/.test(v)));
  return new Promise((resolve, reject) => {
    let answered = false;
    let failure: Error | undefined;
    const req = httpRequest(
      `${warren.url}${r.path}`,
      { method: r.method, headers: safe, agent: false },
      (res) => {
        answered = true;
        if (res.headers['content-type']?.startsWith('text/event-stream')) {
          res.destroy();
          return resolve({ status: res.statusCode! });
        }
        let raw = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (raw += chunk));
        res.on('error', () => {});
        res.on('end', () => resolve({ status: res.statusCode!, ...answerOf(raw) }));
        res.on('close', () => {
          if (!res.complete) reject(new Error(`the answer (${res.statusCode}) was cut short: ${raw}`));
        });
      },
    );
    // A write cut short by an early answer is not an answer; only a request that got none fails.
    // 'close' is the request's last event: any answer the connection carried has been seen by then.
    req.on('error', (err) => (failure = err));
    req.on('close', () => {
      if (failure && !answered) reject(failure);
    });
    if (r.method === 'POST' && r.body !== undefined) req.end(r.body);
    else req.end();
  });
}

/** Anything in a session inbox but message folders of plain, visible, bounded file names. */
function unsafeInboxEntries(inbox: string): string[] {
  const unsafe: string[] = [];
  for (const folder of readdirSync(inbox, { withFileTypes: true })) {
    if (!folder.isDirectory() || !/^in_[A-Za-z0-9_-]+$/.test(folder.name)) unsafe.push(folder.name);
    else
      for (const file of readdirSync(join(inbox, folder.name), { withFileTypes: true })) {
        // eslint-disable-next-line no-control-regex
        const plain = /^[^.\s/\\\x00-\x1f][^/\\\x00-\x1f]*$/.test(file.name);
        if (!file.isFile() || !plain || Buffer.byteLength(file.name) > 120)
          unsafe.push(`${folder.name}/${file.name}`);
      }
  }
  return unsafe;
}

function answerOf(raw: string): { error?: string; id?: string } {
  let json: { error?: unknown; id?: unknown } | undefined;
  try {
    json = JSON.parse(raw) as typeof json;
  } catch {
    // The sign-in page answers in HTML: its first paragraph is the error.
    const html = /<p>([^<]+)<\/p>/.exec(raw)?.[1];
    return html ? { error: html } : {};
  }
  return {
    ...(typeof json?.error === 'string' ? { error: json.error } : {}),
    ...(typeof json?.id === 'string' ? { id: json.id } : {}),
  };
}

test('10,000 generated web chat requests: each a 202 or a 4xx with a clear error; the host stays up and nobody becomes the owner', async () => {
  const counts = new Map<number, number>();
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(fc.array(request, { minLength: PER_BATCH, maxLength: PER_BATCH }), async (batch) => {
      const answers = await Promise.all(batch.map(send));
      answers.forEach((answer, i) => {
        counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
        const where = `${batch[i]!.method} ${batch[i]!.path.slice(0, 80)}`;
        if (answer.status === 202) expect(answer.id, where).toEqual(expect.any(String));
        else if (answer.status === 200)
          expect(batch[i]!.method, where).toBe('GET'); // a stream or a page
        else {
          expect(answer.status, `${where}: ${answer.error}`).toBeGreaterThanOrEqual(400);
          expect(answer.status, `${where}: ${answer.error}`).toBeLessThan(500);
          expect(answer.error, `${where} answered ${answer.status} without an error`).toMatch(/\w{3}/);
        }
      });
    }),
    { numRuns: BATCHES, endOnFailure: true },
  );
  const seconds = (Date.now() - started) / 1000;
  const summary = [...counts].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`);
  console.log(
    `web chat fuzz: ${BATCHES * PER_BATCH} requests in ${seconds.toFixed(1)} s; ${summary.join(', ')}`,
  );

  // Still up, still routing.
  const res = await fetch(`${warren.url}/webchat/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ownerToken}` },
    body: JSON.stringify({ chat: 'fuzz', sender: { id: 'owner' }, text: 'still there?', id: 'after-fuzz' }),
  });
  expect(res.status).toBe(202);
  // Nobody forged their way to the owner: every message from the owner's user is the token's one.
  const paths = warren.sessionOf('fuzz')!.paths;
  const Database = (await import('better-sqlite3')).default;
  const inbound = new Database(paths.inbound, { readonly: true });
  const byOwner = inbound
    .prepare(
      "SELECT json_extract(content, '$.platformMessageId') FROM messages_in WHERE json_extract(content, '$.sender.userId') = ?",
    )
    .pluck()
    .all(ownerId);
  inbound.close();
  expect(byOwner).toEqual(['after-fuzz']);
  // No role was given to anyone but the owner, and no approval was decided.
  expect(warren.db().prepare('SELECT DISTINCT user_id FROM user_roles').pluck().all()).toEqual([ownerId]);
  expect(warren.db().prepare("SELECT count(*) FROM approvals WHERE status <> 'pending'").pluck().get()).toBe(
    0,
  );
  expect(counts.get(202) ?? 0).toBeGreaterThan(1000);
  expect(unsafeInboxEntries(paths.inbox)).toEqual([]);
}, 120_000);
