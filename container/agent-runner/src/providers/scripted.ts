// The deterministic provider for tests, demos and benchmarks: it plays the steps of script.json
// (see script.ts and the README) instead of asking a model.
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { messageText, senderName, type TurnMessage } from '../messages.ts';
import type { Provider, ProviderEvent, ToolResult, Turn } from './provider.ts';
import { chooseSteps, fillArgs, fillTemplate, loadScript, type Script, type Vars } from './script.ts';

export interface ScriptedDeps {
  /** Read at the start of every turn, so an edited script applies to the next message. */
  scriptPath: string;
  /** What an `exit` step calls: process.exit in the runner, a recorder in tests. */
  exit: (code: number) => void;
  /** The session's in/ folder as this process sees it: attachment paths are relative to it. */
  inDir?: string;
}

/** What `{{attachment_text}}` reads of a file at most: enough for a test to prove it read the bytes. */
export const ATTACHMENT_TEXT_BYTES = 4096;

export function createScriptedProvider(deps: ScriptedDeps): Provider {
  return { query: (turn) => play(turn, deps) };
}

async function* play(turn: Turn, deps: ScriptedDeps): AsyncGenerator<ProviderEvent> {
  const loaded = loadScript(deps.scriptPath);
  if (!loaded.ok) {
    yield { type: 'error', message: `scripted provider: ${loaded.error}` };
    return;
  }
  // Every triggering message of the turn gets its own play of the script and its own answer, so
  // tests and benchmarks can count one reply per message even when messages arrive together.
  let written = 0;
  for (const message of turn.messages.filter((m) => m.trigger)) {
    const played = yield* playFor(message, turn, loaded.script, deps);
    if (played === null) return;
    written += played;
  }
  // No model, no tokens: a stable estimate (4 characters each) keeps usage accounting exercised.
  yield {
    type: 'usage',
    inputTokens: Math.ceil(turn.prompt.length / 4),
    outputTokens: Math.ceil(written / 4),
  };
}

/** The script's steps for one message; the characters written, or null when the turn must end. */
async function* playFor(
  message: TurnMessage,
  turn: Turn,
  script: Script,
  deps: ScriptedDeps,
): AsyncGenerator<ProviderEvent, number | null> {
  const text = messageText(message);
  const vars: Vars = {
    text,
    sender: senderName(message),
    seq: String(message.seq),
    tool_result: '',
    prompt: turn.prompt,
    ...attachmentVars(message, deps.inDir ?? ''),
  };
  let written = 0;
  for (const step of chooseSteps(script, text)) {
    if ('reply' in step) {
      const reply = fillTemplate(step.reply, vars);
      written += reply.length;
      yield { type: 'text', text: reply, replyTo: message.id };
    } else if ('tool' in step) {
      const args = fillArgs(step.args, vars) as Record<string, unknown>;
      const result = await callTool(await turn.tools(), step.tool, args);
      vars.tool_result = result.text;
      yield { type: 'tool_call', name: step.tool, args, result };
    } else if ('delay' in step) {
      const aborted = await sleep(step.delay, false, { signal: turn.signal }).catch(() => true);
      if (aborted) return null;
    } else if ('error' in step) {
      yield { type: 'error', message: fillTemplate(step.error, vars) };
      return null;
    } else {
      deps.exit(step.exit);
      return null;
    }
  }
  return written;
}

/**
 * `{{attachments}}`: one line per file of the message (name, type, size, path); `{{attachment_text}}`:
 * the first file's first bytes as UTF-8, read from disk as an agent's own tools would.
 */
function attachmentVars(message: TurnMessage, inDir: string): Pick<Vars, 'attachments' | 'attachment_text'> {
  const files = message.kind === 'chat' ? message.content.attachments : [];
  const lines = files.map((f) => `${f.name} (${f.type}, ${f.size} bytes) at ${join(inDir, f.path)}`);
  return {
    attachments: lines.join('\n'),
    attachment_text: files[0] ? readStart(join(inDir, files[0].path)) : '',
  };
}

function readStart(path: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(ATTACHMENT_TEXT_BYTES);
    return buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
  } catch (err) {
    return `[cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}]`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

async function callTool(tools: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  try {
    const result = await tools.callTool({ name, arguments: args });
    const content = Array.isArray(result.content)
      ? (result.content as { type: string; text?: string }[])
      : [];
    const text = content
      .map((part) => (part.type === 'text' ? (part.text ?? '') : `[${part.type}]`))
      .join('\n');
    return { isError: result.isError === true, text };
  } catch (err) {
    return { isError: true, text: `tool ${name} could not be called: ${(err as Error).message}` };
  }
}
