// One line per chat: sends to a chat go out one at a time, at most as often as the platform allows
// there, while other chats go on. A chat's line is dropped once it is empty.
import { setTimeout as sleep } from 'node:timers/promises';

export interface ChatQueue {
  /** Runs `task` after every earlier task of this chat and at least minIntervalMs after the last. */
  run<T>(chat: string, task: () => Promise<T>): Promise<T>;
  /** Chats with work waiting or running. */
  size(): number;
}

export function createChatQueue(options: { minIntervalMs: number; now?: () => number }): ChatQueue {
  const now = options.now ?? Date.now;
  const lines = new Map<string, { tail: Promise<unknown>; lastEnd: number; pending: number }>();
  return {
    run(chat, task) {
      const line = lines.get(chat) ?? { tail: Promise.resolve(), lastEnd: 0, pending: 0 };
      lines.set(chat, line);
      line.pending += 1;
      const result = line.tail.then(async () => {
        const wait = line.lastEnd + options.minIntervalMs - now();
        if (wait > 0) await sleep(wait);
        try {
          return await task();
        } finally {
          line.lastEnd = now();
          line.pending -= 1;
          if (line.pending === 0) lines.delete(chat);
        }
      });
      line.tail = result.catch(() => undefined); // one failed send does not stop the chat's line
      return result;
    },
    size: () => lines.size,
  };
}
