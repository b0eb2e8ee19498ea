// One tool call as an agent makes it in a turn: the runner's real tool server on the session's files,
// reached through a real MCP client, with no container and no model.
import { closeRunnerSession, openRunnerSession } from '../../container/agent-runner/src/db/session.ts';
import type { Address } from '../../container/agent-runner/src/db/session.ts';
import { connectTools } from '../../container/agent-runner/src/mcp-tools/index.ts';
import { createOutboundIds } from '../../container/agent-runner/src/outbound-ids.ts';
import type { ToolResult } from '../../container/agent-runner/src/providers/provider.ts';
import type { SessionPaths } from '../../src/host/sessions/index.ts';

export interface AgentTurn {
  sessionId: string;
  paths: SessionPaths;
  clock: () => Date;
  /** The agent group's folder (send_file may send from it). */
  workspace: string;
  /** The agent's writable working folder (claude's), if it has one: send_file looks here first. */
  workDir?: string;
  timezone?: string;
  /** Where the turn answers: a message without `to` goes here. */
  address: Address;
  /** The message the turn answers, if any. */
  inReplyTo?: string | null;
}

/** The result's text parts are joined one per line. */
export async function callAgentTool(
  turn: AgentTurn,
  tool: string,
  args: Record<string, unknown>,
): Promise<ToolResult> {
  const runner = openRunnerSession({
    sessionId: turn.sessionId,
    inboundPath: turn.paths.inbound,
    outboundPath: turn.paths.outbound,
  });
  try {
    const tools = await connectTools(
      {
        session: runner,
        clock: turn.clock,
        workspace: turn.workspace,
        ...(turn.workDir !== undefined ? { workDir: turn.workDir } : {}),
        outboxDir: turn.paths.outbox,
        ...(turn.timezone ? { timezone: turn.timezone } : {}),
      },
      {
        conversation: { kind: 'chat', address: turn.address, inReplyTo: turn.inReplyTo ?? null },
        ids: createOutboundIds(`turn-${Math.random()}`),
        sentTexts: new Set(),
        corr: turn.inReplyTo ?? 'in_turn',
      },
    );
    try {
      const result = await tools.client.callTool({ name: tool, arguments: args });
      const content = result.content as { type: string; text: string }[];
      return { isError: result.isError === true, text: content.map((c) => c.text).join('\n') };
    } finally {
      await tools.close();
    }
  } finally {
    closeRunnerSession(runner);
  }
}
