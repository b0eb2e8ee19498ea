// "Typing…" while an agent works on a reply. Platforms show it for a few seconds per call, so it is
// renewed; it always stops: on the next send to the chat, when a renewal fails, or at the deadline.

export interface Typing {
  start(chatId: string, threadId: string | null): void;
  stop(chatId: string): void;
  stopAll(): void;
  /** Chats showing typing now. */
  active(): string[];
}

export function createTyping(options: {
  refreshMs: number;
  /** Longest a typing indicator stays on without a reply. */
  timeoutMs: number;
  show: (chatId: string, threadId: string | null) => Promise<void>;
  onError: (chatId: string, err: unknown) => void;
  now?: () => number;
}): Typing {
  const now = options.now ?? Date.now;
  const chats = new Map<string, { timer: NodeJS.Timeout; deadline: number }>();

  const stop = (chatId: string) => {
    const chat = chats.get(chatId);
    if (!chat) return;
    clearInterval(chat.timer);
    chats.delete(chatId);
  };
  const show = (chatId: string, threadId: string | null) => {
    options.show(chatId, threadId).catch((err: unknown) => {
      stop(chatId);
      options.onError(chatId, err);
    });
  };

  return {
    start(chatId, threadId) {
      const deadline = now() + options.timeoutMs;
      const running = chats.get(chatId);
      if (running) {
        running.deadline = deadline;
        return;
      }
      const timer = setInterval(() => {
        if (now() >= (chats.get(chatId)?.deadline ?? 0)) stop(chatId);
        else show(chatId, threadId);
      }, options.refreshMs);
      timer.unref();
      chats.set(chatId, { timer, deadline });
      show(chatId, threadId);
    },
    stop,
    stopAll: () => [...chats.keys()].forEach(stop),
    active: () => [...chats.keys()],
  };
}
