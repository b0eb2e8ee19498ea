// The gateway's pure decisions: headers in and out, the body it sends, the allow-list, rate window,
// budget day, and error bodies in each provider's own format.
import { describe, expect, test } from 'vitest';
import { fenceCall } from '../../src/host/gateway/fence.ts';
import { checkBudget, createRateLimiter, utcDay } from '../../src/host/gateway/limits.ts';
import { refusal, streamedRefusal } from '../../src/host/gateway/refusals.ts';
import { bodyForUpstream, inspectBody, isModelAllowed } from '../../src/host/gateway/request-body.ts';
import { downstreamHeaders, upstreamHeaders, upstreamOf } from '../../src/host/gateway/upstream.ts';

describe('headers', () => {
  const incoming = {
    host: 'localhost',
    connection: 'keep-alive, x-hop',
    'keep-alive': 'timeout=5',
    'x-hop': 'gone',
    'transfer-encoding': 'chunked',
    'content-length': '42',
    'accept-encoding': 'gzip, br',
    'x-api-key': 'from-container',
    Authorization: 'Bearer from-container',
    'content-type': 'application/json',
    'anthropic-beta': 'a,b',
    'user-agent': 'claude-cli/1.0',
    expect: '100-continue',
  };

  test('claude: credentials, hop-by-hop fields and host are dropped; the host key and a version added', () => {
    expect(upstreamHeaders('claude', incoming, 'sk-host')).toEqual({
      'content-type': 'application/json',
      'anthropic-beta': 'a,b',
      'user-agent': 'claude-cli/1.0',
      'accept-encoding': 'identity',
      'anthropic-version': '2023-06-01',
      'x-api-key': 'sk-host',
    });
  });

  test('openai: a bearer token; without a key, no credential at all', () => {
    expect(upstreamHeaders('openai', incoming, 'sk-host').authorization).toBe('Bearer sk-host');
    const keyless = upstreamHeaders('openai', incoming, undefined);
    expect(keyless.authorization).toBeUndefined();
    expect(keyless['x-api-key']).toBeUndefined();
  });

  test('the client’s anthropic-version passes through', () => {
    expect(upstreamHeaders('claude', { 'anthropic-version': '2099-01-01' }, 'k')['anthropic-version']).toBe(
      '2099-01-01',
    );
  });

  test('response: hop-by-hop fields, length, encoding and cookies are dropped', () => {
    const h = new Headers({
      'content-type': 'text/event-stream',
      'content-length': '10',
      'content-encoding': 'gzip',
      connection: 'close',
      'set-cookie': 'a=b',
      'request-id': 'req_1',
      'retry-after': '2',
    });
    expect(downstreamHeaders(h)).toEqual({
      'content-type': 'text/event-stream',
      'request-id': 'req_1',
      'retry-after': '2',
    });
  });
});

describe('upstream', () => {
  test('defaults per provider; a configured base URL loses its trailing slash', () => {
    expect(upstreamOf('claude', {})).toEqual({
      baseUrl: 'https://api.anthropic.com',
      keyName: 'ANTHROPIC_API_KEY',
      official: true,
    });
    expect(upstreamOf('openai', {})).toEqual({
      baseUrl: 'https://api.openai.com/v1',
      keyName: 'OPENAI_API_KEY',
      official: true,
    });
    expect(upstreamOf('openai', { baseUrl: 'http://127.0.0.1:11434/v1/', apiKeyName: 'OLLAMA' })).toEqual({
      baseUrl: 'http://127.0.0.1:11434/v1',
      keyName: 'OLLAMA',
      official: false,
    });
  });
});

describe('request body', () => {
  test('the model is read from a JSON object; an empty body is fine; anything else is refused', () => {
    expect(inspectBody(Buffer.from('{"model":"m","stream":true}'))).toMatchObject({ ok: true, model: 'm' });
    expect(inspectBody(Buffer.alloc(0))).toEqual({ ok: true, json: undefined, model: undefined });
    expect(inspectBody(Buffer.from('{"model":'))).toEqual({
      ok: false,
      error: 'the request body is not valid JSON',
    });
    expect(inspectBody(Buffer.from('[1]'))).toMatchObject({ ok: false });
    expect(inspectBody(Buffer.from('{"model":7}'))).toEqual({ ok: false, error: '"model" must be a string' });
  });

  test('a streamed openai chat call is asked for its usage; other calls are sent byte for byte', () => {
    const raw = Buffer.from('{"model":"m","stream":true,"stream_options":{"x":1}}');
    const json = inspectBody(raw);
    if (!json.ok) throw new Error('bad');
    expect(JSON.parse(bodyForUpstream('openai', '/chat/completions', raw, json.json).toString())).toEqual({
      model: 'm',
      stream: true,
      stream_options: { x: 1, include_usage: true },
    });
    expect(bodyForUpstream('claude', '/v1/messages', raw, json.json)).toBe(raw);
    expect(bodyForUpstream('openai', '/embeddings', raw, json.json)).toBe(raw);
    const plain = Buffer.from('{"model":"m"}');
    expect(bodyForUpstream('openai', '/chat/completions', plain, { model: 'm' })).toBe(plain);
  });

  test('allow-list: exact names, and a trailing * as a prefix', () => {
    expect(isModelAllowed('claude-sonnet-4-5', ['claude-sonnet-4-5'])).toBe(true);
    expect(isModelAllowed('claude-opus-4-1', ['claude-sonnet-4-5'])).toBe(false);
    expect(isModelAllowed('claude-haiku-4-5-20251001', ['claude-haiku-*'])).toBe(true);
    expect(isModelAllowed('anything', ['*'])).toBe(true);
    expect(isModelAllowed('m', [])).toBe(false);
  });
});

describe('limits', () => {
  test('a sliding minute: the call after N waits until the oldest leaves the window', () => {
    let now = Date.parse('2026-05-01T10:00:00Z');
    const limiter = createRateLimiter(() => new Date(now));
    expect(limiter.take('g', 2)).toEqual({ ok: true });
    now += 20_000;
    expect(limiter.take('g', 2)).toEqual({ ok: true });
    expect(limiter.take('g', 2)).toEqual({ ok: false, retryAfterMs: 40_000 });
    expect(limiter.take('other', 2)).toEqual({ ok: true });
    now += 40_001;
    expect(limiter.take('g', 2)).toEqual({ ok: true });
    expect(limiter.take('g', 2)).toEqual({ ok: false, retryAfterMs: 19_999 });
  });

  test('the budget day is the UTC day', () => {
    expect(utcDay(new Date('2026-05-01T23:59:59.999Z'))).toEqual({
      start: '2026-05-01T00:00:00.000Z',
      end: '2026-05-02T00:00:00.000Z',
    });
    expect(checkBudget(99, 100, new Date('2026-05-01T12:00:00Z'))).toEqual({ ok: true });
    expect(checkBudget(100, 100, new Date('2026-05-01T12:00:00Z'))).toEqual({
      ok: false,
      resetsAt: '2026-05-02T00:00:00.000Z',
    });
    expect(checkBudget(10 ** 9, undefined, new Date())).toEqual({ ok: true });
  });
});

describe('refusals', () => {
  test('each provider gets its own error shape; final refusals tell SDKs not to retry', () => {
    const claude = refusal('claude', 'model_not_allowed', 'no');
    expect(claude.status).toBe(403);
    expect(JSON.parse(claude.body)).toEqual({
      type: 'error',
      error: { type: 'permission_error', message: 'no' },
    });
    expect(claude.headers['x-should-retry']).toBe('false');
    const openai = refusal('openai', 'model_not_allowed', 'no');
    expect(JSON.parse(openai.body)).toEqual({
      error: { message: 'no', type: 'invalid_request_error', code: 'model_not_allowed', param: null },
    });
    const limited = refusal('claude', 'rate_limited', 'slow down', { retryAfterSeconds: 12 });
    expect([limited.status, limited.headers['retry-after'], limited.headers['x-should-retry']]).toEqual([
      429,
      '12',
      'true',
    ]);
    expect(JSON.parse(limited.body).error.type).toBe('rate_limit_error');
    expect(streamedRefusal('claude', 'upstream_timeout', 't')).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"timeout_error","message":"t"}}\n\n',
    );
  });
});

describe('fence', () => {
  test('only the listed (method, path) pairs pass, compared exactly as sent', () => {
    expect(fenceCall('claude', 'POST', '/v1/messages')).toEqual({ ok: true, path: '/v1/messages' });
    expect(fenceCall('claude', 'POST', '/v1/messages/count_tokens')).toMatchObject({ ok: true });
    expect(fenceCall('openai', 'POST', '/chat/completions')).toMatchObject({ ok: true });
    for (const [provider, method, path] of [
      ['claude', 'GET', '/v1/messages'],
      ['claude', 'POST', '/v1/messages/batches'],
      ['claude', 'POST', '/v1/messages/./'],
      ['claude', 'POST', '/v1/%6Dessages'],
      ['openai', 'POST', '/chat/completions/'],
      ['openai', 'POST', '/files'],
      ['openai', 'GET', '/models'],
    ] as const) {
      expect(fenceCall(provider, method, path), `${provider} ${method} ${path}`).toMatchObject({ ok: false });
    }
  });

  test('query parameters: only the route’s own are kept', () => {
    expect(fenceCall('claude', 'POST', '/v1/messages?beta=true&x=1')).toEqual({
      ok: true,
      path: '/v1/messages?beta=true',
    });
    expect(fenceCall('openai', 'POST', '/chat/completions?api-version=1')).toEqual({
      ok: true,
      path: '/chat/completions',
    });
  });

  test('request headers: organisation, project, cookies and forwarding fields are dropped', () => {
    const sent = upstreamHeaders(
      'openai',
      {
        'openai-organization': 'org',
        'openai-project': 'p',
        cookie: 'c',
        'x-forwarded-for': '1.2.3.4',
        'anthropic-beta': 'b',
        'content-type': 'application/json',
      },
      'k',
    );
    expect(sent).toEqual({
      'content-type': 'application/json',
      'accept-encoding': 'identity',
      authorization: 'Bearer k',
    });
  });
});
