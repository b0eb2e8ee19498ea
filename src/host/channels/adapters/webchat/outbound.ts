// Sending to a web chat: an outbound message becomes an event of its chat (chat-events.ts), sent once
// per idempotency key, with the files it carries copied first (file-store.ts).
import { ChannelSendError } from '../../channel.ts';
import type { ChannelHealth, OutboundMessage, SendResult } from '../../channel.ts';
import type { ChatEvents } from './chat-events.ts';
import type { FileStore } from './file-store.ts';

/** Channel.send: the message becomes an event of its chat, its files copied first. */
export function createSend(parts: {
  type: string;
  clock: () => Date;
  /** Updated with the last time an event went out. */
  health: ChannelHealth;
  chats: ChatEvents;
  storeFiles: FileStore['storeFiles'];
  isConnected: () => boolean;
}) {
  const { type, chats } = parts;
  return async function send(message: OutboundMessage): Promise<SendResult> {
    const key = message.idempotencyKey;
    if (!parts.isConnected()) {
      throw new ChannelSendError(
        'transient',
        `the ${type} channel is not connected; message ${key} not sent`,
      );
    }
    if (/[\r\n\0]/.test(key)) {
      throw new ChannelSendError(
        'invalid_request',
        `idempotency key ${JSON.stringify(key)} cannot be an event id`,
      );
    }
    const sent = { platformMessageId: key };
    if (chats.has(message.chatId, key)) return sent;
    const data = await eventData(message);
    // Checked again: a concurrent send of the same key may have finished while files were copied.
    if (chats.has(message.chatId, key)) return sent;
    chats.publish(message.chatId, message.kind === 'send' ? 'message' : message.kind, key, data);
    parts.health.lastOutboundAt = parts.clock().toISOString();
    return sent;
  };

  async function eventData(message: OutboundMessage): Promise<Record<string, unknown>> {
    const id = message.idempotencyKey;
    const thread = message.threadId === null ? {} : { thread: message.threadId };
    switch (message.kind) {
      case 'send': {
        const files = await parts.storeFiles(message.chatId, id, message.files);
        const card = message.card ? { card: message.card } : {};
        return { id, inReplyTo: message.inReplyTo, text: message.text, files, ...card, ...thread };
      }
      case 'edit':
        return { id, targetId: message.targetPlatformMessageId, text: message.text, ...thread };
      case 'react':
        return { id, targetId: message.targetPlatformMessageId, emoji: message.emoji, ...thread };
    }
  }
}
