// One verified notification → its messages handed to the machinery in order, each with its media
// downloaded (or a note in its place), each resolved only once durable. Remembers each person's last
// message, which "typing…" is shown against.
import type { Logger } from '../../../logger.ts';
import type { InboundAttachment } from '../../channel.ts';
import type { PlatformEvents } from '../../platform.ts';
import { downloadMedia, type MediaAccess } from './media.ts';
import { normalizePayload } from './normalize.ts';
import type { WebhookPayload } from './payload.ts';

/** Chats whose last message id is remembered (the oldest forgotten first). */
const MAX_REMEMBERED_CHATS = 10_000;

export interface InboundDeps {
  installation: string;
  phoneNumberId: string;
  media: MediaAccess;
  log: Logger;
}

export function createInbound(deps: InboundDeps) {
  const lastInbound = new Map<string, string>();
  return {
    receive,
    /** The id of the last message this person sent, if one arrived since start-up. */
    lastMessageOf: (chatId: string) => lastInbound.get(chatId),
  };

  async function receive(payload: WebhookPayload, events: PlatformEvents): Promise<void> {
    const { messages, invalid } = normalizePayload(payload, deps);
    if (invalid > 0) {
      deps.log.warn(
        { installation: deps.installation, invalid },
        'whatsapp: messages of an unknown shape left out',
      );
    }
    for (const { message, media: ref } of messages) {
      const attachments: InboundAttachment[] = [];
      let text = message.text;
      if (ref) {
        const got = await downloadMedia(ref, deps.media);
        if ('attachment' in got) attachments.push(got.attachment);
        else text = [text, got.note].filter(Boolean).join('\n');
      }
      await events.message({ ...message, text, attachments }, message.platformMessageId);
      remember(message.chat.id, message.platformMessageId);
    }
  }

  function remember(chatId: string, messageId: string): void {
    lastInbound.delete(chatId);
    lastInbound.set(chatId, messageId);
    if (lastInbound.size > MAX_REMEMBERED_CHATS) lastInbound.delete(lastInbound.keys().next().value!);
  }
}
