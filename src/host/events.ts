// What parts of the host tell each other without holding one another. A part that causes an event
// emits it; the part that acts on it subscribes when it is built. So index.ts can build every part
// in dependency order, even where two parts talk both ways (the pool starts containers that deliver,
// delivery wakes the pool; the router holds messages for approvals, approvals replay them).
import type { InboundMessage } from './channels/index.ts';
import type { SessionUnsafeError } from './sessions/index.ts';

/** One kind of event. Handlers are called in the order they subscribed. */
export interface Topic<A extends unknown[]> {
  on(handler: (...args: A) => unknown): void;
  /** Calls every handler and resolves when all have finished; a handler's error reaches the emitter. */
  emit(...args: A): Promise<void>;
}

export interface HostEvents {
  /**
   * A session has work: its container is started, or the running one looks (the pool). `corr`: the
   * inbound message that brought the work, when one did (src/shared/correlation.ts), for the logs.
   */
  wake: Topic<[sessionId: string, corr?: string]>;
  /** A session's files broke the contract: it is closed (sessions' quarantine). */
  unsafe: Topic<[sessionId: string, err: SessionUnsafeError]>;
  /** A session went over its disk quota: its container stops (the pool). */
  overQuota: Topic<[sessionId: string]>;
  /** A held message was admitted by an approval: it is routed again (the router). */
  admitted: Topic<[message: InboundMessage]>;
}

export function createHostEvents(): HostEvents {
  return { wake: createTopic(), unsafe: createTopic(), overQuota: createTopic(), admitted: createTopic() };
}

function createTopic<A extends unknown[]>(): Topic<A> {
  const handlers: ((...args: A) => unknown)[] = [];
  return {
    on: (handler) => void handlers.push(handler),
    // Handlers are called at once (a synchronous throw reaches the emitter as before), then awaited.
    emit: (...args) => Promise.all(handlers.map((handler) => handler(...args))).then(() => undefined),
  };
}
