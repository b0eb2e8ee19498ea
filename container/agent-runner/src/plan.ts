// Pure decisions about a turn: does the due work start one, where does it answer, what is sent.
import type { Address } from './db/session.ts';
import type { Target } from './mcp-tools/index.ts';
import type { TurnMessage } from './messages.ts';

export interface TurnPlan {
  messages: TurnMessage[];
  /** The last triggering message: what the turn answers. */
  trigger: TurnMessage;
  conversation: Target;
  /** The session's default reply address, for answers to another message of the turn. */
  routing: Address | null;
}

/** Due messages → a turn, or null when none of them may start one (context rows wait). */
export function planTurn(messages: TurnMessage[], routing: Address | null): TurnPlan | null {
  const batch = turnBatch(messages);
  const trigger = batch.findLast((m) => m.trigger);
  if (!trigger) return null;
  return { messages: batch, trigger, conversation: replyTarget(trigger, routing), routing };
}

/**
 * Messages due together share a turn, except scheduled task runs: each is a turn of its own (three
 * missed runs caught up are three answers), after the messages before it. The rest waits for the
 * next turn, which the loop starts at once.
 */
export function turnBatch(messages: TurnMessage[]): TurnMessage[] {
  const task = messages.findIndex((m) => m.kind === 'task' && m.trigger);
  if (task < 0) return messages;
  const before = messages.slice(0, task);
  return before.some((m) => m.trigger) ? before : messages.slice(0, task + 1);
}

const NOWHERE: Address = { channelType: null, platformId: null, threadId: null };

/**
 * A chat message is answered in its own chat and thread, another agent's message to that agent (the
 * host checks the pair's caps), anything else at the session's address.
 */
export function replyTarget(trigger: TurnMessage, routing: Address | null): Target {
  if (trigger.kind === 'agent') {
    // messages_out has no agent column: the agent group travels in platform_id (as send_message does).
    const address = { channelType: null, platformId: trigger.content.fromAgentGroup, threadId: null };
    return { kind: 'agent', address, inReplyTo: trigger.id };
  }
  if (trigger.kind !== 'chat') return { kind: 'chat', address: routing ?? NOWHERE, inReplyTo: null };
  const own = {
    channelType: trigger.channelType,
    platformId: trigger.platformId,
    threadId: trigger.threadId,
  };
  return {
    kind: 'chat',
    address: own.platformId !== null ? own : (routing ?? NOWHERE),
    inReplyTo: trigger.id,
  };
}

/** The final answer's messages: empty ones and those a tool already sent this turn are dropped. */
export function finalTexts(texts: readonly string[], sentByTools: ReadonlySet<string>): string[] {
  return texts.map((t) => t.trim()).filter((t) => t.length > 0 && !sentByTools.has(t));
}

/** Where a text answering `replyTo` goes: that message's conversation, else the turn's. */
export function targetFor(plan: TurnPlan, replyTo: string | undefined): Target {
  const message = replyTo === undefined ? undefined : plan.messages.find((m) => m.id === replyTo);
  return message ? replyTarget(message, plan.routing) : plan.conversation;
}
