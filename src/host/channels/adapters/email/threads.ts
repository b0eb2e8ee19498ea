// What a reply needs to be threaded (the subject, the References chain), kept in the channel's state
// per Message-ID so it survives restarts. Bounded: a fixed number of slots chosen by a hash of the id,
// a newer mail taking an older one's slot; a reply whose entry was taken is still threaded by its
// In-Reply-To, just with a subject made from its text.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ChannelState } from '../../platform.ts';

const SLOTS = 4_096;
/** References kept per mail: the root and the most recent ones (clients do the same when trimming). */
export const MAX_REFERENCES = 20;
export const MAX_MESSAGE_ID = 250;
export const MAX_SUBJECT = 250;

export interface MailContext {
  /** The mail's Message-ID, with its angle brackets. */
  id: string;
  subject: string;
  /** Its References (root first), without itself. */
  references: string[];
}

const contextSchema = z.object({
  id: z.string().max(MAX_MESSAGE_ID),
  subject: z.string().max(MAX_SUBJECT),
  references: z.array(z.string().max(MAX_MESSAGE_ID)).max(MAX_REFERENCES),
});

export interface Threads {
  remember(context: MailContext, alsoUnder?: string): void;
  recall(id: string): MailContext | undefined;
}

export function createThreads(state: ChannelState): Threads {
  return {
    remember(context, alsoUnder) {
      const entry = {
        ...context,
        subject: context.subject.slice(0, MAX_SUBJECT),
        references: trimReferences(context.references),
      };
      state.set(slotOf(context.id), JSON.stringify(entry));
      // Under the thread's root too: a later piece of an answer names only its thread.
      if (alsoUnder !== undefined && alsoUnder !== context.id) {
        state.set(slotOf(alsoUnder), JSON.stringify({ ...entry, key: alsoUnder }));
      }
    },
    recall(id) {
      const raw = state.get(slotOf(id));
      if (raw === undefined) return undefined;
      try {
        const parsed = JSON.parse(raw) as { key?: unknown };
        const context = contextSchema.parse(parsed);
        return (parsed.key ?? context.id) === id ? context : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** The root and the newest ones, at most MAX_REFERENCES. */
export function trimReferences(references: string[]): string[] {
  if (references.length <= MAX_REFERENCES) return references;
  return [references[0]!, ...references.slice(-(MAX_REFERENCES - 1))];
}

function slotOf(id: string): string {
  const n = createHash('sha256').update(id).digest().readUInt32BE(0) % SLOTS;
  return `thread:${n}`;
}
