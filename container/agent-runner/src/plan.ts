// Pure decisions about a turn: does the due work start one, where does it answer, what is sent.
import type { Address } from './db/session.ts';
import type { Target } from './mcp-tools/index.ts';
import type { TurnMessage } from './messages.ts';

export interface TurnPlan {
  messages: TurnMessage[];
  /** The last triggering message: what the turn answers. */
  trigger: TurnMessage;
  conversation: Target;
}

/** Due messages → a turn, or null when none of them may start one (context rows wait). */
export function planTurn(messages: TurnMessage[], routing: Address | null): TurnPlan | null {
  const trigger = messages.findLast((m) => m.trigger);
  if (!trigger) return null;
  return { messages, trigger, conversation: replyTarget(trigger, routing) };
}

const NOWHERE: Address = { channelType: null, platformId: null, threadId: null };

/** A chat message is answered in its own chat and thread; anything else at the session's address. */
export function replyTarget(trigger: TurnMessage, routing: Address | null): Target {
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
