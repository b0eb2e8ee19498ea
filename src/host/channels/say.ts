// The host speaking for itself in a chat (answers to `/link`, notices): straight through the channel,
// outside any session, so nothing of it ever reaches an agent's files.
import { ChannelSendError } from './channel.ts';
import type { ChannelRegistry } from './registry.ts';
import type { Logger } from '../logger.ts';

export interface SayAddress {
  channelType: string;
  chatId: string;
  threadId: string | null;
}

/** Sends `text` to a chat; `key` makes a repeat idempotent where the channel can. False when it failed. */
export type Say = (to: SayAddress, text: string, key: string) => Promise<boolean>;

export function createSay(channels: ChannelRegistry, log: Logger): Say {
  return async (to, text, key) => {
    try {
      await channels.get(to.channelType).send({
        kind: 'send',
        idempotencyKey: key,
        chatId: to.chatId,
        threadId: to.threadId,
        text,
        inReplyTo: null,
        files: [],
      });
      return true;
    } catch (err) {
      const code = err instanceof ChannelSendError ? err.code : 'unknown';
      log.warn({ channel: to.channelType, chat: to.chatId, code, err }, 'the host could not say something');
      return false;
    }
  };
}
