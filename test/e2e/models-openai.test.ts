// OpenAI-compatible agents end to end: the real openai client inside a real session container (no
// network, no key), reaching the fake chat-completions server on the host's loopback only through
// the host's model gateway; the runner's own tool loop calls its MCP tools; web chat on the outside.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  startFakeOpenAI,
  type FakeOpenAI,
  type OpenAIReply,
  type RecordedRequest,
} from '../harness/fake-openai.ts';
import { startWarren, waitUntil, type Warren } from '../harness/warren.ts';

const KEY = 'sk-e2e-openai-host-key-93be';
const MODEL = 'gpt-e2e-1';

let warren: Warren;
let openai: FakeOpenAI;
let respond: (request: RecordedRequest) => OpenAIReply = () => ({ text: 'ok' });

beforeAll(async () => {
  openai = await startFakeOpenAI({ apiKey: KEY, fallback: (request) => respond(request) });
  warren = await startWarren({ env: { OPENAI_API_KEY: KEY }, idleExitMs: 1500 });
  warren.wire.model(warren.wire.main(), {
    provider: 'openai',
    model: MODEL,
    modelConfig: { baseUrl: openai.url },
  });
});
afterAll(async () => {
  await warren?.stop();
  await openai?.close();
});

describe('an openai agent', () => {
  test('answers with the model’s streamed text; the call reaches the server only through the gateway', async () => {
    respond = () => ({ text: 'Hello from the fake OpenAI.', chunkDelayMs: 5 });
    const before = openai.requests.length;
    const chat = await warren.chat('openai-hello');

    const started = performance.now();
    await chat.send({ id: 'openai-hello-1', text: 'hi there' });
    const reply = await chat.waitForReply((r) => r.inReplyTo === 'openai-hello-1', 30_000);
    console.log(`openai: first reply of a new session in ${Math.round(performance.now() - started)} ms`);

    expect(reply.text).toBe('Hello from the fake OpenAI.');
    const [call] = openai.requests.slice(before);
    expect(call!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(call!.body).toMatchObject({ model: MODEL, stream: true });
    expect(call!.body.messages[0]).toMatchObject({ role: 'system' });
    expect(call!.body.messages[0].content).toContain('How you work here');
    expect(call!.body.messages.at(-1).content).toContain('hi there');
    expect(call!.body.tools.map((t: { function: { name: string } }) => t.function.name)).toContain(
      'send_message',
    );
  });

  test('calls the runner’s tools in a loop and answers with what they returned', async () => {
    respond = (request) => {
      const last = request.body.messages.at(-1) as { role: string; content: string; tool_call_id?: string };
      if (last.role === 'user') {
        return {
          toolCalls: [
            { id: 'call_send', name: 'send_message', arguments: { text: 'On it!' } },
            { id: 'call_memory', name: 'update_memory', arguments: { text: 'Ana prefers tea.' } },
          ],
        };
      }
      const results = toolResults(request);
      return { text: `Done: ${results.get('call_send')} and ${results.get('call_memory')}` };
    };
    const before = openai.requests.length;
    const chat = await warren.chat('openai-tools');

    await chat.send({ id: 'openai-tools-1', text: 'remember that I like tea' });
    const final = await chat.waitForReply((r) => r.text.startsWith('Done:'), 30_000);

    expect(final.text).toMatch(/^Done: \{"seq":\d+\} and \{"saved":16\}$/);
    expect(chat.replies().map((r) => r.text)).toEqual(['On it!', final.text]);
    expect(openai.requests.slice(before)).toHaveLength(2);
    // update_memory wrote the agent group's memory file on the host…
    const memory = join(warren.groupsDir, 'main/memory/MEMORY.md');
    expect(await readFile(memory, 'utf8')).toBe('Ana prefers tea.\n');

    // …which every later call shows the model.
    respond = () => ({ text: 'noted' });
    await chat.send({ id: 'openai-tools-2', text: 'thanks' });
    await chat.waitForReply((r) => r.inReplyTo === 'openai-tools-2', 30_000);
    expect(openai.requests.at(-1)!.body.messages[0].content).toContain('Ana prefers tea.');
  });

  test('continues the conversation in the next container', async () => {
    respond = (request) => ({
      text: JSON.stringify(request.body.messages).includes('teal') ? 'You said teal.' : 'I do not know.',
    });
    const chat = await warren.chat('openai-continue');

    await chat.send({ id: 'o-continue-1', text: 'my favourite colour is teal' });
    await chat.waitForReply((r) => r.inReplyTo === 'o-continue-1', 30_000);
    const session = warren.sessionOf('openai-continue')!;
    await waitUntil(
      async () => !(await warren.containers()).some((c) => c.labels['warren.session'] === session.id),
      30_000,
      () => 'the session container is still running',
      200,
    );

    await chat.send({ id: 'o-continue-2', text: 'what is my favourite colour?' });
    expect((await chat.waitForReply((r) => r.inReplyTo === 'o-continue-2', 30_000)).text).toBe(
      'You said teal.',
    );
    const roles = (openai.requests.at(-1)!.body.messages as { role: string }[]).map((m) => m.role);
    expect(roles).toEqual(['system', 'user', 'assistant', 'user']);
  });
});

/** tool_call_id → content, for the tool messages at the end of the request. */
function toolResults(request: RecordedRequest): Map<string, string> {
  const results = new Map<string, string>();
  for (const message of request.body.messages as { role: string; tool_call_id?: string; content: string }[]) {
    if (message.role === 'tool' && message.tool_call_id) results.set(message.tool_call_id, message.content);
  }
  return results;
}
