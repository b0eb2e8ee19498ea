// The gateway's fence, over the session's real unix socket with a fake provider API behind it: only
// the (method, path) pairs and headers each provider's client needs leave the host; everything else
// is answered by the gateway in the provider's error format and never reaches the upstream.
import { describe, expect, test } from 'vitest';
import { listModelUsage } from '../../src/db/model-usage.ts';
import { callSocket, startClaudeGateway, startOpenAIGateway } from '../harness/gateway-fixture.ts';
import { cleanupsAfterEach } from '../harness/cleanups.ts';

const cleanups = cleanupsAfterEach();

const claudeBody = {
  model: 'claude-sonnet-4-5',
  max_tokens: 10,
  messages: [{ role: 'user', content: 'hi' }],
};
const openaiBody = { model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] };

describe('claude', () => {
  test.each([
    ['POST', '/v1/messages/batches'],
    ['POST', '/v1/files'],
    ['POST', '/files'],
    ['POST', '/batches'],
    ['GET', '/v1/models'],
    ['GET', '/v1/messages'],
    ['POST', '/v1/messages/../files'],
    ['POST', '/v1//messages'],
    ['POST', '/v1/messages/'],
    ['POST', '/v1/Messages'],
    ['POST', '/v1/messages%2f..%2ffiles'],
  ])('%s %s is answered 404 in Anthropic’s format and never forwarded', async (method, path) => {
    const { fake, gw } = await startClaudeGateway(cleanups);
    const res = await callSocket(gw.socket, {
      method,
      path,
      body: method === 'GET' ? undefined : claudeBody,
    });
    expect(res.status).toBe(404);
    expect(res.headers['x-warren-gateway']).toBe('not_found');
    expect(res.headers['x-should-retry']).toBe('false');
    expect(res.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(res.json().error.message).toContain('POST /v1/messages');
    expect(fake.requests).toHaveLength(0);
    expect(listModelUsage(gw.db, { agentGroupId: gw.group.id })).toHaveLength(0);
  });

  test('a POST without a model is refused with a 400 and never forwarded', async () => {
    const { fake, gw } = await startClaudeGateway(cleanups);
    for (const body of [{ max_tokens: 10, messages: [] }, '']) {
      const res = await callSocket(gw.socket, { method: 'POST', path: '/v1/messages', body });
      expect(res.status).toBe(400);
      expect(res.json().error.message).toContain('"model"');
    }
    expect(fake.requests).toHaveLength(0);
  });

  test('only allow-listed headers reach the upstream; query parameters other than beta are dropped', async () => {
    const { fake, gw } = await startClaudeGateway(cleanups);
    const res = await callSocket(gw.socket, {
      path: '/v1/messages?beta=true&redirect=https://evil.example',
      headers: {
        'anthropic-version': '2023-06-01',
        'anthropic-beta': 'claude-code-20250219',
        'user-agent': 'claude-cli/2',
        accept: 'application/json',
        cookie: 'session=abc',
        'x-forwarded-for': '10.0.0.1',
        'x-forwarded-host': 'evil.example',
        'anthropic-dangerous-direct-browser-access': 'true',
        'x-claude-code-session-id': 'tracking-id',
        'x-api-key': 'container-key',
      },
      body: claudeBody,
    });
    expect(res.status).toBe(200);
    const received = fake.requests[0]!;
    expect(received.path).toBe('/v1/messages?beta=true');
    // The host's own HTTP client (fetch) sets these for its connection; none came from the container.
    const fromFetch = [
      'host',
      'connection',
      'content-length',
      'accept-encoding',
      'accept-language',
      'sec-fetch-mode',
    ];
    const extra = Object.keys(received.headers).filter((name) => !fromFetch.includes(name));
    expect(extra.sort()).toEqual([
      'accept',
      'anthropic-beta',
      'anthropic-version',
      'content-type',
      'user-agent',
      'x-api-key',
    ]);
    expect(received.headers['x-api-key']).toBe('sk-ant-host-key');
  });

  test('count_tokens is allowed', async () => {
    const { fake, gw } = await startClaudeGateway(cleanups);
    const res = await callSocket(gw.socket, { path: '/v1/messages/count_tokens', body: claudeBody });
    expect(res.status).toBe(200);
    expect(fake.requests.map((r) => r.path)).toEqual(['/v1/messages/count_tokens']);
  });
});

describe('openai', () => {
  test.each([
    ['POST', '/batches'],
    ['POST', '/files'],
    ['POST', '/v1/files'],
    ['POST', '/fine_tuning/jobs'],
    ['POST', '/v1/chat/completions'],
    ['POST', '/embeddings'],
    ['GET', '/models'],
    ['GET', '/v1/models'],
    ['GET', '/chat/completions'],
  ])('%s %s is answered 404 in OpenAI’s format and never forwarded', async (method, path) => {
    const { fake, gw } = await startOpenAIGateway(cleanups);
    const res = await callSocket(gw.socket, {
      method,
      path,
      body: method === 'GET' ? undefined : openaiBody,
    });
    expect(res.status).toBe(404);
    expect(res.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'not_found' } });
    expect(res.json().error.message).toContain('POST /chat/completions');
    expect(fake.requests).toHaveLength(0);
  });

  test('a POST without a model is refused with a 400 and never forwarded', async () => {
    const { fake, gw } = await startOpenAIGateway(cleanups);
    const res = await callSocket(gw.socket, { path: '/chat/completions', body: { messages: [] } });
    expect(res.status).toBe(400);
    expect(res.json().error.code).toBe('invalid_request');
    expect(fake.requests).toHaveLength(0);
  });

  test('organisation, project and forwarding headers never reach the upstream', async () => {
    const { fake, gw } = await startOpenAIGateway(cleanups);
    const res = await callSocket(gw.socket, {
      path: '/chat/completions',
      headers: {
        'openai-organization': 'org-other',
        'openai-project': 'proj-other',
        'openai-beta': 'assistants=v2',
        cookie: 'a=b',
        'x-forwarded-for': '10.0.0.1',
        'x-stainless-os': 'Linux',
        'user-agent': 'OpenAI/JS 5',
      },
      body: openaiBody,
    });
    expect(res.status).toBe(200);
    const headers = fake.requests[0]!.headers;
    for (const name of [
      'openai-organization',
      'openai-project',
      'openai-beta',
      'cookie',
      'x-forwarded-for',
      'x-stainless-os',
    ])
      expect(headers[name], name).toBeUndefined();
    expect(headers['user-agent']).toBe('OpenAI/JS 5');
    expect(headers.authorization).toBe('Bearer sk-openai-host-key');
  });
});
