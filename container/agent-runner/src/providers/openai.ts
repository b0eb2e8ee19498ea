// The `openai` provider: any OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM,
// llama.cpp), reached only through the forwarder with a placeholder key. The tool loop is ours: the
// runner's MCP tools, and those of the group's approved MCP servers as `<server>__<tool>`, are
// offered as functions; each call goes to the turn's MCP client or to its server, and the loop ends
// when the model answers without calling a tool (or after maxSteps model calls). The conversation is
// kept in session_state (bounded), so the next turn continues it.
import type OpenAI from 'openai';
import type { APIConnectionError, APIConnectionTimeoutError } from 'openai';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { ModelConfig } from '../config.ts';
import { type Log } from '../log.ts';
import type { Forwarder } from './forwarder.ts';
import type { McpServers, ServerToolResult } from './mcp-servers.ts';
import { describeFailure, stoppedNotice, type FailureFacts } from './model-failure.ts';
import {
  boundHistory,
  DEFAULT_HISTORY_LIMITS,
  HISTORY_KEY,
  parseHistory,
  type ChatMessage,
} from './openai-history.ts';
import {
  addChunk,
  emptyDraft,
  functionTools,
  offeredTools,
  parseArguments,
  serverOfName,
  toolResultText,
  unavailableServersNote,
  type AssistantDraft,
  type ToolCallDraft,
  type ToolRoute,
} from './openai-tools.ts';
import type { Provider, ProviderEvent, ToolResult, Turn } from './provider.ts';
import { errorText } from '../../../../src/shared/error-text.ts';

/** Not a secret: the client wants some key, and the gateway replaces it. */
export const PLACEHOLDER_API_KEY = 'warren-no-key-in-container';

export interface OpenAiDeps {
  config: ModelConfig;
  forwarder: Forwarder;
  log: Log;
  /** The group's approved MCP servers (started on first use, kept for the runner's life). */
  mcpServers: McpServers;
}

/** The client and the error classes that tell a timeout from a lost connection. */
interface Loaded {
  client: OpenAI;
  errors: { timeout: typeof APIConnectionTimeoutError; connection: typeof APIConnectionError };
}

export function createOpenAiProvider(deps: OpenAiDeps): Provider {
  let loaded: Loaded | undefined;
  // Loaded on first use, so other providers never pay for the client.
  const load = async (): Promise<Loaded> => {
    if (loaded) return loaded;
    const sdk = await import('openai');
    const client = new sdk.default({
      apiKey: PLACEHOLDER_API_KEY,
      baseURL: deps.forwarder.url,
      // The client retries 408/409/429/5xx and lost connections itself, honouring Retry-After and
      // x-should-retry; a stream that breaks after its start is retried per step below.
      maxRetries: deps.config.retries,
      timeout: deps.config.timeoutMs,
      // Its complaints (an unparsable event, …) become log lines like the runner's own.
      logger: {
        error: (message: string, ...detail: unknown[]) =>
          deps.log.warn(`openai client: ${message}`, { detail }),
        warn: (message: string, ...detail: unknown[]) =>
          deps.log.warn(`openai client: ${message}`, { detail }),
        info: () => {},
        debug: () => {},
      },
    });
    loaded = {
      client,
      errors: { timeout: sdk.APIConnectionTimeoutError, connection: sdk.APIConnectionError },
    };
    return loaded;
  };
  return { query: (turn) => runTurn(turn, deps, load) };
}

/** Raised by a model call that failed for good; carries what the user is told. */
class ModelCallError extends Error {
  constructor(
    message: string,
    readonly notice: string,
  ) {
    super(message);
  }
}

async function* runTurn(
  turn: Turn,
  deps: OpenAiDeps,
  load: () => Promise<Loaded>,
): AsyncGenerator<ProviderEvent> {
  const client = await load();
  const mark = deps.forwarder.mark();
  const tools = await turn.tools();
  const offer = offeredTools((await tools.listTools()).tools, await deps.mcpServers.list(turn.signal));
  for (const { server, tool, name } of offer.skipped) {
    deps.log.warn('an MCP server tool is not offered: its name is taken', { server, tool, name });
  }
  const offered = functionTools(offer.tools);
  const down = deps.mcpServers.unavailable();
  const system: ChatMessage = {
    role: 'system',
    content: turn.instructions('') + unavailableServersNote(down),
  };
  const callTool = routeToolCalls({
    tools,
    routes: offer.routes,
    servers: deps.mcpServers,
    down,
    signal: turn.signal,
  });
  const conversation: ChatMessage[] = [
    ...parseHistory(turn.readState(HISTORY_KEY)),
    { role: 'user', content: turn.prompt },
  ];
  for (let step = 0; step < deps.config.maxSteps; step++) {
    let reply: AssistantDraft;
    try {
      reply = await callModel(client, [system, ...conversation], offered, turn.signal, deps, mark);
    } catch (err) {
      if (turn.signal.aborted) return;
      if (err instanceof ModelCallError) {
        yield { type: 'error', message: err.message, notice: err.notice };
        return;
      }
      throw err;
    }
    if (reply.usage) yield { type: 'usage', ...reply.usage };
    const calls = reply.toolCalls.filter((call) => call.name !== '');
    if (calls.length === 0) {
      conversation.push({ role: 'assistant', content: reply.content });
      const kept = boundHistory(conversation, DEFAULT_HISTORY_LIMITS);
      yield { type: 'state', key: HISTORY_KEY, value: JSON.stringify(kept) };
      if (reply.content.trim() !== '') yield { type: 'text', text: reply.content };
      return;
    }
    conversation.push({
      role: 'assistant',
      content: reply.content === '' ? null : reply.content,
      tool_calls: calls.map((call) => ({
        id: call.id,
        type: 'function' as const,
        function: { name: call.name, arguments: call.arguments },
      })),
    });
    for (const call of calls) {
      const { args, result } = await runToolCall(call, callTool);
      yield { type: 'tool_call', name: call.name, args, result };
      conversation.push({ role: 'tool', tool_call_id: call.id, content: result.text });
    }
  }
  yield {
    type: 'error',
    message: `openai: no final answer after ${deps.config.maxSteps} model calls (WARREN_MAX_STEPS)`,
    notice: stoppedNotice(deps.config.maxSteps),
  };
}

type CallTool = (call: ToolCallDraft, args: Record<string, unknown>) => Promise<ServerToolResult>;

/** Where a call goes: an approved server's tool to its server, anything else to the runner's tools. */
function routeToolCalls(r: {
  tools: Client;
  routes: Map<string, ToolRoute>;
  servers: McpServers;
  down: { server: string; reason: string }[];
  signal: AbortSignal;
}): CallTool {
  return (call, args) => {
    const route = r.routes.get(call.name);
    if (route) return r.servers.call(route.server, route.tool, args, r.signal);
    // A tool of a server that is down (the model remembers it from an earlier turn): say why.
    const server = serverOfName(
      call.name,
      r.down.map((d) => d.server),
    );
    if (server !== undefined) {
      const reason = r.down.find((d) => d.server === server)!.reason;
      throw new Error(
        `the MCP server "${server}" is not available (${reason}); its tools cannot be used now`,
      );
    }
    return r.tools.callTool({ name: call.name, arguments: args }) as Promise<ServerToolResult>;
  };
}

async function runToolCall(
  call: ToolCallDraft,
  callTool: CallTool,
): Promise<{ args: Record<string, unknown>; result: ToolResult }> {
  const parsed = parseArguments(call.arguments);
  if (!parsed.ok)
    return { args: {}, result: { isError: true, text: `${parsed.error}; the tool was not called.` } };
  try {
    const result = await callTool(call, parsed.args);
    return {
      args: parsed.args,
      result: { isError: result.isError === true, text: toolResultText(result.content) },
    };
  } catch (err) {
    return {
      args: parsed.args,
      result: { isError: true, text: `tool ${call.name} could not be called: ${errorText(err)}` },
    };
  }
}

/**
 * One model call, streamed and assembled. A stream that breaks after it began (cut off, garbled) is
 * retried here, up to `retries` times: tools run only after a whole reply, so a retry repeats nothing.
 */
async function callModel(
  { client, errors }: Loaded,
  messages: ChatMessage[],
  tools: ReturnType<typeof functionTools>,
  signal: AbortSignal,
  deps: OpenAiDeps,
  mark: number,
): Promise<AssistantDraft> {
  for (let attempt = 0; ; attempt++) {
    try {
      const stream = await client.chat.completions.create(
        {
          model: deps.config.model,
          messages,
          ...(tools.length > 0 ? { tools } : {}),
          stream: true,
          stream_options: { include_usage: true },
        },
        { signal },
      );
      let draft = emptyDraft();
      for await (const chunk of stream) draft = addChunk(draft, chunk);
      return draft;
    } catch (err) {
      if (signal.aborted) throw err;
      const facts = factsOf(err, errors, deps.forwarder.failuresSince(mark).at(-1) ?? null);
      const brokenStream = facts.status === null && facts.hint === 'malformed';
      if (brokenStream && attempt < deps.config.retries) {
        deps.log.warn('model answer broke off; asking again', { attempt: attempt + 1, error: facts.detail });
        await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
        continue;
      }
      const failure = describeFailure(facts);
      throw new ModelCallError(failure.error, failure.notice);
    }
  }
}

/** What an error from the openai client says about the failed call. */
export function factsOf(
  err: unknown,
  errors: Loaded['errors'],
  observed: FailureFacts['observed'],
): FailureFacts {
  const detail = errorText(err);
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number') return { status, hint: null, detail, observed };
  if (err instanceof errors.timeout) return { status: null, hint: 'timeout', detail, observed };
  if (err instanceof errors.connection) return { status: null, hint: 'connection', detail, observed };
  // An error event inside the stream (the gateway's, when the upstream broke off or stalled).
  const code = (err as { code?: unknown }).code;
  if (code === 'upstream_timeout') return { status: null, hint: 'timeout', detail, observed: null };
  // A garbled event (SyntaxError from the parser) or a stream that ended in an error event.
  return { status: null, hint: 'malformed', detail, observed: null };
}
