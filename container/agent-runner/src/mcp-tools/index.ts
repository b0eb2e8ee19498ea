// The agent's tools (DESIGN §6), served over MCP. Each tool validates its input, writes rows to
// messages_out (never calls the host) and returns the row's seq or an error the agent can act on.
// One server per turn: the turn's conversation and ids are fixed when it is made.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RunnerSession } from '../db/session.ts';
import type { OutboundIds } from '../outbound-ids.ts';
import { registerMemoryTool } from './memory.ts';
import { registerApprovalTools } from './approvals.ts';
import { registerMessagingTools } from './messaging.ts';
import { registerTaskTools } from './tasks.ts';
import type { Target } from './targets.ts';

export type { Target } from './targets.ts';

export interface ToolDeps {
  session: RunnerSession;
  clock: () => Date;
  /** The agent group's folder (read-only): instructions, script.json, and files send_file may send. */
  workspace: string;
  /**
   * The agent's writable working folder (claude: WARREN_HOME/work), if it has one: send_file looks
   * relative paths up here first, then in `workspace`, and sends from nowhere else.
   */
  workDir?: string;
  outboxDir: string;
  /** The agent group's IANA zone: tasks that name none run in it (default UTC). */
  timezone?: string;
  /** The agent group's memory folder; update_memory exists only when it is given. */
  memoryDir?: string;
}

export interface TurnScope {
  /** Where the turn answers: a message without `to` goes here. */
  conversation: Target;
  ids: OutboundIds;
  /** Texts tools sent to the conversation this turn; the final answer does not repeat them. */
  sentTexts: Set<string>;
  /** The message the turn answers: written on every row, so the host's lines follow it (src/shared/correlation.ts). */
  corr: string;
}

export interface ToolConnection {
  client: Client;
  close(): Promise<void>;
}

/** A real MCP client linked in memory to a fresh tool server for one turn. */
export async function connectTools(deps: ToolDeps, scope: TurnScope): Promise<ToolConnection> {
  const server = createToolServer(deps, scope);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'warren-runner', version: '0.1.0' });
  await server.connect(serverSide);
  await client.connect(clientSide);
  return {
    client,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

export function createToolServer(deps: ToolDeps, scope: TurnScope): McpServer {
  const server = new McpServer({ name: 'warren', version: '0.1.0' });
  registerMessagingTools(server, deps, scope);
  registerTaskTools(server, deps, scope);
  if (deps.memoryDir !== undefined) registerMemoryTool(server, deps.memoryDir);
  registerApprovalTools(server, deps, scope);
  return server;
}
