// What every provider implements (DESIGN §5): one turn in, a stream of events out.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { TurnMessage } from '../messages.ts';

export interface Turn {
  sessionId: string;
  /** The turn's messages formatted for the model (see formatter.ts). */
  prompt: string;
  /** Every message of the turn in seq order, context-only ones included. */
  messages: readonly TurnMessage[];
  /** The last triggering message: the one the turn answers. */
  trigger: TurnMessage;
  /** An MCP client connected to the runner's own tool server for this turn (connected on first call). */
  tools: () => Promise<Client>;
  /** Aborted when the runner stops; a provider ends its turn early when it fires. */
  signal: AbortSignal;
  /**
   * The agent's standing instructions (how replies work, destinations, AGENT.md, MEMORY.md), read
   * afresh. `toolPrefix` is how the model sees the runner's tool names (claude: 'mcp__warren__').
   */
  instructions: (toolPrefix: string) => string;
  /** A value the provider kept in session_state on an earlier turn (see the `state` event). */
  readState: (key: string) => string | null;
}

export interface ToolResult {
  isError: boolean;
  text: string;
}

/**
 * `text` is one complete message of the agent's final answer (not a streaming delta); the runner
 * sends each one unless a tool already sent the same text this turn. `replyTo` (the id of one of
 * the turn's messages) answers that message instead of the trigger. `state` keeps a value in
 * session_state for later turns (null removes it), written with the turn's acks. `error` fails the
 * turn; with a `notice`, that one message tells the user what happened (otherwise nothing is sent).
 */
export type ProviderEvent =
  | { type: 'text'; text: string; replyTo?: string }
  | { type: 'tool_call'; name: string; args: Record<string, unknown>; result: ToolResult }
  | { type: 'usage'; inputTokens: number; outputTokens: number }
  | { type: 'state'; key: string; value: string | null }
  | { type: 'error'; message: string; notice?: string };

export interface Provider {
  query(turn: Turn): AsyncIterable<ProviderEvent>;
}
