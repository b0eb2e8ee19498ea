// Approved MCP servers end to end: an openai agent asks for one with add_mcp_server, the owner
// approves it in web chat, and the session's next container starts it (plain `node` running the
// dependency-free calc server from test/fixtures, placed in the read-only group folder); the fake
// model calls its tools as `calc__<tool>` and the results come back in the next model request. A
// server that cannot start leaves the agent its other tools, and the model is told why.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { getAgentGroup, updateAgentGroup } from '../../src/db/agent-groups.ts';
import {
  startFakeOpenAI,
  type FakeOpenAI,
  type OpenAIReply,
  type RecordedRequest,
} from '../harness/fake-openai.ts';
import { startWarren, waitUntil, type ChatClient, type SignedIn, type Warren } from '../harness/warren.ts';

const KEY = 'sk-e2e-mcp-host-key-51c2';
const MODEL = 'gpt-e2e-mcp';
const calcServer = {
  command: 'node',
  args: ['/workspace/group/mcp/calc.mjs'],
  env: { CALC_GREETING: 'hi ' },
};

let warren: Warren;
let openai: FakeOpenAI;
let ownerDm: ChatClient;
let olga: SignedIn;

type Message = { role: string; content: string | null; tool_call_id?: string };
const lastOf = (request: RecordedRequest) => request.body.messages.at(-1) as Message;
const toolNames = (request: RecordedRequest) =>
  ((request.body.tools ?? []) as { function: { name: string } }[]).map((t) => t.function.name);
/** tool_call_id → content, for the tool messages of this turn (after the last user message). */
function toolResults(request: RecordedRequest): Map<string, string | null> {
  const messages = request.body.messages as Message[];
  const turn = messages.slice(messages.findLastIndex((m) => m.role === 'user'));
  return new Map(
    turn.filter((m) => m.role === 'tool' && m.tool_call_id).map((m) => [m.tool_call_id!, m.content]),
  );
}

/** The fake model: what it does depends only on the conversation it is sent. */
function respond(request: RecordedRequest): OpenAIReply {
  const last = lastOf(request);
  const said = (text: string) => last.role === 'user' && (last.content ?? '').includes(text);
  if (said('please add the calculator')) {
    return {
      toolCalls: [{ id: 'call_ask', name: 'add_mcp_server', arguments: { name: 'calc', ...calcServer } }],
    };
  }
  if (said('approval_decided')) return { text: 'The calculator is approved.' };
  if (said('what is 2 + 3')) {
    const calls: { id: string; name: string; arguments: Record<string, unknown> }[] = [
      { id: 'call_add', name: 'calc__add', arguments: { a: 2, b: 3 } },
      { id: 'call_echo', name: 'calc__echo', arguments: { text: 'there' } },
    ];
    if (said('and the broken one'))
      calls.push({ id: 'call_broken', name: 'broken__anything', arguments: {} });
    return { toolCalls: calls };
  }
  if (last.role === 'tool') {
    const results = toolResults(request);
    if (results.has('call_ask')) return { text: 'I asked for the calculator.' };
    const broken = results.get('call_broken');
    return {
      text: `2 + 3 = ${results.get('call_add')}; ${results.get('call_echo')}${broken ? `; ${broken}` : ''}`,
    };
  }
  return { text: 'ok' };
}

beforeAll(async () => {
  openai = await startFakeOpenAI({ apiKey: KEY, fallback: respond });
  warren = await startWarren({ env: { OPENAI_API_KEY: KEY }, idleExitMs: 1500 });
  warren.wire.model(warren.wire.main(), {
    provider: 'openai',
    model: MODEL,
    modelConfig: { baseUrl: openai.url },
  });
  olga = await warren.signIn(warren.wire.owner({ account: 'olga', name: 'Olga', dm: 'olga-dm' }));
  ownerDm = await warren.chat('olga-dm', { as: olga });
  // The server's script lives in the group folder, which the container sees read-only at /workspace/group.
  await mkdir(join(warren.groupsDir, 'main/mcp'), { recursive: true });
  await copyFile(
    fileURLToPath(new URL('../fixtures/mcp-calc-server.mjs', import.meta.url)),
    join(warren.groupsDir, 'main/mcp/calc.mjs'),
  );
}, 60_000);
afterAll(async () => {
  await warren?.stop();
  await openai?.close();
});

test('an MCP server the agent asked for and an admin approved is started in its next container, and its tools work', async () => {
  const lab = await warren.chat('mcp-lab');
  await lab.send({ id: 'mcp-1', text: 'please add the calculator' });
  await lab.waitForReply((r) => r.text === 'I asked for the calculator.', 30_000);
  const card = await ownerDm.waitForReply(
    (r) =>
      /^Approval needed: Add an MCP server/.test((r.card as { title?: string } | undefined)?.title ?? ''),
    30_000,
  );
  expect((card.card as { body: string }).body).toContain('CALC_GREETING: "hi "');

  await warren.click('olga-dm', olga, card, 'Approve');
  await lab.waitForReply((r) => r.text === 'The calculator is approved.', 30_000);
  const main = warren.wire.main();
  expect(getAgentGroup(warren.db(), main.id)!.containerConfig.mcpServers).toEqual({ calc: calcServer });

  // The container that asked keeps running as it started; the session's next one gets the server.
  const session = warren.sessionOf('mcp-lab')!;
  await waitUntil(
    async () => !(await warren.containers()).some((c) => c.labels['warren.session'] === session.id),
    30_000,
    () => 'the session container is still running',
    200,
  );
  const before = openai.requests.length;
  await lab.send({ id: 'mcp-2', text: 'what is 2 + 3?' });
  const answer = await lab.waitForReply((r) => r.inReplyTo === 'mcp-2', 30_000);

  expect(answer.text).toBe('2 + 3 = 5; hi there');
  const [first, second] = openai.requests.slice(before);
  expect(toolNames(first!)).toEqual(expect.arrayContaining(['send_message', 'calc__add', 'calc__echo']));
  const add = (first!.body.tools as { function: { name: string; description?: string } }[]).find(
    (t) => t.function.name === 'calc__add',
  );
  expect(add!.function.description).toBe('Adds two numbers. (from the MCP server "calc")');
  expect(Object.fromEntries(toolResults(second!))).toEqual({ call_add: '5', call_echo: 'hi there' });
}, 120_000);

test('a server that cannot start leaves the agent its other tools, and the model is told why', async () => {
  const main = warren.wire.main();
  const { containerConfig } = getAgentGroup(warren.db(), main.id)!;
  updateAgentGroup(
    warren.wire.db,
    main.id,
    {
      containerConfig: {
        ...containerConfig,
        mcpServers: {
          calc: calcServer,
          broken: { command: 'node', args: ['/workspace/group/mcp/missing.mjs'], env: {} },
        },
      },
    },
    new Date().toISOString(),
  );
  const before = openai.requests.length;
  const chat = await warren.chat('mcp-broken');
  await chat.send({ id: 'mcp-b1', text: 'what is 2 + 3, and the broken one?' });
  const answer = await chat.waitForReply((r) => r.inReplyTo === 'mcp-b1', 30_000);

  expect(answer.text).toMatch(
    /^2 \+ 3 = 5; hi there; tool broken__anything could not be called: the MCP server "broken" is not available \(it could not be started: .+\); its tools cannot be used now$/,
  );
  const [first] = openai.requests.slice(before);
  expect(toolNames(first!)).toContain('calc__add');
  expect(toolNames(first!).filter((name) => name.startsWith('broken'))).toEqual([]);
  expect(first!.body.messages[0].content).toContain('# MCP servers that are not available');
  expect(first!.body.messages[0].content).toContain('- "broken": it could not be started');
}, 60_000);
