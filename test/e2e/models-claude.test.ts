// Claude agents end to end: the real Claude Agent SDK driving its bundled `claude` binary inside a
// real session container (no network, no key), reaching the fake Anthropic API on the host's loopback
// only through the host's model gateway; the user talks to it through web chat.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { updateAgentGroup } from '../../src/db/agent-groups.ts';
import {
  startFakeAnthropic,
  type AnthropicReply,
  type FakeAnthropic,
  type RecordedRequest,
} from '../harness/fake-anthropic.ts';
import { startWarren, waitUntil, type Warren } from '../harness/warren.ts';

const KEY = 'sk-ant-e2e-claude-host-key-5d1c';
const MODEL = 'claude-e2e-1';

let warren: Warren;
let anthropic: FakeAnthropic;
/** How the fake answers the current test's calls (it sees the whole request, tool results too). */
let respond: (request: RecordedRequest) => AnthropicReply = () => ({ text: 'ok' });

beforeAll(async () => {
  anthropic = await startFakeAnthropic({ apiKey: KEY, fallback: (request) => respond(request) });
  warren = await startWarren({ env: { ANTHROPIC_API_KEY: KEY }, idleExitMs: 1500 });
  warren.wire.model(warren.wire.main(), {
    provider: 'claude',
    model: MODEL,
    modelConfig: { baseUrl: anthropic.url, allowedTools: ['Bash', 'Write', 'Read'] },
  });
});
afterAll(async () => {
  await warren?.stop();
  await anthropic?.close();
});

describe('a claude agent', () => {
  test('answers with the model’s streamed text; the call reaches the provider only through the gateway', async () => {
    respond = () => ({ text: 'Hello from the fake Claude.', chunkDelayMs: 5 });
    const folder = join(warren.groupsDir, 'main');
    await writeFile(join(folder, 'AGENT.md'), 'You are Pip, a parrot who loves crackers.\n');
    await mkdir(join(folder, 'skills/greet'), { recursive: true });
    await writeFile(
      join(folder, 'skills/greet/SKILL.md'),
      '---\nname: greet\ndescription: Greets people in pirate speak when they say ahoy.\n---\nSay ahoy matey.\n',
    );
    const before = anthropic.requests.length;
    const chat = await warren.chat('claude-hello');

    const started = performance.now();
    await chat.send({ id: 'claude-hello-1', text: 'hi there' });
    const reply = await chat.waitForReply((r) => r.inReplyTo === 'claude-hello-1', 60_000);
    console.log(`claude: first reply of a new session in ${Math.round(performance.now() - started)} ms`);

    expect(reply.text).toBe('Hello from the fake Claude.');
    const [call] = anthropic.requests.slice(before);
    // The gateway replaced the container's placeholder with the host's key.
    expect(call!.headers['x-api-key']).toBe(KEY);
    expect(call!.body).toMatchObject({ model: MODEL, stream: true });
    // The standing instructions: how replies work, AGENT.md, and the group's skills.
    const system = JSON.stringify(call!.body.system);
    expect(system).toContain('How you work here');
    expect(system).toContain('You are Pip, a parrot who loves crackers.');
    expect(JSON.stringify(call!.body)).toContain(
      'group:greet: Greets people in pirate speak when they say ahoy.',
    );
    expect(JSON.stringify(call!.body.messages)).toContain('hi there');
    expect(chat.replies()).toHaveLength(1);
  });

  test('uses the runner’s send_message and the built-in Write and Bash tools, and answers with what they returned', async () => {
    // Each step answers what the previous one's tool results said: the fake really depends on them.
    respond = (request) => {
      const results = toolResults(request);
      if (results.size === 0) {
        return {
          toolUse: [
            { id: 'toolu_send', name: 'mcp__warren__send_message', input: { text: 'On it!' } },
            {
              id: 'toolu_write',
              name: 'Write',
              input: { file_path: '/home/agent/work/note.txt', content: 'written by the agent\n' },
            },
          ],
        };
      }
      if (results.has('toolu_write')) {
        return {
          toolUse: [
            { id: 'toolu_bash', name: 'Bash', input: { command: 'echo "bash read: $(< note.txt)"' } },
          ],
        };
      }
      return { text: `Done. ${results.get('toolu_bash') ?? 'no bash result'}` };
    };
    const before = anthropic.requests.length;
    const chat = await warren.chat('claude-tools');

    await chat.send({ id: 'claude-tools-1', text: 'write a note and read it back' });
    const final = await chat.waitForReply((r) => r.text.startsWith('Done.'), 60_000);

    expect(final.text).toBe('Done. bash read: written by the agent');
    expect(chat.replies().map((r) => r.text)).toEqual(['On it!', final.text]);
    const calls = anthropic.requests.slice(before);
    expect(calls).toHaveLength(3);
    expect(toolResults(calls[1]!).get('toolu_send')).toMatch(/^\{"seq":\d+\}$/);
    expect(toolResults(calls[1]!).get('toolu_write')).toMatch(/note\.txt/);
    expect(toolResults(calls[2]!).get('toolu_bash')).toBe('bash read: written by the agent');
    // The file is in the session's home folder on the host (the agent's working directory).
    const home = join(warren.sessionOf('claude-tools')!.paths.root, 'home');
    expect(await readFile(join(home, 'work/note.txt'), 'utf8')).toBe('written by the agent\n');
  });

  test('sends a file it wrote in its work folder with send_file; a symlink out of it is refused', async () => {
    respond = (request) => {
      const results = toolResults(request);
      if (results.size === 0) {
        return {
          toolUse: [
            {
              id: 'toolu_write',
              name: 'Write',
              input: { file_path: '/home/agent/work/report.csv', content: 'month,total\nmarch,42\n' },
            },
            // The image has bash and node, no coreutils.
            {
              id: 'toolu_link',
              name: 'Bash',
              input: { command: `node -e "fs.symlinkSync('/session/in/inbound.db', 'leak.db')"` },
            },
          ],
        };
      }
      if (results.has('toolu_write')) {
        return {
          toolUse: [
            {
              id: 'toolu_file',
              name: 'mcp__warren__send_file',
              input: { path: 'report.csv', text: 'the March report' },
            },
            { id: 'toolu_leak', name: 'mcp__warren__send_file', input: { path: 'leak.db' } },
          ],
        };
      }
      return { text: `Sent. ${results.get('toolu_leak') ?? 'no leak result'}` };
    };
    const chat = await warren.chat('claude-file');

    await chat.send({ id: 'claude-file-1', text: 'send me the report' });
    const final = await chat.waitForReply((r) => r.text.startsWith('Sent.'), 60_000);

    expect(final.text).toContain("path 'leak.db' leads outside the folders you may send from");
    const withFile = chat.replies().find((r) => r.files.length > 0)!;
    expect(withFile).toMatchObject({ text: 'the March report', files: [{ name: 'report.csv' }] });
    const download = await fetch(`${warren.url}${withFile.files[0]!.url}`);
    expect(await download.text()).toBe('month,total\nmarch,42\n');
    expect(chat.replies().flatMap((r) => r.files.map((f) => f.name))).toEqual(['report.csv']);
  });

  test('continues the conversation in the next container, and starts afresh when its transcript is gone', async () => {
    respond = (request) => {
      const text = JSON.stringify(request.body.messages);
      return { text: text.includes('teal') ? 'You said teal before.' : 'I do not know yet.' };
    };
    const chat = await warren.chat('claude-continue');

    await chat.send({ id: 'continue-1', text: 'my favourite colour is teal' });
    await chat.waitForReply((r) => r.inReplyTo === 'continue-1', 60_000);
    const session = warren.sessionOf('claude-continue')!;
    await containerGone(session.id);

    await chat.send({ id: 'continue-2', text: 'what is my favourite colour?' });
    expect((await chat.waitForReply((r) => r.inReplyTo === 'continue-2', 60_000)).text).toBe(
      'You said teal before.',
    );
    await containerGone(session.id);

    // The SDK's transcripts live in the session's home folder; without them the stored conversation
    // cannot be resumed: the runner drops it and answers in a new one instead of failing.
    const transcripts = join(session.paths.root, 'home/.claude/projects');
    expect(existsSync(transcripts)).toBe(true);
    await rm(transcripts, { recursive: true });
    await chat.send({ id: 'continue-3', text: 'and now?' });
    expect((await chat.waitForReply((r) => r.inReplyTo === 'continue-3', 60_000)).text).toBe(
      'I do not know yet.',
    );
    const log = await readFile(join(warren.dataDir, 'logs/sessions', `${session.id}.log`), 'utf8');
    expect(log).toContain('cannot be resumed; starting a new one');
    expect(chat.replies()).toHaveLength(3);
  });

  test('starts the group’s approved MCP server and may use its tools', async () => {
    // As an approved add_mcp_server leaves it: the dependency-free calc server, in the group folder.
    const main = warren.wire.main();
    await mkdir(join(warren.groupsDir, 'main/mcp'), { recursive: true });
    await copyFile(
      fileURLToPath(new URL('../fixtures/mcp-calc-server.mjs', import.meta.url)),
      join(warren.groupsDir, 'main/mcp/calc.mjs'),
    );
    const calc = { command: 'node', args: ['/workspace/group/mcp/calc.mjs'], env: { CALC_GREETING: 'hi ' } };
    updateAgentGroup(
      warren.wire.db,
      main.id,
      { containerConfig: { ...main.containerConfig, mcpServers: { calc } } },
      new Date().toISOString(),
    );
    respond = (request) => {
      const results = toolResults(request);
      if (results.size === 0) {
        return {
          toolUse: [
            { id: 'toolu_add', name: 'mcp__calc__add', input: { a: 2, b: 3 } },
            { id: 'toolu_echo', name: 'mcp__calc__echo', input: { text: 'there' } },
          ],
        };
      }
      return { text: `2 + 3 = ${results.get('toolu_add')}; ${results.get('toolu_echo')}` };
    };
    const before = anthropic.requests.length;
    const chat = await warren.chat('claude-mcp');

    await chat.send({ id: 'claude-mcp-1', text: 'what is 2 + 3?' });
    const answer = await chat.waitForReply((r) => r.inReplyTo === 'claude-mcp-1', 60_000);

    expect(answer.text).toBe('2 + 3 = 5; hi there');
    const first = anthropic.requests.slice(before)[0]!;
    const offered = (first.body.tools as { name: string }[]).map((t) => t.name);
    expect(offered).toEqual(
      expect.arrayContaining(['mcp__calc__add', 'mcp__calc__echo', 'mcp__warren__send_message']),
    );
  });
});

/** tool_use id → result text, for the results the request answers (those after its last assistant turn). */
function toolResults(request: RecordedRequest): Map<string, string> {
  const messages = request.body.messages as { role: string; content: unknown }[];
  const lastAssistant = messages.findLastIndex((m) => m.role === 'assistant');
  const results = new Map<string, string>();
  for (const message of messages.slice(lastAssistant + 1)) {
    if (message.role !== 'user' || !Array.isArray(message.content)) continue;
    for (const block of message.content as { type: string; tool_use_id?: string; content?: unknown }[]) {
      if (block.type !== 'tool_result' || !block.tool_use_id) continue;
      results.set(block.tool_use_id, textOf(block.content));
    }
  }
  return results;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as { type: string; text?: string }[]).map((part) => part.text ?? '').join('');
}

async function containerGone(sessionId: string): Promise<void> {
  await waitUntil(
    async () => !(await warren.containers()).some((c) => c.labels['warren.session'] === sessionId),
    30_000,
    () => `the container of session ${sessionId} is still running`,
    200,
  );
}
