// What the channel is asked to send for an outbound operation, degraded to what the channel can show
// (DESIGN §5: degradation is the host's job): a card becomes numbered text, an edit a new message, a
// threaded reply a reply in the chat.
import { hasCapability, type Card, type OutboundMessage } from '../channels/index.ts';
import type { OutboundOperation } from '../../shared/session-content.ts';
import { platformIdOfSeq, type SessionPaths } from '../sessions/index.ts';
import type { StagedFile } from './outbox.ts';

export interface ChatTarget {
  idempotencyKey: string;
  chatId: string;
  threadId: string | null;
  /** Platform message id of the inbound message the row answers, when known. */
  inReplyTo: string | null;
}

/** The channel message for `op`, or why this channel cannot carry it. */
export function toChannelMessage(
  paths: SessionPaths,
  op: OutboundOperation,
  target: ChatTarget,
  capabilities: number,
  files: StagedFile[],
): OutboundMessage | { unsupported: string } {
  const { inReplyTo, ...addressed } = target;
  const base = hasCapability(capabilities, 'Threads') ? addressed : { ...addressed, threadId: null };
  switch (op.op) {
    case 'send': {
      if (files.length > 0 && !hasCapability(capabilities, 'Files')) {
        return { unsupported: 'this channel cannot carry files' };
      }
      if (op.card && !hasCapability(capabilities, 'RichCard')) {
        return { ...base, kind: 'send', text: cardAsText(op.text, op.card), inReplyTo, files };
      }
      return {
        ...base,
        kind: 'send',
        text: op.text,
        inReplyTo,
        files,
        ...(op.card ? { card: op.card } : {}),
      };
    }
    case 'edit': {
      const edited = platformIdOfSeq(paths, op.targetSeq);
      if (!edited || !hasCapability(capabilities, 'Edit')) {
        return { ...base, kind: 'send', text: op.text, inReplyTo, files: [] };
      }
      return { ...base, kind: 'edit', targetPlatformMessageId: edited, text: op.text };
    }
    case 'react': {
      if (!hasCapability(capabilities, 'Reactions')) return { unsupported: 'this channel has no reactions' };
      const reacted = platformIdOfSeq(paths, op.targetSeq);
      if (!reacted) return { unsupported: `message ${op.targetSeq} has no platform message to react to` };
      return { ...base, kind: 'react', targetPlatformMessageId: reacted, emoji: op.emoji };
    }
    case 'ask':
    case 'action':
      return { unsupported: `"${op.op}" operations are not handled by this host yet` };
  }
}

/** A card for a channel without cards: the text, the title, the body and the options numbered. */
export function cardAsText(text: string, card: Card): string {
  const numbered = card.options.map((o, i) => `${i + 1}. ${o.label}`).join('\n');
  return [text, `**${card.title}**`, card.body, numbered].filter(Boolean).join('\n\n');
}
