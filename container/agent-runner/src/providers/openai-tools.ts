// Pure: the runner's MCP tools as OpenAI function tools, streamed chunks → one assistant reply, and
// MCP tool results → the text the model reads.
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
