import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import type { TurnMessage } from '../../container/agent-runner/src/messages.ts';
import type { ProviderEvent, Turn } from '../../container/agent-runner/src/providers/provider.ts';
import {
  chooseSteps,
  fillArgs,
  fillTemplate,
  loadScript,
  parseScript,
  type Script,
} from '../../container/agent-runner/src/providers/script.ts';
import { createScriptedProvider } from '../../container/agent-runner/src/providers/scripted.ts';

const parse = (value: unknown) => parseScript(JSON.stringify(value), 'script.json');
const errorOf = (value: unknown) => {
  const loaded = parse(value);
  if (loaded.ok) throw new Error('expected the script to be refused');
  return loaded.error;
};
const scriptOf = (value: unknown): Script => {
  const loaded = parse(value);
  if (!loaded.ok) throw new Error(loaded.error);
  return loaded.script;
};

describe('script validation', () => {
  test('a script with rules and a default is accepted', () => {
    const script = scriptOf({
      rules: [{ match: '^hi', steps: [{ reply: 'hello {{sender}}' }, { delay: 10 }] }],
      default: [{ tool: 'send_message', args: { text: '{{text}}' } }, { error: 'nope' }, { exit: 3 }],
    });
    expect(script.rules[0]!.match.test('hi there')).toBe(true);
    expect(script.default).toEqual([
      { tool: 'send_message', args: { text: '{{text}}' } },
      { error: 'nope' },
      { exit: 3 },
    ]);
  });

  test('text that is not JSON is refused', () => {
    expect(parseScript('{ rules: [', 'script.json')).toMatchObject({
      ok: false,
      error: /script\.json is not valid JSON/,
    });
  });

  test('a bad regex is named with where it is', () => {
    expect(errorOf({ rules: [{ match: '(open', steps: [{ reply: 'x' }] }] })).toMatch(
      /not a valid regular expression[\s\S]*at rules\[0\]\.match/,
    );
  });

  test('a step of no known kind lists the kinds', () => {
    expect(errorOf({ default: [{ say: 'x' }] })).toMatch(
      /a step needs one of the keys reply, tool, delay, error, exit[\s\S]*at default\[0\]/,
    );
  });

  test('a step with a wrong value is reported for that kind of step', () => {
    expect(errorOf({ default: [{ delay: -5 }] })).toMatch(/>=0[\s\S]*at default\[0\]\.delay/);
    expect(errorOf({ default: [{ exit: 'now' }] })).toMatch(/expected number[\s\S]*at default\[0\]\.exit/);
    expect(errorOf({ default: [{ reply: 'x', delay: 1 }] })).toMatch(
      /Unrecognized key[\s\S]*at default\[0\]/,
    );
  });

  test('an unknown placeholder is refused with the known ones', () => {
    expect(errorOf({ default: [{ reply: 'hi {{name}}' }] })).toMatch(
      /unknown placeholder\(s\) \{\{name\}\}; known: \{\{text\}\}, \{\{sender\}\}, \{\{seq\}\}/,
    );
    expect(errorOf({ default: [{ tool: 't', args: { text: '{{nope}}' } }] })).toMatch(
      /unknown placeholder\(s\) in args: nope/,
    );
  });

  test('unknown top-level keys and empty step lists are refused', () => {
    expect(errorOf({ rulez: [] })).toMatch(/Unrecognized key: "rulez"/);
    expect(errorOf({ rules: [{ match: 'x', steps: [] }] })).toMatch(/at rules\[0\]\.steps/);
  });

  test('no script file means the echo script', () => {
    const loaded = loadScript(join(mkdtempSync(join(tmpdir(), 'warren-script-')), 'script.json'));
    expect(loaded).toEqual({ ok: true, script: { rules: [], default: [{ reply: 'echo: {{text}}' }] } });
  });
});

describe('rule matching', () => {
  const script = scriptOf({
    rules: [
      { match: 'weather', steps: [{ reply: 'sunny' }] },
      { match: '^weather in', steps: [{ reply: 'never reached' }] },
      { match: '\\bbye\\b', steps: [{ reply: 'goodbye' }] },
    ],
    default: [{ reply: 'default' }],
  });

  test('the first rule whose regex matches wins', () => {
    expect(chooseSteps(script, 'weather in Lisbon?')).toEqual([{ reply: 'sunny' }]);
    expect(chooseSteps(script, 'ok bye now')).toEqual([{ reply: 'goodbye' }]);
  });

  test('no match falls back to the default, and a script without one echoes', () => {
    expect(chooseSteps(script, 'byebye')).toEqual([{ reply: 'default' }]);
    expect(chooseSteps(scriptOf({ rules: [] }), 'x')).toEqual([{ reply: 'echo: {{text}}' }]);
  });
});

describe('placeholders', () => {
  const vars = {
    text: 'hi',
    sender: 'Ana',
    seq: '4',
    tool_result: '{"seq":5}',
    prompt: '<messages/>',
    attachments: '',
    attachment_text: '',
  };

  test('are filled in text, spaces inside braces allowed', () => {
    expect(fillTemplate('{{sender}} said "{{ text }}" as #{{seq}}; tool: {{tool_result}}', vars)).toBe(
      'Ana said "hi" as #4; tool: {"seq":5}',
    );
  });

  test('are filled in every string of tool args, nested ones too; other values are kept', () => {
    expect(
      fillArgs({ text: 're: {{text}}', to: 'ops', n: 3, list: ['{{sender}}', { deep: '{{seq}}' }] }, vars),
    ).toEqual({
      text: 're: hi',
      to: 'ops',
      n: 3,
      list: ['Ana', { deep: '4' }],
    });
  });
});

describe('the scripted provider', () => {
  const message: TurnMessage = {
    id: 'msg_1',
    seq: 4,
    timestamp: '2026-11-23T10:00:00.000Z',
    trigger: true,
    channelType: 'webchat',
    platformId: 'room-1',
    threadId: null,
    kind: 'chat',
    content: { text: 'ping', sender: { id: 'webchat:ana', name: 'Ana' }, attachments: [], mentioned: false },
  };

  /** A real MCP client and server linked in memory; the server has one tool that shouts. */
  async function toolClient(): Promise<Client> {
    const server = new McpServer({ name: 'test', version: '1.0.0' });
    server.registerTool('shout', { inputSchema: { text: z.string() } }, ({ text }) => ({
      content: [{ type: 'text', text: text.toUpperCase() }],
    }));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'test', version: '1.0.0' });
    await server.connect(serverSide);
    await client.connect(clientSide);
    return client;
  }

  async function play(
    script: unknown,
    signal = new AbortController().signal,
    onEvent: (event: ProviderEvent) => void = () => {},
  ) {
    const dir = mkdtempSync(join(tmpdir(), 'warren-scripted-'));
    writeFileSync(join(dir, 'script.json'), typeof script === 'string' ? script : JSON.stringify(script));
    const exits: number[] = [];
    const provider = createScriptedProvider({
      scriptPath: join(dir, 'script.json'),
      exit: (code) => exits.push(code),
    });
    const turn: Turn = {
      sessionId: 'ses_1',
      prompt: 'x'.repeat(40),
      messages: [message],
      trigger: message,
      tools: toolClient,
      instructions: () => '',
      readState: () => null,
      signal,
    };
    const events: ProviderEvent[] = [];
    for await (const event of provider.query(turn)) {
      events.push(event);
      onEvent(event);
    }
    return { events, exits };
  }

  test('replies become text events with placeholders filled, then usage', async () => {
    const { events } = await play({ default: [{ reply: '{{sender}}: {{text}} (#{{seq}})' }] });
    expect(events).toEqual([
      { type: 'text', text: 'Ana: ping (#4)', replyTo: 'msg_1' },
      { type: 'usage', inputTokens: 10, outputTokens: 4 },
    ]);
  });

  test('{{attachments}} lists the files under in/, {{attachment_text}} is the first one read from disk', async () => {
    const inDir = mkdtempSync(join(tmpdir(), 'warren-scripted-in-'));
    mkdirSync(join(inDir, 'inbox', 'in_1'), { recursive: true });
    writeFileSync(join(inDir, 'inbox', 'in_1', 'notes.txt'), 'the bytes on disk');
    writeFileSync(
      join(inDir, 'script.json'),
      JSON.stringify({ default: [{ reply: '{{attachments}} | {{attachment_text}}' }] }),
    );
    const withFiles: TurnMessage = {
      ...message,
      content: {
        ...message.content,
        attachments: [
          // The row says 4 bytes; what the agent reads is what is on disk.
          { name: 'notes.txt', type: 'text/plain', size: 4, path: 'inbox/in_1/notes.txt' },
          { name: 'gone.bin', type: 'application/octet-stream', size: 1, path: 'inbox/in_1/gone.bin' },
        ],
      },
    };
    const provider = createScriptedProvider({
      scriptPath: join(inDir, 'script.json'),
      exit: () => {},
      inDir,
    });
    const turn: Turn = {
      sessionId: 'ses_1',
      prompt: 'x',
      messages: [withFiles],
      trigger: withFiles,
      tools: toolClient,
      instructions: () => '',
      readState: () => null,
      signal: new AbortController().signal,
    };
    const events: ProviderEvent[] = [];
    for await (const event of provider.query(turn)) events.push(event);
    expect(events[0]).toEqual({
      type: 'text',
      text:
        `notes.txt (text/plain, 4 bytes) at ${inDir}/inbox/in_1/notes.txt\n` +
        `gone.bin (application/octet-stream, 1 bytes) at ${inDir}/inbox/in_1/gone.bin | the bytes on disk`,
      replyTo: 'msg_1',
    });
  });

  test('a tool step calls the tool through MCP and its result feeds {{tool_result}}', async () => {
    const { events } = await play({
      default: [{ tool: 'shout', args: { text: 'got {{text}}' } }, { reply: 'tool said {{tool_result}}' }],
    });
    expect(events.slice(0, 2)).toEqual([
      {
        type: 'tool_call',
        name: 'shout',
        args: { text: 'got ping' },
        result: { isError: false, text: 'GOT PING' },
      },
      { type: 'text', text: 'tool said GOT PING', replyTo: 'msg_1' },
    ]);
  });

  test('an unknown tool comes back as an error result, and the script goes on', async () => {
    const { events } = await play({ default: [{ tool: 'nope' }, { reply: 'after' }] });
    expect(events[0]).toMatchObject({
      type: 'tool_call',
      result: { isError: true, text: expect.stringMatching(/nope/) },
    });
    expect(events[1]).toEqual({ type: 'text', text: 'after', replyTo: 'msg_1' });
  });

  test('each triggering message of a turn gets its own answer; context rows get none', async () => {
    const second: TurnMessage = {
      ...message,
      id: 'msg_2',
      seq: 6,
      content: { ...message.content, text: 'pong' },
    };
    const context: TurnMessage = { ...message, id: 'msg_3', seq: 8, trigger: false };
    const dir = mkdtempSync(join(tmpdir(), 'warren-scripted-'));
    writeFileSync(join(dir, 'script.json'), JSON.stringify({ default: [{ reply: 'echo: {{text}}' }] }));
    const provider = createScriptedProvider({ scriptPath: join(dir, 'script.json'), exit: () => {} });
    const events: ProviderEvent[] = [];
    const turn: Turn = {
      sessionId: 'ses_1',
      prompt: 'x',
      messages: [message, second, context],
      trigger: second,
      tools: toolClient,
      instructions: () => '',
      readState: () => null,
      signal: new AbortController().signal,
    };
    for await (const event of provider.query(turn)) events.push(event);
    expect(events.filter((e) => e.type === 'text')).toEqual([
      { type: 'text', text: 'echo: ping', replyTo: 'msg_1' },
      { type: 'text', text: 'echo: pong', replyTo: 'msg_2' },
    ]);
  });

  test('an error step ends the turn with that error', async () => {
    const { events } = await play({
      default: [{ reply: 'thinking' }, { error: 'overloaded on {{text}}' }, { reply: 'never' }],
    });
    expect(events).toEqual([
      { type: 'text', text: 'thinking', replyTo: 'msg_1' },
      { type: 'error', message: 'overloaded on ping' },
    ]);
  });

  test('an exit step calls exit with its code and plays nothing after it', async () => {
    const { events, exits } = await play({ default: [{ exit: 3 }, { reply: 'never' }] });
    expect(exits).toEqual([3]);
    expect(events).toEqual([]);
  });

  test('a delay ends quietly when the runner stops during it', async () => {
    const stop = new AbortController();
    const started = performance.now();
    const { events } = await play(
      { default: [{ reply: 'waiting' }, { delay: 10_000 }, { reply: 'never' }] },
      stop.signal,
      // Taking this event lets the provider go on into the delay; once the microtasks have run it
      // waits there on its timer alone, and is stopped then.
      () => setImmediate(() => stop.abort()),
    );
    expect(events).toEqual([{ type: 'text', text: 'waiting', replyTo: 'msg_1' }]);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test('a bad script makes the turn fail with an error naming the problem', async () => {
    const { events } = await play({ default: [{ delay: 'soon' }] });
    expect(events).toEqual([
      {
        type: 'error',
        message: expect.stringMatching(
          /^scripted provider: .*script\.json is invalid: .*at default\[0\]\.delay/s,
        ),
      },
    ]);
  });
});
