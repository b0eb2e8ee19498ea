// What the gateway refuses before anything leaves the host: models outside the group's list, calls
// beyond its rate, and calls once its daily token budget, or the budget of the user the call is for,
// is spent. Real sockets, a fake upstream.
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { updateAgentGroup } from '../../src/db/agent-groups.ts';
import { listModelUsage, recordModelUsage } from '../../src/db/model-usage.ts';
import { setUserDailyTokenBudget } from '../../src/db/user-budgets.ts';
import { createUser } from '../../src/db/users.ts';
import { mergeUsers } from '../../src/host/access/index.ts';
import { insertMessagesIn } from '../../src/host/sessions/index.ts';
import {
  callSocket,
  startClaudeGateway,
  startGatewayFixture,
  startOpenAIGateway,
  type GatewayFixture,
} from '../harness/gateway-fixture.ts';
import { cleanupsAfterEach } from '../harness/cleanups.ts';
import { parsePrometheusText } from '../harness/prometheus.ts';

const cleanups = cleanupsAfterEach();

/** A clock the test moves. */
function testClock(start: string) {
  let now = Date.parse(start);
  return { clock: () => new Date(now), advance: (ms: number) => (now += ms) };
}

async function claude(modelConfig = {}, clock?: () => Date) {
  const { fake: anthropic, gw } = await startClaudeGateway(cleanups, { modelConfig, clock });
  const send = (model = 'claude-sonnet-4-5') =>
    callSocket(gw.socket, {
      path: '/v1/messages',
      body: { model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
    });
  return { anthropic, gw, send };
}

test('a model outside the group’s list is refused with 403, naming the model, the group and what is allowed', async () => {
  const { anthropic, send } = await claude();
  const res = await send('claude-opus-4-1');
  expect(res.status).toBe(403);
  expect(res.json()).toEqual({
    type: 'error',
    error: {
      type: 'permission_error',
      message: expect.stringContaining(
        'model "claude-opus-4-1" is not allowed for agent group main (allowed: claude-sonnet-4-5)',
      ),
    },
  });
  expect(anthropic.requests).toHaveLength(0);
  expect((await send('claude-sonnet-4-5')).status).toBe(200);
});

test('an explicit allow-list replaces the default, prefixes included; openai refusals use openai’s format', async () => {
  const { fake: openai, gw } = await startOpenAIGateway(cleanups, {
    key: null,
    model: 'llama3.1',
    modelConfig: { allowedModels: ['qwen2.5*', 'llama3.1'] },
  });
  const call = (model: string) =>
    callSocket(gw.socket, { path: '/chat/completions', body: { model, messages: [] } });
  expect((await call('qwen2.5:7b')).status).toBe(200);
  expect((await call('llama3.1')).status).toBe(200);
  const refused = await call('gpt-5');
  expect(refused.status).toBe(403);
  expect(refused.json()).toEqual({
    error: {
      message: expect.stringContaining(
        'model "gpt-5" is not allowed for agent group main (allowed: qwen2.5*, llama3.1)',
      ),
      type: 'invalid_request_error',
      code: 'model_not_allowed',
      param: null,
    },
  });
  expect(openai.requests.map((r) => r.body.model)).toEqual(['qwen2.5:7b', 'llama3.1']);
});

test('a group with no model configured refuses every model and says how to set one', async () => {
  const { gw } = await startClaudeGateway(cleanups, { key: null, model: null });
  const res = await callSocket(gw.socket, {
    path: '/v1/messages',
    body: { model: 'claude-sonnet-4-5', messages: [] },
  });
  expect(res.status).toBe(403);
  expect(res.json().error.message).toContain('allowed: none: the group has no model configured');
});

test('allow-list changes apply to the next call without a restart', async () => {
  const { gw, send } = await claude();
  expect((await send('claude-haiku-4-5')).status).toBe(403);
  updateAgentGroup(
    gw.db,
    gw.group.id,
    { modelConfig: { ...gw.group.modelConfig, allowedModels: ['claude-*'] } },
    new Date().toISOString(),
  );
  expect((await send('claude-haiku-4-5')).status).toBe(200);
});

test('past N calls a minute the group gets 429 with retry-after, and calls go through again once the window moves', async () => {
  const time = testClock('2026-05-01T10:00:00Z');
  const { anthropic, send } = await claude({ requestsPerMinute: 3 }, time.clock);
  for (let i = 0; i < 3; i++) {
    expect((await send()).status).toBe(200);
    time.advance(10_000);
  }
  const limited = await send();
  expect(limited.status).toBe(429);
  expect(limited.headers['retry-after']).toBe('30');
  expect(limited.json().error).toEqual({
    type: 'rate_limit_error',
    message: 'agent group main may make 3 model calls per minute; try again in 30 s',
  });
  expect(anthropic.requests).toHaveLength(3);
  time.advance(30_000);
  expect((await send()).status).toBe(200);
  expect((await send()).status).toBe(429);
});

test('the daily token budget refuses calls once the day’s recorded usage reaches it, and the next UTC day is fresh', async () => {
  const time = testClock('2026-05-01T22:00:00Z');
  const { anthropic, gw, send } = await claude({ dailyTokenBudget: 1000 }, time.clock);
  // Yesterday's usage does not count.
  recordModelUsage(gw.db, usageRow(gw, 5000, '2026-04-30T23:59:59.999Z'));
  anthropic.reply({ text: 'one', usage: { input_tokens: 600, output_tokens: 300 } });
  expect((await send()).status).toBe(200); // 900 used: still under
  anthropic.reply({ text: 'two', usage: { input_tokens: 50, output_tokens: 60 } });
  expect((await send()).status).toBe(200); // 1010 used: the call that crossed it was allowed to finish
  const refused = await send();
  expect(refused.status).toBe(429);
  expect(refused.headers['x-should-retry']).toBe('false');
  expect(refused.json().error).toEqual({
    type: 'rate_limit_error',
    message:
      'daily token budget of 1000 tokens for agent group main is used up (1010 used today); resets at 2026-05-02T00:00:00.000Z',
  });
  expect(anthropic.requests).toHaveLength(2);
  time.advance(2 * 3_600_000);
  expect((await send()).status).toBe(200);
});

test('a user’s daily token budget refuses calls for that user only; other users and calls for no one go on', async () => {
  const time = testClock('2026-05-01T22:00:00Z');
  const { anthropic, gw, send } = await claude({}, time.clock);
  const now = time.clock().toISOString();
  const ana = createUser(gw.db, { displayName: 'Ana' }, now);
  const bo = createUser(gw.db, { displayName: 'Bo' }, now);
  setUserDailyTokenBudget(gw.db, ana.id, 1000, now);
  const [fromAna, fromBo] = insertMessagesIn(gw.paths, [
    { kind: 'chat', timestamp: now, content: { text: 'hi', sender: { id: 'webchat:ana', userId: ana.id } } },
    { kind: 'chat', timestamp: now, content: { text: 'yo', sender: { id: 'webchat:bo', userId: bo.id } } },
  ]);
  // Yesterday's usage does not count.
  recordModelUsage(gw.db, { ...usageRow(gw, 5000, '2026-04-30T23:59:59.999Z'), userId: ana.id });
  ack(gw, fromAna!.id, 'processing', now);
  anthropic.reply({ text: 'one', usage: { input_tokens: 600, output_tokens: 300 } });
  expect((await send()).status).toBe(200); // 900 used: still under
  anthropic.reply({ text: 'two', usage: { input_tokens: 50, output_tokens: 60 } });
  expect((await send()).status).toBe(200); // 1010 used: the call that crossed it was allowed to finish
  const refused = await send();
  expect(refused.status).toBe(429);
  expect(refused.headers['x-warren-gateway']).toBe('user_budget');
  expect(refused.headers['x-should-retry']).toBe('false');
  expect(refused.json().error).toEqual({
    type: 'rate_limit_error',
    message:
      `daily token budget of 1000 tokens for user Ana (${ana.id}), whose message this call answers, is used up ` +
      `(1010 used today); resets at 2026-05-02T00:00:00.000Z; ` +
      `an operator can change it with: warren users budget ${ana.id} N|none`,
  });
  expect(anthropic.requests).toHaveLength(2);

  ack(gw, fromAna!.id, 'completed', now);
  ack(gw, fromBo!.id, 'processing', now);
  expect((await send()).status).toBe(200); // Bo, same group, no budget of his own
  ack(gw, fromBo!.id, 'completed', now);
  expect((await send()).status).toBe(200); // a call for no user: no user budget applies
  expect(listModelUsage(gw.db, { agentGroupId: gw.group.id }).map((r) => r.userId)).toEqual([
    null,
    bo.id,
    ana.id,
    ana.id,
    ana.id,
  ]);
  const metrics = parsePrometheusText((await gw.metrics.scrape()).text);
  expect(metrics.series('warren_gateway_refusals_total')).toEqual([
    { labels: { reason: 'user_budget' }, value: 1 },
  ]);

  ack(gw, fromAna!.id, 'processing', now);
  expect((await send()).status).toBe(429);
  time.advance(2 * 3_600_000); // the next UTC day is fresh, as for the group's budget
  expect((await send()).status).toBe(200);
});

test('a user merged into another counts against, and is limited by, the person they were merged into', async () => {
  const time = testClock('2026-05-01T10:00:00Z');
  const { anthropic, gw, send } = await claude({}, time.clock);
  const now = time.clock().toISOString();
  const stand = createUser(gw.db, { displayName: 'ana' }, now);
  const ana = createUser(gw.db, { displayName: 'Ana' }, now);
  setUserDailyTokenBudget(gw.db, ana.id, 100, now);
  const [msg] = insertMessagesIn(gw.paths, [
    { kind: 'chat', timestamp: now, content: { text: 'hi', sender: { id: 'telegram:7', userId: stand.id } } },
  ]);
  mergeUsers(gw.db, stand.id, ana.id, 'test', now);
  ack(gw, msg!.id, 'processing', now);
  anthropic.reply({ text: 'one', usage: { input_tokens: 100, output_tokens: 1 } });
  expect((await send()).status).toBe(200);
  expect(listModelUsage(gw.db, { agentGroupId: gw.group.id })[0]!.userId).toBe(ana.id);
  const refused = await send();
  expect(refused.status).toBe(429);
  expect(refused.headers['x-warren-gateway']).toBe('user_budget');
});

test('the scripted provider makes no model calls: its socket says so', async () => {
  const gw = await startGatewayFixture({ provider: 'scripted' });
  cleanups.push(() => gw.close());
  const res = await callSocket(gw.socket, { path: '/chat/completions', body: { model: 'x', messages: [] } });
  expect(res.status).toBe(503);
  expect(res.json().error.message).toContain('agent group main uses the scripted provider');
});

function usageRow(gw: { group: { id: string }; sessionId: string }, tokens: number, createdAt: string) {
  return {
    agentGroupId: gw.group.id,
    sessionId: gw.sessionId,
    userId: null,
    provider: 'claude' as const,
    model: 'claude-sonnet-4-5',
    path: '/v1/messages',
    inputTokens: tokens,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    statusCode: 200,
    durationMs: 1,
    createdAt,
  };
}

/** What the runner writes when it claims or finishes a row (the host never writes outbound.db). */
function ack(gw: GatewayFixture, messageId: string, status: string, at: string): void {
  const db = new Database(gw.paths.outbound);
  db.prepare(
    `INSERT INTO processing_ack (message_id, status, status_changed) VALUES (?, ?, ?)
     ON CONFLICT (message_id) DO UPDATE SET status = excluded.status, status_changed = excluded.status_changed`,
  ).run(messageId, status, at);
  db.close();
}
