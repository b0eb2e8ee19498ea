// Pure: the Claude Agent SDK's message stream → the runner's provider events and the turn's outcome.
// Only the fields read here matter; the SDK sends many more message kinds, which are ignored.
import type { ProviderEvent, ToolResult } from './provider.ts';

/** The parts of an SDK message this mapper reads (a structural subset of SDKMessage). */
export interface SdkMessageLike {
  type: string;
  subtype?: string;
  session_id?: string;
  parent_tool_use_id?: string | null;
  /** Set on the synthetic assistant message that carries an API error's text. */
  error?: string;
  message?: { content?: unknown };
  is_error?: boolean;
  result?: string;
  errors?: string[];
  api_error_status?: number | null;
  usage?: {
    input_tokens?: number;
    output_tokens?: number;
    cache_creation_input_tokens?: number;
    cache_read_input_tokens?: number;
  };
}

export type ClaudeOutcome =
  /** The turn finished; `text` is the agent's final answer ('' when it had nothing more to say). */
  | { kind: 'answered'; text: string; sessionId: string | null }
  /** A model call failed for good (the binary already retried); `text` is its error message. */
  | { kind: 'api_error'; status: number | null; text: string; sessionId: string | null }
  /** The stored conversation could not be resumed (its transcript is missing or unreadable). */
  | { kind: 'resume_failed'; detail: string }
  /** Anything else that ended the turn early: max turns, a crash, a stream without a result. */
  | { kind: 'failed'; detail: string; sessionId: string | null };

export interface ClaudeMapper {
  /** Events for one SDK message (tool calls once their result is in, usage at the end). */
  map(message: SdkMessageLike): ProviderEvent[];
  /** The outcome after the stream ended; `thrown` is what the stream threw, if it did. */
  outcome(thrown?: string): ClaudeOutcome;
}

const RESUME_FAILURE =
  /No conversation found|Could not (?:find|load|read) (?:the )?(?:session|conversation|transcript)/i;

export function createClaudeMapper(): ClaudeMapper {
  const pendingTools = new Map<string, { name: string; args: Record<string, unknown> }>();
  let sessionId: string | null = null;
  let result: SdkMessageLike | null = null;

  return {
    map(message) {
      if (message.session_id) sessionId = message.session_id;
      // A subagent's inner messages are its own business; its tool call shows as one call.
      if (message.parent_tool_use_id) return [];
      switch (message.type) {
        case 'assistant':
          if (message.error === undefined) rememberToolUses(message.message?.content, pendingTools);
          return [];
        case 'user':
          return toolResults(message.message?.content, pendingTools);
        case 'result':
          result = message;
          return [usageOf(message)];
        default:
          return [];
      }
    },
    outcome(thrown) {
      if (result === null) {
        const detail = thrown ?? 'the claude process ended without a result';
        return RESUME_FAILURE.test(detail)
          ? { kind: 'resume_failed', detail }
          : { kind: 'failed', detail, sessionId };
      }
      const errors = (result.errors ?? []).join('; ');
      if (result.subtype === 'success' && !result.is_error) {
        return { kind: 'answered', text: result.result ?? '', sessionId };
      }
      if (result.subtype === 'success') {
        return {
          kind: 'api_error',
          status: result.api_error_status ?? null,
          text: result.result ?? errors,
          sessionId,
        };
      }
      // error_during_execution before any model call is how a resume that cannot load shows.
      if (RESUME_FAILURE.test(errors)) return { kind: 'resume_failed', detail: errors };
      return {
        kind: 'failed',
        detail: `${result.subtype ?? 'error'}: ${errors || thrown || 'no detail'}`,
        sessionId,
      };
    },
  };
}

interface Block {
  type?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: unknown;
  is_error?: boolean;
  text?: string;
}

function blocks(content: unknown): Block[] {
  return Array.isArray(content) ? (content as Block[]) : [];
}

function rememberToolUses(
  content: unknown,
  pending: Map<string, { name: string; args: Record<string, unknown> }>,
): void {
  for (const block of blocks(content)) {
    if (block.type !== 'tool_use' || !block.id) continue;
    const args =
      block.input && typeof block.input === 'object' ? (block.input as Record<string, unknown>) : {};
    pending.set(block.id, { name: block.name ?? 'unknown', args });
  }
}

function toolResults(
  content: unknown,
  pending: Map<string, { name: string; args: Record<string, unknown> }>,
): ProviderEvent[] {
  const events: ProviderEvent[] = [];
  for (const block of blocks(content)) {
    if (block.type !== 'tool_result' || !block.tool_use_id) continue;
    const call = pending.get(block.tool_use_id);
    if (!call) continue;
    pending.delete(block.tool_use_id);
    events.push({ type: 'tool_call', name: call.name, args: call.args, result: resultOf(block) });
  }
  return events;
}

function resultOf(block: Block): ToolResult {
  const text =
    typeof block.content === 'string'
      ? block.content
      : blocks(block.content)
          .map((part) => (part.type === 'text' ? (part.text ?? '') : `[${part.type}]`))
          .join('\n');
  return { isError: block.is_error === true, text };
}

function usageOf(result: SdkMessageLike): ProviderEvent {
  const usage = result.usage ?? {};
  return {
    type: 'usage',
    inputTokens:
      (usage.input_tokens ?? 0) +
      (usage.cache_creation_input_tokens ?? 0) +
      (usage.cache_read_input_tokens ?? 0),
    outputTokens: usage.output_tokens ?? 0,
  };
}
