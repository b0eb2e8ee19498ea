// Where a tool's row goes: pure decisions over what the session files hold.
import { type MessageOutKind } from '../../../../src/shared/session-contract.ts';
import { outboundOperation, parseContent } from '../../../../src/shared/session-content.ts';
import type { Address, Destination, StoredMessage } from '../db/session.ts';

export interface Target {
  kind: MessageOutKind;
  address: Address;
  inReplyTo: string | null;
}

export type Resolved = { ok: true; target: Target } | { ok: false; error: string };

/** `to` names a destination; no `to` means the conversation this turn answers. */
export function resolveRecipient(
  to: string | undefined,
  destinations: readonly Destination[],
  conversation: Target,
): Resolved {
  if (to === undefined) return { ok: true, target: conversation };
  const destination = destinations.find((d) => d.name === to);
  if (!destination) {
    const valid = destinations.map((d) => d.name);
    const hint =
      valid.length > 0
        ? `valid names: ${valid.join(', ')}`
        : 'this agent has no destinations; omit "to" to answer in the current conversation';
    return { ok: false, error: `unknown destination '${to}'; ${hint}. Nothing was sent.` };
  }
  if (destination.kind === 'agent') {
    // messages_out has no agent column: the target agent group travels in platform_id.
    const address = { channelType: null, platformId: destination.agentGroupId, threadId: null };
    return { ok: true, target: { kind: 'agent', address, inReplyTo: null } };
  }
  const address = {
    channelType: destination.channelType,
    platformId: destination.platformId,
    threadId: null,
  };
  return { ok: true, target: { kind: 'chat', address, inReplyTo: null } };
}

/** Only a message this agent sent (an odd seq holding a `send`) can be edited. */
export function editTarget(seq: number, found: StoredMessage | null): Resolved {
  if (!found)
    return { ok: false, error: `message ${seq} does not exist in this session; nothing was edited.` };
  if (found.table === 'in') {
    return {
      ok: false,
      error: `message ${seq} was sent to you, not by you; you can only edit your own messages.`,
    };
  }
  const op = parseContent(outboundOperation, found.row.content);
  if (!op.ok || op.value.op !== 'send') {
    return {
      ok: false,
      error: `message ${seq} is not a message you sent (it is an operation); nothing was edited.`,
    };
  }
  return { ok: true, target: targetOf(found.row.kind, found.row) };
}

/** A reaction goes on a chat message of this session: one a person sent, or one this agent sent. */
export function reactionTarget(seq: number, found: StoredMessage | null, routing: Address | null): Resolved {
  if (!found)
    return { ok: false, error: `message ${seq} does not exist in this session; no reaction was added.` };
  if (found.table === 'in') {
    if (found.row.kind !== 'chat') {
      return {
        ok: false,
        error: `message ${seq} is a ${found.row.kind} message, not a chat message; no reaction was added.`,
      };
    }
    const own = targetOf('chat', found.row);
    return {
      ok: true,
      target: own.address.platformId === null && routing ? { ...own, address: routing } : own,
    };
  }
  const op = parseContent(outboundOperation, found.row.content);
  if (!op.ok || op.value.op !== 'send' || found.row.kind !== 'chat') {
    return { ok: false, error: `message ${seq} is not a chat message; no reaction was added.` };
  }
  return { ok: true, target: targetOf('chat', found.row) };
}

function targetOf(
  kind: MessageOutKind,
  row: { channel_type: string | null; platform_id: string | null; thread_id: string | null },
): Target {
  return {
    kind,
    address: { channelType: row.channel_type, platformId: row.platform_id, threadId: row.thread_id },
    inReplyTo: null,
  };
}
