// The agent's tools (DESIGN §6), served over MCP. Each tool validates its input, writes rows to
// messages_out (never calls the host) and returns the row's seq or an error the agent can act on.
// One server per turn: the turn's conversation and ids are fixed when it is made.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { OutboundOperation } from '../../../../src/shared/session-content.ts';
import {
  findMessageBySeq,
  readDestinations,
  readRouting,
  writeMessagesOut,
  type RunnerSession,
} from '../db/session.ts';
import type { OutboundIds } from '../outbound-ids.ts';
import { registerMemoryTool } from './memory.ts';
import { registerApprovalTools } from './approvals.ts';
import { openSendableFile, StageError, stageFile, unstage } from './outbox.ts';
import { registerTaskTools } from './tasks.ts';
import { editTarget, reactionTarget, resolveRecipient, type Resolved, type Target } from './targets.ts';

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

const seqArg = z.number().int().positive().describe('the message id (seq) as shown in the conversation');
const toArg = z
  .string()
  .min(1)
  .optional()
  .describe('a destination name from list_destinations; omit to answer in the current conversation');

export function createToolServer(deps: ToolDeps, scope: TurnScope): McpServer {
  const server = new McpServer({ name: 'warren', version: '0.1.0' });

  server.registerTool(
    'send_message',
    {
      description:
        'Send a message, to the current conversation or to a named destination: now, or at deliver_after.',
      inputSchema: {
        to: toArg,
        text: z.string().min(1),
        deliver_after: z
          .string()
          .optional()
          .describe(
            'send it at this time instead of now: ISO 8601 with an offset, e.g. 2026-06-01T09:00:00+02:00',
          ),
      },
    },
    ({ to, text, deliver_after }) => {
      const recipient = recipientFor(to);
      if (!recipient.ok) return failure(recipient.error);
      const later = deliverAfter(deliver_after, deps.clock());
      if (!later.ok) return failure(later.error);
      const operation: OutboundOperation = { op: 'send', text, files: [] };
      return success(write(recipient.target, operation, to === undefined && !later.at, undefined, later.at));
    },
  );

  const sendable = { group: deps.workspace, ...(deps.workDir !== undefined ? { work: deps.workDir } : {}) };
  server.registerTool(
    'send_file',
    {
      description:
        deps.workDir === undefined
          ? `Send a file from the group folder ${deps.workspace} (a path relative to it, or absolute), optionally with a caption.`
          : `Send a file, optionally with a caption: one you wrote in your work folder ${deps.workDir} or one from the group folder ${deps.workspace}. A relative path is looked up in the work folder first.`,
      inputSchema: { path: z.string().min(1), to: toArg, text: z.string().optional() },
    },
    async ({ path, to, text }) => {
      const recipient = recipientFor(to);
      if (!recipient.ok) return failure(recipient.error);
      const source = await openSendableFile(sendable, path);
      if (!source.ok) return failure(source.error);
      try {
        const operation: OutboundOperation = { op: 'send', text: text ?? '', files: [source.file.name] };
        const id = scope.ids({ target: recipient.target, operation });
        try {
          await stageFile(source.file, deps.outboxDir, id);
          return success(write(recipient.target, operation, to === undefined, id));
        } catch (err) {
          await unstage(deps.outboxDir, id);
          if (err instanceof StageError) return failure(err.message);
          throw err;
        }
      } finally {
        await source.file.handle.close();
      }
    },
  );

  server.registerTool(
    'edit_message',
    {
      description: 'Replace the text of a message you sent earlier, identified by its seq.',
      inputSchema: { seq: seqArg, text: z.string().min(1) },
    },
    ({ seq, text }) => {
      const target = editTarget(seq, findMessageBySeq(deps.session, seq));
      if (!target.ok) return failure(target.error);
      return success(write(target.target, { op: 'edit', targetSeq: seq, text }, false));
    },
  );

  server.registerTool(
    'add_reaction',
    {
      description: 'React to a chat message of this conversation (yours or a person’s) with an emoji name.',
      inputSchema: { seq: seqArg, emoji: z.string().min(1).max(64) },
    },
    ({ seq, emoji }) => {
      const target = reactionTarget(seq, findMessageBySeq(deps.session, seq), readRouting(deps.session));
      if (!target.ok) return failure(target.error);
      return success(write(target.target, { op: 'react', targetSeq: seq, emoji }, false));
    },
  );

  server.registerTool(
    'list_destinations',
    { description: 'List the names you can pass as `to`: chats and other agents you may message.' },
    () => {
      const destinations = readDestinations(deps.session).map(({ name, kind }) => ({ name, kind }));
      return { content: [{ type: 'text', text: JSON.stringify({ destinations }) }] };
    },
  );

  registerTaskTools(server, deps, scope);
  if (deps.memoryDir !== undefined) registerMemoryTool(server, deps.memoryDir);
  registerApprovalTools(server, deps, scope);
  return server;

  function recipientFor(to: string | undefined): Resolved {
    return resolveRecipient(to, readDestinations(deps.session), scope.conversation);
  }

  function write(
    target: Target,
    operation: OutboundOperation,
    toConversation: boolean,
    id?: string,
    deliverAfter?: string,
  ) {
    const [written] = writeMessagesOut(deps.session, [
      {
        id: id ?? scope.ids({ target, operation, deliverAfter }),
        kind: target.kind,
        operation,
        timestamp: deps.clock().toISOString(),
        deliverAfter: deliverAfter ?? null,
        inReplyTo: target.inReplyTo,
        channelType: target.address.channelType,
        platformId: target.address.platformId,
        threadId: target.address.threadId,
      },
    ]);
    if (toConversation && operation.op === 'send') scope.sentTexts.add(operation.text.trim());
    return written!;
  }
}

/** `deliver_after`: a time still to come, stored as ISO UTC (the host holds the row until then). */
function deliverAfter(
  value: string | undefined,
  now: Date,
): { ok: true; at?: string } | { ok: false; error: string } {
  if (value === undefined) return { ok: true };
  if (!z.iso.datetime({ offset: true }).safeParse(value).success) {
    return {
      ok: false,
      error: `deliver_after "${value}" is not an ISO 8601 time with an offset (e.g. 2026-06-01T09:00:00+02:00); nothing was sent.`,
    };
  }
  const at = new Date(value);
  if (at.getTime() <= now.getTime()) {
    return {
      ok: false,
      error: `deliver_after ${at.toISOString()} is not in the future (it is now ${now.toISOString()}); leave it out to send now. Nothing was sent.`,
    };
  }
  return { ok: true, at: at.toISOString() };
}

function success(written: { id: string; seq: number }): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify({ seq: written.seq }) }] };
}

function failure(error: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: error }] };
}
