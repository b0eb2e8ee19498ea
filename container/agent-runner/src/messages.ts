// Inbound rows as the runner works with them: parsed with the shared schemas, or failed with a reason.
import { type MessageInRow } from '../../../src/shared/session-contract.ts';
import {
  messageInContent,
  parseContent,
  type AgentContent,
  type ChatContent,
  type ParseResult,
  type SystemContent,
  type TaskContent,
} from '../../../src/shared/session-content.ts';

interface MessageBase {
  id: string;
  seq: number;
  timestamp: string;
  /** false: context only; it rides along with the next turn but never starts one. */
  trigger: boolean;
  channelType: string | null;
  platformId: string | null;
  threadId: string | null;
}

export type TurnMessage = MessageBase &
  (
    | { kind: 'chat'; content: ChatContent }
    | { kind: 'task'; content: TaskContent }
    | { kind: 'system'; content: SystemContent }
    | { kind: 'agent'; content: AgentContent }
  );

export function parseMessageRow(row: MessageInRow): ParseResult<TurnMessage> {
  const base: MessageBase = {
    id: row.id,
    seq: row.seq,
    timestamp: row.timestamp,
    trigger: row.trigger === 1,
    channelType: row.channel_type,
    platformId: row.platform_id,
    threadId: row.thread_id,
  };
  switch (row.kind) {
    case 'chat':
      return withBase(base, 'chat', parseContent(messageInContent.chat, row.content));
    case 'task':
      return withBase(base, 'task', parseContent(messageInContent.task, row.content));
    case 'system':
      return withBase(base, 'system', parseContent(messageInContent.system, row.content));
    case 'agent':
      return withBase(base, 'agent', parseContent(messageInContent.agent, row.content));
    default:
      return { ok: false, error: `unknown message kind '${String(row.kind)}'` };
  }
}

function withBase<K extends TurnMessage['kind'], C>(
  base: MessageBase,
  kind: K,
  parsed: ParseResult<C>,
): ParseResult<TurnMessage> {
  if (!parsed.ok) return parsed;
  return { ok: true, value: { ...base, kind, content: parsed.value } as TurnMessage };
}

/** The words a message carries: what scripts match on and what an echo repeats. */
export function messageText(message: TurnMessage): string {
  switch (message.kind) {
    case 'chat':
    case 'agent':
      return message.content.text;
    case 'task':
      return message.content.prompt;
    case 'system':
      return message.content.event;
  }
}

/** Who sent a message, as a name a person would recognise. */
export function senderName(message: TurnMessage): string {
  switch (message.kind) {
    case 'chat':
      return message.content.sender.name ?? message.content.sender.id;
    case 'agent':
      return `agent ${message.content.fromAgentGroup}`;
    case 'task':
      return 'scheduler';
    case 'system':
      return 'system';
  }
}
