// One usage row per upstream answer, with the tokens the provider reported (streamed or not), put on
// the account of the user whose message the session was answering.
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { listModelUsage, usageTotals } from '../../src/db/model-usage.ts';
import { addIdentity, createUser } from '../../src/db/users.ts';
import { insertMessagesIn } from '../../src/host/sessions/index.ts';
import {
  callSocket,
  startClaudeGateway,
  startOpenAIGateway,
  type GatewayFixture,
} from '../harness/gateway-fixture.ts';
import { cleanupsAfterEach } from '../harness/cleanups.ts';
import { parsePrometheusText } from '../harness/prometheus.ts';

const cleanups = cleanupsAfterEach();

const rows = (gw: GatewayFixture) => listModelUsage(gw.db, { agentGroupId: gw.group.id }).reverse();

describe('claude', () => {
  test.each([false, true])('stream=%s: the row holds exactly the tokens the API reported', async (stream) => {
    const { fake: anthropic, gw } = await startClaudeGateway(cleanups, { key: null });
    anthropic.reply({
      text: 'a b c',
      usage: {
        input_tokens: 321,
        output_tokens: 45,
        cache_creation_input_tokens: 67,
        cache_read_input_tokens: 890,
      },
    });
    const res = await callSocket(gw.socket, {
      path: '/v1/messages',
      body: {
        model: 'claude-sonnet-4-5',
        max_tokens: 100,
        stream,
        messages: [{ role: 'user', content: 'hi' }],
      },
    });
    expect(res.status).toBe(200);
    const sent = anthropic.responses[0]!.usage;
    expect(rows(gw)).toEqual([
      expect.objectContaining({
        agentGroupId: gw.group.id,
        sessionId: gw.sessionId,
        userId: null,
        provider: 'claude',
        model: 'claude-sonnet-4-5',
        path: '/v1/messages',
        statusCode: 200,
        inputTokens: sent.input_tokens,
        outputTokens: sent.output_tokens,
        cacheWriteTokens: sent.cache_creation_input_tokens,
        cacheReadTokens: sent.cache_read_input_tokens,
      }),
    ]);
  });

  test('an upstream error is recorded with its status and no tokens; a local refusal is not recorded', async () => {
    const { fake: anthropic, gw } = await startClaudeGateway(cleanups, { key: null });
    anthropic.reply({
      fault: 'status',
      status: 500,
      body: { type: 'error', error: { type: 'api_error', message: 'x' } },
    });
    await callSocket(gw.socket, { path: '/v1/messages', body: { model: 'claude-sonnet-4-5', messages: [] } });
    await callSocket(gw.socket, { path: '/v1/messages', body: { model: 'not-allowed', messages: [] } });
    expect(rows(gw)).toMatchObject([{ statusCode: 500, inputTokens: 0, outputTokens: 0 }]);
  });
});

describe('metrics', () => {
  test('the tokens recorded are the tokens counted for the agent group; a local refusal counts by reason', async () => {
    const { fake: anthropic, gw } = await startClaudeGateway(cleanups, { key: null });
    anthropic.reply({
      text: 'a',
      usage: { input_tokens: 321, output_tokens: 45, cache_read_input_tokens: 9 },
    });
    await callSocket(gw.socket, {
      path: '/v1/messages',
      body: { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
    });
    await callSocket(gw.socket, { path: '/v1/messages', body: { model: 'not-allowed', messages: [] } });

    const m = parsePrometheusText((await gw.metrics.scrape()).text);
    const tokens = (kind: string) => m.value('warren_model_tokens_total', { agent_group: gw.group.id, kind });
    const [row] = rows(gw);
    expect([tokens('input'), tokens('output'), tokens('cache_read')]).toEqual([
      row!.inputTokens,
      row!.outputTokens,
      row!.cacheReadTokens,
    ]);
    expect([tokens('input'), tokens('output'), tokens('cache_read')]).toEqual([321, 45, 9]);
    expect(m.series('warren_gateway_refusals_total')).toEqual([
      { labels: { reason: 'model_not_allowed' }, value: 1 },
    ]);
  });
});

describe('openai', () => {
  test('a streamed call is asked for usage (the container did not), and the usage chunk is recorded', async () => {
    const { fake, gw } = await startOpenAIGateway(cleanups, { key: null });
    fake.reply({ text: 'x y', usage: { prompt_tokens: 400, completion_tokens: 12, cached_tokens: 100 } });
    const res = await callSocket(gw.socket, {
      path: '/chat/completions',
      body: { model: 'gpt-fake', stream: true, messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(res.text).toContain('"usage":{"prompt_tokens":400');
    expect(fake.requests[0]!.body.stream_options).toEqual({ include_usage: true });
    expect(rows(gw)).toMatchObject([
      {
        provider: 'openai',
        model: 'gpt-fake',
        inputTokens: 300,
        cacheReadTokens: 100,
        outputTokens: 12,
        cacheWriteTokens: 0,
      },
    ]);
  });

  test('a JSON answer’s usage is recorded', async () => {
    const { fake, gw } = await startOpenAIGateway(cleanups, { key: null });
    fake.reply({
      toolCalls: [{ name: 'f', arguments: { a: 1 } }],
      usage: { prompt_tokens: 77, completion_tokens: 5 },
    });
    await callSocket(gw.socket, { path: '/chat/completions', body: { model: 'gpt-fake', messages: [] } });
    const sent = fake.responses[0]!.usage!;
    expect(rows(gw)).toMatchObject([
      { inputTokens: sent.prompt_tokens, outputTokens: sent.completion_tokens },
    ]);
  });
});

describe('attribution', () => {
  test('usage goes to the user whose message the runner is processing (its processing_ack)', async () => {
    const { gw } = await startClaudeGateway(cleanups, { key: null });
    const now = new Date().toISOString();
    const ana = createUser(gw.db, { displayName: 'Ana' }, now);
    addIdentity(gw.db, { userId: ana.id, kind: 'telegram', externalId: '123' }, 'test', now);
    const bob = createUser(gw.db, { displayName: 'Bob' }, now);
    const [fromAna, fromBob] = insertMessagesIn(gw.paths, [
      // As the router writes it: the user id with the sender.
      {
        id: 'in_ana',
        kind: 'chat',
        timestamp: now,
        content: { text: 'hi', sender: { id: 'telegram:123', userId: ana.id } },
      },
      {
        id: 'in_bob',
        kind: 'chat',
        timestamp: now,
        content: { text: 'yo', sender: { id: 'webchat:bob', userId: bob.id } },
      },
    ]);
    const call = () =>
      callSocket(gw.socket, { path: '/v1/messages', body: { model: 'claude-sonnet-4-5', messages: [] } });

    await call(); // nothing claimed yet
    ack(gw, fromAna!.id, 'processing', '2026-05-01T10:00:00.000Z');
    await call();
    ack(gw, fromAna!.id, 'completed', '2026-05-01T10:00:01.000Z');
    ack(gw, fromBob!.id, 'processing', '2026-05-01T10:00:02.000Z');
    await call();

    expect(rows(gw).map((r) => r.userId)).toEqual([null, ana.id, bob.id]);
    expect(usageTotals(gw.db, { userId: ana.id })).toMatchObject([{ userId: ana.id, requests: 1 }]);
  });

  test('a sender without a stored user id is found by identity', async () => {
    const { gw } = await startClaudeGateway(cleanups, { key: null });
    const now = new Date().toISOString();
    const ana = createUser(gw.db, { displayName: 'Ana' }, now);
    addIdentity(gw.db, { userId: ana.id, kind: 'telegram', externalId: '123' }, 'test', now);
    const [msg] = insertMessagesIn(gw.paths, [
      { kind: 'chat', timestamp: now, content: { text: 'hi', sender: { id: 'telegram:123' } } },
    ]);
    ack(gw, msg!.id, 'processing', now);
    await callSocket(gw.socket, { path: '/v1/messages', body: { model: 'claude-sonnet-4-5', messages: [] } });
    expect(rows(gw)[0]!.userId).toBe(ana.id);
  });
});

/** What the runner writes when it claims or finishes a row (the host never writes outbound.db). */
function ack(gw: GatewayFixture, messageId: string, status: string, at: string): void {
  const db = new Database(gw.paths.outbound);
  db.prepare(
    `INSERT INTO processing_ack (message_id, status, status_changed) VALUES (?, ?, ?)
     ON CONFLICT (message_id) DO UPDATE SET status = excluded.status, status_changed = excluded.status_changed`,
  ).run(messageId, status, at);
  db.close();
}
