// The real client libraries through the gateway: the Claude Agent SDK (its bundled claude binary) and
// the openai client, each pointed at a loopback relay onto the session's unix socket (what the
// runner's forwarder does inside a container), with fake provider APIs behind the gateway.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { query } from '@anthropic-ai/claude-agent-sdk';
import OpenAI from 'openai';
import { expect, test } from 'vitest';
import { listModelUsage } from '../../src/db/model-usage.ts';
import { startClaudeGateway, startOpenAIGateway } from '../harness/gateway-fixture.ts';
import { cleanupsAfterEach } from '../harness/cleanups.ts';

const cleanups = cleanupsAfterEach();

/** http://127.0.0.1:PORT → the unix socket, bytes both ways. */
async function relayTo(socket: string): Promise<string> {
  const relay: Server = createServer((req, res) => {
    const upstream = request(
      { socketPath: socket, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => relay.close(resolve)));
  return `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
}

test('the Claude Agent SDK runs a tool-using turn through the gateway with the host’s key', async () => {
  const { fake: anthropic, gw } = await startClaudeGateway(cleanups);
  const url = await relayTo(gw.socket);
  anthropic.reply(
    {
      toolUse: [{ name: 'Bash', input: { command: 'echo hi' } }],
      usage: { input_tokens: 100, output_tokens: 20 },
    },
    { text: 'All done.', usage: { input_tokens: 150, output_tokens: 5, cache_read_input_tokens: 90 } },
  );
  const results: string[] = [];
  for await (const message of query({
    prompt: 'say hi',
    options: {
      model: 'claude-sonnet-4-5',
      permissionMode: 'dontAsk',
      allowedTools: [],
      cwd: gw.dataDir,
      env: {
        ...process.env,
        ANTHROPIC_BASE_URL: url,
        ANTHROPIC_API_KEY: 'container-placeholder',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        CLAUDE_CONFIG_DIR: join(gw.dataDir, 'claude-config'), // not the tester's ~/.claude
      },
    },
  })) {
    if (message.type === 'result' && message.subtype === 'success') results.push(message.result);
  }
  expect(results).toEqual(['All done.']);
  expect(anthropic.requests.map((r) => [r.headers['x-api-key'], r.body.model, r.body.stream])).toEqual([
    ['sk-ant-host-key', 'claude-sonnet-4-5', true],
    ['sk-ant-host-key', 'claude-sonnet-4-5', true],
  ]);
  expect(
    listModelUsage(gw.db, { agentGroupId: gw.group.id })
      .reverse()
      .map((u) => [u.inputTokens, u.outputTokens, u.cacheReadTokens]),
  ).toEqual([
    [100, 20, 0],
    [150, 5, 90],
  ]);
});

test('the openai client streams a tool call through the gateway, and the gateway records the usage it asked for', async () => {
  const { fake: openai, gw } = await startOpenAIGateway(cleanups);
  const client = new OpenAI({
    apiKey: 'container-placeholder',
    baseURL: await relayTo(gw.socket),
    maxRetries: 0,
  });
  openai.reply({
    toolCalls: [{ name: 'send_message', arguments: { text: 'hi' } }],
    usage: { prompt_tokens: 40, completion_tokens: 7 },
  });
  const completion = await client.chat.completions
    .stream({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] })
    .finalChatCompletion();
  expect(completion.choices[0]!.message.tool_calls).toMatchObject([
    { type: 'function', function: { name: 'send_message', arguments: '{"text":"hi"}' } },
  ]);
  expect(listModelUsage(gw.db)).toMatchObject([{ inputTokens: 40, outputTokens: 7, model: 'gpt-fake' }]);
  const refused = await client.chat.completions
    .create({ model: 'gpt-5', messages: [] })
    .catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
  expect((refused as Error).message).toContain('model "gpt-5" is not allowed for agent group main');
});
