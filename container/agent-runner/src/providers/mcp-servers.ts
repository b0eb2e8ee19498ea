// The MCP servers an admin approved for the agent group (WARREN_MCP_SERVERS), for the openai
// provider's own tool loop (claude's binary starts them itself). Each is started on first use, the
// first turn that lists tools, and kept for the runner's life: starting one per turn would cost its
// start-up on every message and lose whatever it holds, and the runner exits when idle anyway. They
// are closed when the runner stops. A server that cannot start, or that exits, is logged and left out;
// the turn goes on with the other tools, and a call of its tools says why it cannot be used.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { McpServerSpec } from '../../../../src/shared/session-content.ts';
import { type Log } from '../log.ts';
import type { McpToolLike } from './openai-tools.ts';
import { errorText } from '../../../../src/shared/error-text.ts';

/** A running server's tools, under their own names. */
export interface ServerTools {
  server: string;
  tools: McpToolLike[];
}

/** What a tool call returned (an MCP CallToolResult, the fields read here). */
export interface ServerToolResult {
  content?: unknown;
  isError?: boolean;
}

export interface McpServers {
  /** The tools of every server that runs; first starts those not tried yet. */
  list(signal?: AbortSignal): Promise<ServerTools[]>;
  /** Calls one server's tool; throws, saying why, when that server is not running. */
  call(
    server: string,
    tool: string,
    args: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<ServerToolResult>;
  /** The servers that cannot be used in this runner, and why (for the model: no server output). */
  unavailable(): { server: string; reason: string }[];
  close(): Promise<void>;
}

/** Starts one server and connects an MCP client to it; `output` gets its stderr, line by line. */
export type ConnectMcpServer = (
  spec: McpServerSpec,
  output: (line: string) => void,
  timeoutMs: number,
) => Promise<Client>;

export interface McpServersDeps {
  servers: readonly McpServerSpec[];
  log: Log;
  connect?: ConnectMcpServer;
  /** Longest wait for a server to start and answer `initialize`. */
  startTimeoutMs?: number;
}

/** Lines of a server's stderr that are logged; a chattier server's rest is dropped. */
const MAX_LOGGED_LINES = 100;
const MAX_LINE_CHARS = 500;

type State =
  | { kind: 'idle' }
  | { kind: 'starting'; ready: Promise<void> }
  | { kind: 'running'; client: Client }
  | { kind: 'down'; reason: string };

export function createMcpServers(deps: McpServersDeps): McpServers {
  const connect = deps.connect ?? connectStdio;
  const startTimeoutMs = deps.startTimeoutMs ?? 15_000;
  const states = new Map<string, State>(deps.servers.map((spec) => [spec.name, { kind: 'idle' }]));
  let closing = false;

  return { list, call, unavailable, close };

  async function list(signal?: AbortSignal): Promise<ServerTools[]> {
    await Promise.all(deps.servers.map((spec) => started(spec)));
    const listed = await Promise.all(
      deps.servers.map((spec) => {
        const state = states.get(spec.name);
        if (state?.kind !== 'running') return null;
        return toolsOf(spec.name, state.client, { signal, timeoutMs: startTimeoutMs, log: deps.log });
      }),
    );
    return listed.filter((entry): entry is ServerTools => entry !== null);
  }

  async function call(
    server: string,
    tool: string,
    args: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<ServerToolResult> {
    const state = states.get(server);
    if (state?.kind !== 'running') {
      throw new Error(
        `the MCP server "${server}" is not running${state?.kind === 'down' ? ` (${state.reason})` : ''}`,
      );
    }
    return (await state.client.callTool({ name: tool, arguments: args }, undefined, {
      signal,
    })) as ServerToolResult;
  }

  function unavailable(): { server: string; reason: string }[] {
    return [...states].flatMap(([server, state]) =>
      state.kind === 'down' ? [{ server, reason: state.reason }] : [],
    );
  }

  async function close(): Promise<void> {
    closing = true;
    await Promise.all(
      [...states.values()].map(async (state) => {
        if (state.kind === 'starting') await state.ready;
      }),
    );
    await Promise.all(
      [...states.values()].map((state) =>
        state.kind === 'running' ? state.client.close().catch(() => undefined) : undefined,
      ),
    );
  }

  /** Resolves once the server runs or is known down; a server is started at most once. */
  function started(spec: McpServerSpec): Promise<void> {
    const state = states.get(spec.name)!;
    if (state.kind === 'starting') return state.ready;
    if (state.kind !== 'idle' || closing) return Promise.resolve();
    const ready = start(spec);
    states.set(spec.name, { kind: 'starting', ready });
    return ready;
  }

  async function start(spec: McpServerSpec): Promise<void> {
    const began = performance.now();
    const { output, lastLine } = outputLog(spec.name, deps.log);
    try {
      const client = await connect(spec, output, startTimeoutMs);
      client.onclose = () => {
        if (closing) return;
        states.set(spec.name, { kind: 'down', reason: 'it exited' });
        deps.log.warn('MCP server exited; its tools are unavailable until the next container', {
          server: spec.name,
          lastOutput: lastLine(),
        });
      };
      states.set(spec.name, { kind: 'running', client });
      deps.log.info('MCP server started', { server: spec.name, ms: Math.round(performance.now() - began) });
    } catch (err) {
      const reason = `it could not be started: ${errorText(err)}`;
      states.set(spec.name, { kind: 'down', reason });
      deps.log.warn('MCP server could not be started; the agent goes on without its tools', {
        server: spec.name,
        command: spec.command,
        error: errorText(err),
        lastOutput: lastLine(),
      });
    }
  }
}

/** One running server's tools; none (with a warning unless the turn was aborted) when it does not list them. */
async function toolsOf(
  server: string,
  client: Client,
  { signal, timeoutMs, log }: { signal?: AbortSignal; timeoutMs: number; log: Log },
): Promise<ServerTools | null> {
  try {
    const { tools } = await client.listTools(undefined, { signal, timeout: timeoutMs });
    return { server, tools };
  } catch (err) {
    if (signal?.aborted) return null;
    log.warn('MCP server did not list its tools; they are left out of this turn', {
      server,
      error: errorText(err),
    });
    return null;
  }
}

/** A server's stderr into the log, its first lines only; the last line is kept to tell why it stopped. */
function outputLog(
  server: string,
  log: Log,
): { output: (line: string) => void; lastLine: () => string | null } {
  let logged = 0;
  let lastLine: string | null = null;
  // Never the command's arguments or environment in the log: they may hold the server's keys.
  const output = (line: string) => {
    lastLine = line.slice(0, MAX_LINE_CHARS);
    if (++logged <= MAX_LOGGED_LINES) log.info('MCP server output', { server, line: lastLine });
    else if (logged === MAX_LOGGED_LINES + 1)
      log.info('MCP server output: further lines are not logged', { server });
  };
  return { output, lastLine: () => lastLine };
}

/** The real thing: the command as a child process, spoken to over its stdin and stdout. */
const connectStdio: ConnectMcpServer = async (spec, output, timeoutMs) => {
  // Loaded on first use: a runner whose group has no servers never reads the client's code.
  const [{ Client }, { StdioClientTransport }] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
  ]);
  // The environment is the approved one over a few basics (PATH, HOME, …), never the runner's own.
  const transport = new StdioClientTransport({
    command: spec.command,
    args: spec.args,
    env: spec.env,
    stderr: 'pipe',
  });
  let pending = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') output(line.trimEnd());
  });
  const client = new Client({ name: 'warren-runner', version: '0.1.0' });
  try {
    await client.connect(transport, { timeout: timeoutMs });
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
  return client;
};
