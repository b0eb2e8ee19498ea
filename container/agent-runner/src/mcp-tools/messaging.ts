// The agent's messaging tools (DESIGN §6): send_message, send_file, edit_message, add_reaction and
// list_destinations. Each resolves where its message goes (the current conversation, a named
// destination, or the message it changes), writes one row to messages_out and returns its seq.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { OutboundOperation } from '../../../../src/shared/session-content.ts';
import { findMessageBySeq, readDestinations, readRouting, writeMessagesOut } from '../db/session.ts';
import type { ToolDeps, TurnScope } from './index.ts';
import { openSendableFile, StageError, stageFile, unstage } from './outbox.ts';
import { editTarget, reactionTarget, resolveRecipient, type Resolved, type Target } from './targets.ts';

const seqArg = z.number().int().positive().describe('the message id (seq) as shown in the conversation');
const toArg = z
  .string()
  .min(1)
  .optional()
  .describe('a destination name from list_destinations; omit to answer in the current conversation');

export function registerMessagingTools(server: McpServer, deps: ToolDeps, scope: TurnScope): void {
  registerSendMessage(server, deps, scope);
  registerSendFile(server, deps, scope);
  registerEditMessage(server, deps, scope);
  registerAddReaction(server, deps, scope);
  registerListDestinations(server, deps);
}

function registerSendMessage(server: McpServer, deps: ToolDeps, scope: TurnScope): void {
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
      const recipient = recipientFor(deps, scope, to);
      if (!recipient.ok) return failure(recipient.error);
      const later = deliverAfter(deliver_after, deps.clock());
      if (!later.ok) return failure(later.error);
      const operation: OutboundOperation = { op: 'send', text, files: [] };
      return success(
        writeMessage(deps, scope, {
          target: recipient.target,
          operation,
          toConversation: to === undefined && !later.at,
          deliverAfter: later.at,
        }),
      );
    },
  );
}

function registerSendFile(server: McpServer, deps: ToolDeps, scope: TurnScope): void {
  server.registerTool(
    'send_file',
    {
      description:
        deps.workDir === undefined
          ? `Send a file from the group folder ${deps.workspace} (a path relative to it, or absolute), optionally with a caption.`
          : `Send a file, optionally with a caption: one you wrote in your work folder ${deps.workDir} or one from the group folder ${deps.workspace}. A relative path is looked up in the work folder first.`,
      inputSchema: { path: z.string().min(1), to: toArg, text: z.string().optional() },
    },
    (args) => sendFile(deps, scope, args),
  );
}

/** Stages the file in the outbox under the row's id, then writes the row; a failed stage leaves nothing. */
async function sendFile(
  deps: ToolDeps,
  scope: TurnScope,
  { path, to, text }: { path: string; to?: string; text?: string },
): Promise<CallToolResult> {
  const recipient = recipientFor(deps, scope, to);
  if (!recipient.ok) return failure(recipient.error);
  const sendable = { group: deps.workspace, ...(deps.workDir !== undefined ? { work: deps.workDir } : {}) };
  const source = await openSendableFile(sendable, path);
  if (!source.ok) return failure(source.error);
  try {
    const operation: OutboundOperation = { op: 'send', text: text ?? '', files: [source.file.name] };
    const id = scope.ids({ target: recipient.target, operation });
    try {
      await stageFile(source.file, deps.outboxDir, id);
      return success(
        writeMessage(deps, scope, {
          target: recipient.target,
          operation,
          toConversation: to === undefined,
          id,
        }),
      );
    } catch (err) {
      await unstage(deps.outboxDir, id);
      if (err instanceof StageError) return failure(err.message);
      throw err;
    }
  } finally {
    await source.file.handle.close();
  }
}

function registerEditMessage(server: McpServer, deps: ToolDeps, scope: TurnScope): void {
  server.registerTool(
    'edit_message',
    {
      description: 'Replace the text of a message you sent earlier, identified by its seq.',
      inputSchema: { seq: seqArg, text: z.string().min(1) },
    },
    ({ seq, text }) => {
      const target = editTarget(seq, findMessageBySeq(deps.session, seq));
      if (!target.ok) return failure(target.error);
      const operation: OutboundOperation = { op: 'edit', targetSeq: seq, text };
      return success(writeMessage(deps, scope, { target: target.target, operation, toConversation: false }));
    },
  );
}

function registerAddReaction(server: McpServer, deps: ToolDeps, scope: TurnScope): void {
  server.registerTool(
    'add_reaction',
    {
      description: 'React to a chat message of this conversation (yours or a person’s) with an emoji name.',
      inputSchema: { seq: seqArg, emoji: z.string().min(1).max(64) },
    },
    ({ seq, emoji }) => {
      const target = reactionTarget(seq, findMessageBySeq(deps.session, seq), readRouting(deps.session));
      if (!target.ok) return failure(target.error);
      const operation: OutboundOperation = { op: 'react', targetSeq: seq, emoji };
      return success(writeMessage(deps, scope, { target: target.target, operation, toConversation: false }));
    },
  );
}

function registerListDestinations(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'list_destinations',
    { description: 'List the names you can pass as `to`: chats and other agents you may message.' },
    () => {
      const destinations = readDestinations(deps.session).map(({ name, kind }) => ({ name, kind }));
      return { content: [{ type: 'text', text: JSON.stringify({ destinations }) }] };
    },
  );
}

function recipientFor(deps: ToolDeps, scope: TurnScope, to: string | undefined): Resolved {
  return resolveRecipient(to, readDestinations(deps.session), scope.conversation);
}

interface OutboundMessage {
  target: Target;
  operation: OutboundOperation;
  /** A text sent to the turn's own conversation now: the final answer does not repeat it. */
  toConversation: boolean;
  /** The row's id when it is known already (a staged file is named by it). */
  id?: string;
  deliverAfter?: string;
}

function writeMessage(
  deps: ToolDeps,
  scope: TurnScope,
  { target, operation, toConversation, id, deliverAfter }: OutboundMessage,
) {
  const [written] = writeMessagesOut(deps.session, [
    {
      id: id ?? scope.ids({ target, operation, deliverAfter }),
      kind: target.kind,
      operation,
      timestamp: deps.clock().toISOString(),
      deliverAfter: deliverAfter ?? null,
      inReplyTo: target.inReplyTo,
      corr: scope.corr,
      channelType: target.address.channelType,
      platformId: target.address.platformId,
      threadId: target.address.threadId,
    },
  ]);
  if (toConversation && operation.op === 'send') scope.sentTexts.add(operation.text.trim());
  return written!;
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
