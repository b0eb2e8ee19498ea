// Pure: the runner's MCP tools and those of the approved MCP servers as OpenAI function tools,
// streamed chunks → one assistant reply, and MCP tool results → the text the model reads.
import { createHash } from 'node:crypto';
import type { ChatCompletionChunk, ChatCompletionFunctionTool } from 'openai/resources/chat/completions';

/** An MCP tool as listTools returns it (the fields used here). */
export interface McpToolLike {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

export function functionTools(tools: readonly McpToolLike[]): ChatCompletionFunctionTool[] {
  return tools.map((tool) => {
    // "$schema" is noise to the model, and some OpenAI-compatible servers reject unknown keys.
    const { $schema: _schema, ...parameters } = tool.inputSchema;
    return {
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description ? { description: tool.description } : {}),
        parameters: { type: 'object', properties: {}, ...parameters },
      },
    };
  });
}

/** OpenAI's function names: these characters, at most 64 of them. */
const MAX_FUNCTION_NAME = 64;

/**
 * How the model sees a tool of an approved MCP server: `<server>__<tool>`, other characters as `_`;
 * a name too long is cut and given a short hash of the original, so two long names stay apart.
 */
export function serverToolName(server: string, tool: string): string {
  const name = `${server}__${tool}`.replace(/[^A-Za-z0-9_-]/g, '_');
  if (name.length <= MAX_FUNCTION_NAME) return name;
  const hash = createHash('sha256').update(`${server}\0${tool}`).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_FUNCTION_NAME - hash.length - 1)}_${hash}`;
}

/** Which server, and which of its tools, a name the model calls stands for. */
export interface ToolRoute {
  server: string;
  tool: string;
}

export interface OfferedTools {
  /** The runner's own tools as they are, then each server's under its namespaced name. */
  tools: McpToolLike[];
  routes: Map<string, ToolRoute>;
  /** Server tools left out because their name is taken (by one of ours or an earlier server's). */
  skipped: { server: string; tool: string; name: string }[];
}

/** The tools of one turn: ours first (they keep their names), then the approved servers'. */
export function offeredTools(
  ours: readonly McpToolLike[],
  servers: readonly { server: string; tools: readonly McpToolLike[] }[],
): OfferedTools {
  const tools = [...ours];
  const taken = new Set(ours.map((tool) => tool.name));
  const routes = new Map<string, ToolRoute>();
  const skipped: OfferedTools['skipped'] = [];
  for (const { server, tools: theirs } of servers) {
    for (const tool of theirs) {
      const name = serverToolName(server, tool.name);
      if (taken.has(name)) {
        skipped.push({ server, tool: tool.name, name });
        continue;
      }
      taken.add(name);
      routes.set(name, { server, tool: tool.name });
      const about = `(from the MCP server "${server}")`;
      tools.push({ ...tool, name, description: tool.description ? `${tool.description} ${about}` : about });
    }
  }
  return { tools, routes, skipped };
}

/** The server a name not offered this turn belongs to, if it has a server's prefix (a tool remembered from before). */
export function serverOfName(name: string, servers: readonly string[]): string | undefined {
  return servers.find((server) => name.startsWith(serverToolName(server, '')));
}

/** Told to the model after its instructions: which servers' tools it cannot use, and why. */
export function unavailableServersNote(down: readonly { server: string; reason: string }[]): string {
  if (down.length === 0) return '';
  const lines = down.map(({ server, reason }) => `- "${server}": ${reason}`);
  return (
    `\n\n# MCP servers that are not available\n` +
    `The tools of these MCP servers cannot be used now; if the user needs them, say so:\n${lines.join('\n')}`
  );
}

export interface ToolCallDraft {
  id: string;
  name: string;
  arguments: string;
}

export interface AssistantDraft {
  content: string;
  toolCalls: ToolCallDraft[];
  usage: { inputTokens: number; outputTokens: number } | null;
  finishReason: string | null;
}

export const emptyDraft = (): AssistantDraft => ({
  content: '',
  toolCalls: [],
  usage: null,
  finishReason: null,
});

/** Adds one streamed chunk: text deltas append, tool calls are assembled by their index. */
export function addChunk(draft: AssistantDraft, chunk: ChatCompletionChunk): AssistantDraft {
  if (chunk.usage) {
    draft.usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
  }
  const choice = chunk.choices?.[0];
  if (!choice) return draft;
  if (choice.delta?.content) draft.content += choice.delta.content;
  for (const call of choice.delta?.tool_calls ?? []) {
    const slot = (draft.toolCalls[call.index] ??= { id: '', name: '', arguments: '' });
    if (call.id) slot.id = call.id;
    if (call.function?.name) slot.name += call.function.name;
    if (call.function?.arguments) slot.arguments += call.function.arguments;
  }
  if (choice.finish_reason) draft.finishReason = choice.finish_reason;
  return draft;
}

/** The tool call's arguments as an object, or why they cannot be used. */
export function parseArguments(
  raw: string,
): { ok: true; args: Record<string, unknown> } | { ok: false; error: string } {
  if (raw.trim() === '') return { ok: true, args: {} };
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return { ok: true, args: parsed as Record<string, unknown> };
    }
    return { ok: false, error: 'the arguments must be a JSON object' };
  } catch (err) {
    return { ok: false, error: `the arguments are not valid JSON (${(err as Error).message})` };
  }
}

/** Longest tool result the model reads (and the history keeps); the rest is cut with a note. */
export const MAX_TOOL_RESULT_CHARS = 16_000;

/** An MCP CallToolResult's content as text. */
export function toolResultText(content: unknown): string {
  const parts = Array.isArray(content) ? (content as { type: string; text?: string }[]) : [];
  const text = parts.map((part) => (part.type === 'text' ? (part.text ?? '') : `[${part.type}]`)).join('\n');
  return text.length <= MAX_TOOL_RESULT_CHARS
    ? text
    : `${text.slice(0, MAX_TOOL_RESULT_CHARS)}\n[… cut at ${MAX_TOOL_RESULT_CHARS} characters]`;
}
