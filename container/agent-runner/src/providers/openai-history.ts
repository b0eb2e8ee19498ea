// Pure: the openai provider's conversation, kept in session_state between turns so the next turn
// continues it. Bounded by messages and characters; it is cut only where a turn began (a user
// message), so an assistant's tool calls and their results are always kept or dropped together.
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';

export type ChatMessage = ChatCompletionMessageParam;

export const HISTORY_KEY = 'openai_history';

export interface HistoryLimits {
  maxMessages: number;
  maxChars: number;
}

export const DEFAULT_HISTORY_LIMITS: HistoryLimits = { maxMessages: 80, maxChars: 60_000 };

/** The newest whole turns that fit; the latest turn is kept even when it alone is too big. */
export function boundHistory(messages: readonly ChatMessage[], limits: HistoryLimits): ChatMessage[] {
  const starts = messages.flatMap((m, i) => (m.role === 'user' ? [i] : []));
  if (starts.length === 0) return [];
  const sizes = messages.map((m) => JSON.stringify(m).length);
  let keepFrom = starts.at(-1)!;
  for (let s = starts.length - 2; s >= 0; s--) {
    const from = starts[s]!;
    const count = messages.length - from;
    const chars = sizes.slice(from).reduce((a, b) => a + b, 0);
    if (count > limits.maxMessages || chars > limits.maxChars) break;
    keepFrom = from;
  }
  return messages.slice(keepFrom);
}

// Only the roles the provider writes; anything else in the stored value means it is not ours.
const toolCall = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});
const storedMessage = z.union([
  z.object({ role: z.literal('user'), content: z.string() }),
  z.object({
    role: z.literal('assistant'),
    content: z.string().nullable(),
    tool_calls: z.array(toolCall).optional(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string(), content: z.string() }),
]);
const storedHistory = z.array(storedMessage);

/** The stored conversation; an unreadable value starts a new one rather than failing the turn. */
export function parseHistory(stored: string | null): ChatMessage[] {
  if (stored === null) return [];
  try {
    const parsed = storedHistory.safeParse(JSON.parse(stored));
    return parsed.success ? (parsed.data as ChatMessage[]) : [];
  } catch {
    return [];
  }
}
