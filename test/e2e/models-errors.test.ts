// A provider that fails (rate limit, server error, a broken stream, no answer) gets a bounded number of
// retries inside the turn, then the user gets one clear message, the message is acked, and the
// session answers the next message normally. Both real providers, each in a real container.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AgentGroup } from '../../src/db/agent-groups.ts';
import { startFakeAnthropic, type FakeAnthropic } from '../harness/fake-anthropic.ts';
import type { Fault } from '../harness/fake-model-server.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../harness/fake-openai.ts';
import { startWarren, waitUntil, type Warren } from '../harness/warren.ts';

/** The runner's default: one call is tried at most 1 + 2 times. */
const TRIES = 3;
/** The gateway's wait for the provider in these tests (the smallest it accepts). */
const TIMEOUT_MS = 1000;

let warren: Warren;
let anthropic: FakeAnthropic;
let openai: FakeOpenAI;
const agents: Record<'claude' | 'openai', AgentGroup> = {} as never;

beforeAll(async () => {
  anthropic = await startFakeAnthropic({ apiKey: 'sk-ant-errors' });
  openai = await startFakeOpenAI({ apiKey: 'sk-openai-errors' });
  warren = await startWarren({
    env: { ANTHROPIC_API_KEY: 'sk-ant-errors', OPENAI_API_KEY: 'sk-openai-errors' },
  });
  agents.claude = warren.wire.model(await warren.wire.agent('claude-errors'), {
    provider: 'claude',
    model: 'claude-errors-1',
    modelConfig: { baseUrl: anthropic.url, timeoutMs: TIMEOUT_MS },
  });
  agents.openai = warren.wire.model(await warren.wire.agent('openai-errors'), {
    provider: 'openai',
    model: 'gpt-errors-1',
    modelConfig: { baseUrl: openai.url, timeoutMs: TIMEOUT_MS },
  });
});
afterAll(async () => {
  await warren?.stop();
  await Promise.all([anthropic?.close(), openai?.close()]);
});

interface Case {
  name: string;
  fault: (provider: 'claude' | 'openai') => Fault;
  /** Model calls the failing message may make: retries per the policy, no more. */
  calls: Record<'claude' | 'openai', number>;
  notice: RegExp;
}

const CASES: Case[] = [
  {
    name: '429 rate limit',
    fault: (p) => ({
      fault: 'status',
      status: 429,
      headers: { 'retry-after': '1' },
      body: errorBody(p, 'rate_limit_error', 'slow down'),
    }),
    calls: { claude: TRIES, openai: TRIES },
    notice: /^I couldn't reach the model \(429 rate limited\)\. Please try again in a minute\.$/,
  },
  {
    name: '500 server error',
    fault: (p) => ({ fault: 'status', status: 500, body: errorBody(p, 'api_error', 'boom') }),
    calls: { claude: TRIES, openai: TRIES },
    notice: /^I couldn't reach the model \(500 error from the provider\)\./,
  },
  {
    name: 'malformed stream',
    fault: () => ({ fault: 'malformed' }),
    // claude: the binary asks once more without streaming, then gives up; openai: the runner's step retries.
    calls: { claude: 2, openai: TRIES },
    notice: /^The model's answer came back broken \(malformed response\)\./,
  },
  {
    name: 'timeout',
    fault: () => ({ fault: 'hang' }),
    calls: { claude: TRIES, openai: TRIES },
    notice: /^The model did not answer in time \(504 timeout\)\./,
  },
];

describe.each(['claude', 'openai'] as const)('a %s agent whose provider fails', (provider) => {
  test.each(CASES)(
    '$name: retried per policy, one clear message, then the next message is answered',
    async (c) => {
      const fake = provider === 'claude' ? anthropic : openai;
      const chat = `${provider}-${c.name.replace(/\W+/g, '-')}`;
      warren.wire.wiring(chat, agents[provider]);
      const client = await warren.chat(chat);
      for (let i = 0; i < c.calls[provider]; i++) fake.reply(c.fault(provider));
      const before = fake.requests.length;

      await client.send({ id: `${chat}-1`, text: 'hello?' });
      const [notice] = await client.waitForReplies(1, 60_000);

      expect(notice!.inReplyTo).toBe(`${chat}-1`);
      expect(notice!.text).toMatch(c.notice);
      expect(fake.requests.length - before).toBe(c.calls[provider]);
      // Acked: failed for the record (the operator sees why), and nothing of it is due any more.
      const inbound = warren.sessionOf(chat)!.paths.inbound;
      await waitUntil(
        () => status(inbound, `${chat}-1`) === 'failed',
        10_000,
        () => `message ${chat}-1 is ${status(inbound, `${chat}-1`)}`,
      );

      // Not stuck: the next message gets a normal answer (the fake's fallback, "ok"), and only that.
      await client.send({ id: `${chat}-2`, text: 'and now?' });
      const answer = await client.waitForReply((r) => r.inReplyTo === `${chat}-2`, 60_000);
      expect(answer.text).toBe('ok');
      expect(client.replies()).toHaveLength(2);
    },
  );
});

describe.each(['claude', 'openai'] as const)('a %s agent the gateway refuses', (provider) => {
  test('a model it may not use, and a spent budget: not retried, the user told why', async () => {
    const fake = provider === 'claude' ? anthropic : openai;
    // An agent group of its own: the budget counts every token its group spent today.
    const agent = await warren.wire.agent(`${provider}-refused`);
    warren.wire.model(agent, { provider, model: `${provider}-refused-1` });
    const chat = `${provider}-refused`;
    warren.wire.wiring(chat, agent);
    const client = await warren.chat(chat);
    const settings = { baseUrl: fake.url, timeoutMs: TIMEOUT_MS };
    const before = fake.requests.length;

    warren.wire.model(agent, { modelConfig: { ...settings, allowedModels: ['another-model'] } });
    await client.send({ id: `${chat}-1`, text: 'hello?' });
    const [refused] = await client.waitForReplies(1, 60_000);
    expect(refused!.text).toBe(
      "I can't use my model: the request was refused (403 model not allowed). An operator needs to check this agent's model settings.",
    );
    expect(fake.requests.length).toBe(before); // refused by the gateway, never sent on

    // A budget of one token: the first call passes (and spends it), the next is refused, not retried.
    warren.wire.model(agent, { modelConfig: { ...settings, dailyTokenBudget: 1 } });
    await client.send({ id: `${chat}-2`, text: 'and now?' });
    expect((await client.waitForReply((r) => r.inReplyTo === `${chat}-2`, 60_000)).text).toBe('ok');
    await client.send({ id: `${chat}-3`, text: 'once more?' });
    const spent = await client.waitForReply((r) => r.inReplyTo === `${chat}-3`, 60_000);
    expect(spent.text).toMatch(
      /^I can't answer right now: this agent has used up its model budget for today/,
    );
    expect(fake.requests.length).toBe(before + 1);
    const log = join(warren.dataDir, 'logs/sessions', `${warren.sessionOf(chat)!.id}.log`);
    const failed = async () =>
      (await readFile(log, 'utf8').catch(() => ''))
        .split('\n')
        .filter((l) => l.includes('"msg":"model call failed"'));
    await waitUntil(
      async () => (await failed()).length === 2,
      10_000,
      () => 'the refusals are not in the log',
    );
    expect((await failed()).map((l) => /"gatewayReason":"(\w+)"/.exec(l)?.[1])).toEqual([
      'model_not_allowed',
      'budget_exhausted',
    ]);
  });
});

function errorBody(provider: 'claude' | 'openai', type: string, message: string): unknown {
  return provider === 'claude'
    ? { type: 'error', error: { type, message } }
    : { error: { message, type, code: null, param: null } };
}

/** The inbound row's status (as the host folded the runner's ack) of a web chat message. */
function status(inboundPath: string, platformMessageId: string): string | undefined {
  const db = new Database(inboundPath, { readonly: true });
  try {
    return db
      .prepare(`SELECT status FROM messages_in WHERE json_extract(content, '$.platformMessageId') = ?`)
      .pluck()
      .get(platformMessageId) as string | undefined;
  } finally {
    db.close();
  }
}
