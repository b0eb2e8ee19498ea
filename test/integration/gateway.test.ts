// The model gateway as a container reaches it: real HTTP over the session's real unix socket, passed
// on to a fake provider API on loopback. Keys, streaming, timeouts and hang-ups.
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { listModelUsage } from '../../src/db/model-usage.ts';
import {
  callSocket,
  openSocketStream,
  startClaudeGateway,
  startGatewayFixture,
  startOpenAIGateway,
} from '../harness/gateway-fixture.ts';
import { cleanupsAfterEach } from '../harness/cleanups.ts';

const cleanups = cleanupsAfterEach();

const message = (extra = {}) => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

describe('keys', () => {
  test('the host key is added for claude and the key the container sent is dropped', async () => {
    const { fake: anthropic, gw } = await startClaudeGateway(cleanups);
    anthropic.reply({ text: 'Hello there' });
    const res = await callSocket(gw.socket, {
      path: '/v1/messages?beta=true',
      headers: {
        'x-api-key': 'container-fake-key',
        authorization: 'Bearer container-fake-token',
        'anthropic-version': '2023-06-01',
        'anthropic-beta': 'tools-2024',
      },
      body: message(),
    });
    expect(res.status).toBe(200);
    expect(res.json().content).toEqual([{ type: 'text', text: 'Hello there' }]);
    const received = anthropic.requests[0]!;
    expect(received.path).toBe('/v1/messages?beta=true');
    expect(received.headers['x-api-key']).toBe('sk-ant-host-key');
    expect(received.headers.authorization).toBeUndefined();
    expect(received.headers['anthropic-version']).toBe('2023-06-01');
    expect(received.headers['anthropic-beta']).toBe('tools-2024');
    expect(received.body).toEqual(message());
  });

  test('the host key is added for openai as a bearer token, replacing the container’s', async () => {
    const { fake: openai, gw } = await startOpenAIGateway(cleanups);
    const res = await callSocket(gw.socket, {
      path: '/chat/completions',
      headers: { authorization: 'Bearer container-fake-key' },
      body: { model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(res.status).toBe(200);
    expect(openai.requests[0]!.headers.authorization).toBe('Bearer sk-openai-host-key');
  });

  test('a local server without a configured key gets no credentials at all (Ollama, llama.cpp)', async () => {
    const { fake: openai, gw } = await startOpenAIGateway(cleanups, { key: null, model: 'llama3.1' });
    const res = await callSocket(gw.socket, {
      path: '/chat/completions',
      headers: { authorization: 'Bearer ollama' },
      body: { model: 'llama3.1', messages: [] },
    });
    expect(res.status).toBe(200);
    expect(openai.requests[0]!.headers.authorization).toBeUndefined();
  });

  test('a group on the provider’s own service without a key gets a clear error and nothing is sent', async () => {
    const gw = await startGatewayFixture({ provider: 'claude', model: 'claude-sonnet-4-5' });
    cleanups.push(() => gw.close());
    const res = await callSocket(gw.socket, { path: '/v1/messages', body: message() });
    expect(res.status).toBe(503);
    expect(res.headers['x-should-retry']).toBe('false');
    expect(res.json()).toEqual({
      type: 'error',
      error: {
        type: 'api_error',
        message: expect.stringContaining('no API key configured for agent group main (provider claude)'),
      },
    });
    expect(res.json().error.message).toContain('ANTHROPIC_API_KEY');
  });
});

describe('streaming', () => {
  test('claude events pass through as they arrive: the first arrives before the upstream has finished', async () => {
    const { fake: anthropic, gw } = await startClaudeGateway(cleanups);
    let release!: () => void;
    anthropic.reply({ text: 'one two three', holdUntil: new Promise<void>((r) => (release = r)) });
    const stream = await openSocketStream(gw.socket, {
      path: '/v1/messages',
      body: message({ stream: true }),
    });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    const iterator = stream.body[Symbol.asyncIterator]();
    let seen = '';
    while (!seen.includes('text_delta')) seen += String((await iterator.next()).value);
    expect(seen).toContain('event: message_start');
    expect(seen).not.toContain('message_stop'); // the fake is still holding the rest back
    release();
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      seen += String(next.value);
    expect(seen).toContain('event: message_stop');
    expect(seen.match(/"text_delta","text":"([^"]*)"/g)?.length).toBe(3);
  });

  test('openai chunks pass through as they arrive, tool call deltas included', async () => {
    const { fake: openai, gw } = await startOpenAIGateway(cleanups);
    let release!: () => void;
    openai.reply({
      toolCalls: [{ name: 'send_message', arguments: { text: 'hi' } }],
      holdUntil: new Promise<void>((r) => (release = r)),
    });
    const stream = await openSocketStream(gw.socket, {
      path: '/chat/completions',
      body: { model: 'gpt-fake', stream: true, messages: [] },
    });
    const iterator = stream.body[Symbol.asyncIterator]();
    let seen = '';
    while (!seen.includes('"arguments":"{')) seen += String((await iterator.next()).value);
    expect(seen).not.toContain('[DONE]');
    release();
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      seen += String(next.value);
    expect(seen).toContain('"finish_reason":"tool_calls"');
    expect(seen).toContain('data: [DONE]');
  });
});

describe('failures', () => {
  test('an upstream that does not answer in time gets a 504 in the provider’s format, not a hang', async () => {
    const { fake: anthropic, gw } = await startClaudeGateway(cleanups, { modelConfig: { timeoutMs: 1000 } });
    anthropic.reply({ fault: 'hang' });
    const started = Date.now();
    const res = await callSocket(gw.socket, { path: '/v1/messages', body: message() });
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.json().error).toEqual({
      type: 'timeout_error',
      message: expect.stringContaining('did not answer within 1000 ms for agent group main'),
    });
    await expect.poll(() => anthropic.aborted()).toBe(1);
  });

  test('a stream that goes silent midway ends with an error event instead of hanging', async () => {
    const { fake: anthropic, gw } = await startClaudeGateway(cleanups, { modelConfig: { timeoutMs: 1000 } });
    anthropic.reply({ fault: 'stall' });
    const res = await callSocket(gw.socket, { path: '/v1/messages', body: message({ stream: true }) });
    expect(res.status).toBe(200);
    expect(res.text).toContain('event: message_start');
    expect(res.text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"timeout_error"/);
  });

  test('an unreachable upstream gets a 502 in the provider’s format at once', async () => {
    const gw = await startGatewayFixture({
      provider: 'openai',
      model: 'gpt-fake',
      modelConfig: { baseUrl: `http://127.0.0.1:${await closedPort()}/v1` },
      env: { OPENAI_API_KEY: 'sk-openai-host-key' },
    });
    cleanups.push(() => gw.close());
    const res = await callSocket(gw.socket, {
      path: '/chat/completions',
      body: { model: 'gpt-fake', messages: [] },
    });
    expect(res.status).toBe(502);
    expect(res.json().error).toMatchObject({ type: 'server_error', code: 'upstream_unreachable' });
    expect(res.json().error.message).toContain('ECONNREFUSED');
    expect(res.text).not.toContain('sk-openai-host-key');
  });

  test('upstream errors pass through unchanged, status and body', async () => {
    const { fake: anthropic, gw } = await startClaudeGateway(cleanups);
    const body = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };
    anthropic.reply({ fault: 'status', status: 529, body, headers: { 'retry-after': '3' } });
    const res = await callSocket(gw.socket, { path: '/v1/messages', body: message() });
    expect(res.status).toBe(529);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.json()).toEqual(body);
  });

  test('a container that hangs up mid-stream aborts the upstream call', async () => {
    const { fake: anthropic, gw } = await startClaudeGateway(cleanups);
    anthropic.reply({ text: 'a long answer', holdUntil: new Promise(() => {}) });
    const stream = await openSocketStream(gw.socket, {
      path: '/v1/messages',
      body: message({ stream: true }),
    });
    const iterator = stream.body[Symbol.asyncIterator]();
    await iterator.next();
    stream.abort();
    await expect.poll(() => anthropic.aborted()).toBe(1);
    const call = gw.calls.at(-1) ?? (await gw.nextCall());
    expect(call.failure).toBe('client_closed');
    // The input was spent all the same: what message_start reported is on the group's account.
    expect(listModelUsage(gw.db)).toMatchObject([{ statusCode: 200, inputTokens: 25, outputTokens: 1 }]);
  });

  test('an absolute URL is refused: the gateway is not an open proxy', async () => {
    const { fake: anthropic, gw } = await startClaudeGateway(cleanups);
    const res = await callSocket(gw.socket, { path: 'http://example.com/v1/messages', body: message() });
    expect(res.status).toBe(400);
    expect(anthropic.requests).toHaveLength(0);
  });
});

describe('sockets', () => {
  test('open is idempotent, close removes the socket, and a closed session’s socket refuses connections', async () => {
    const { gw } = await startClaudeGateway(cleanups);
    expect((await gw.gateway.open(gw.sessionId)).dir).toBe(gw.socket.replace(/\/model\.sock$/, ''));
    await gw.gateway.close(gw.sessionId);
    await gw.gateway.close(gw.sessionId);
    await expect(callSocket(gw.socket, { path: '/v1/messages', body: message() })).rejects.toThrow(/ENOENT/);
    await gw.gateway.open(gw.sessionId); // reopens over nothing; a stale file would be replaced too
    expect((await callSocket(gw.socket, { path: '/v1/messages', body: message() })).status).toBe(200);
  });
});

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
