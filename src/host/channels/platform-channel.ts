// A chat platform's adapter made into a Channel, with the machinery every platform needs built once:
// replies split to the platform's limit, one line per chat at the platform's pace, 429s waited out,
// each piece posted once per delivery (even across retries), typing that always stops, dedup of
// redelivered events, card options behind short button tokens, and a watchdog that restarts an
// adapter that stopped receiving.
import type { Hono } from 'hono';
import { buttonValue } from '../../db/channel-buttons.ts';
import type { Db } from '../../db/connection.ts';
import { errorText } from '../../shared/error-text.ts';
import type { Logger } from '../logger.ts';
import { type Channel, type ChannelHealth, type InboundMessage, type InboundSink } from './channel.ts';
import { createChatQueue } from './chat-queue.ts';
import type { PlatformAdapter, PlatformEvents } from './platform.ts';
import { createPlatformSend } from './platform-send.ts';
import { createRecentEvents } from './recent-events.ts';
import { createTyping } from './typing.ts';
import { createWatchdog } from './watchdog.ts';

export interface PlatformChannelOptions {
  /** No sign of life for this long: unhealthy, restarted. */
  staleAfterMs: number;
  checkEveryMs: number;
  restartBackoff: { firstMs: number; maxMs: number };
  /** Longest "typing…" without a reply. */
  typingTimeoutMs: number;
  /** A 429 asking for a longer wait goes back to delivery's own backoff instead of holding the chat. */
  maxRateLimitWaitMs: number;
  /** 429s waited out in a row for one piece before the send is given back to delivery. */
  maxRateLimitWaits: number;
}

export const DEFAULT_PLATFORM_CHANNEL_OPTIONS: PlatformChannelOptions = {
  staleAfterMs: 90_000,
  checkEveryMs: 5_000,
  restartBackoff: { firstMs: 1_000, maxMs: 60_000 },
  typingTimeoutMs: 120_000,
  maxRateLimitWaitMs: 60_000,
  maxRateLimitWaits: 5,
};

export interface PlatformChannelDeps {
  db: Db;
  clock: () => Date;
  log: Logger;
  options?: Partial<PlatformChannelOptions>;
}

/** A Channel, with the adapter's webhook routes when it has them (mounted at /channels/<type>). */
export type PlatformChannel = Channel & { readonly http?: Hono };

export function createPlatformChannel(
  type: string,
  adapter: PlatformAdapter,
  deps: PlatformChannelDeps,
): PlatformChannel {
  const { db, clock } = deps;
  const options = { ...DEFAULT_PLATFORM_CHANNEL_OPTIONS, ...deps.options };
  const log = deps.log.child({ channel: type });
  const health: ChannelHealth = {
    connected: false,
    lastInboundAt: null,
    lastOutboundAt: null,
    lastError: null,
  };
  const queue = createChatQueue({ minIntervalMs: adapter.limits.minIntervalMs });
  const recent = createRecentEvents();
  const typing = createTyping({
    refreshMs: adapter.limits.typingRefreshMs ?? 5_000,
    timeoutMs: options.typingTimeoutMs,
    show: (chatId, threadId) => adapter.typing?.(chatId, threadId) ?? Promise.resolve(),
    onError: (chatId, err) => log.debug({ chatId, error: errorText(err) }, 'typing indicator stopped'),
  });
  const deliver = createPlatformSend({ type, adapter, db, clock, log, ...options });
  let sink: InboundSink | undefined;
  const events: PlatformEvents = {
    message: (message, eventId) => receive(message, eventId),
    alive: () => watchdog.alive(),
    failed: (err) => watchdog.failed(err),
  };
  const watchdog = createWatchdog({
    // A webhook-only platform may stay silent for days: only its own failed() marks it unhealthy.
    staleAfterMs: adapter.quietIsHealthy ? Infinity : options.staleAfterMs,
    checkEveryMs: options.checkEveryMs,
    backoff: options.restartBackoff,
    restart: async () => {
      log.warn({ error: health.lastError }, 'restarting the channel');
      await adapter.stop().catch((err: unknown) => log.warn({ error: errorText(err) }, 'stop failed'));
      await adapter.start(events);
    },
    onChange: (state) => {
      health.connected = state.healthy;
      health.lastError = state.lastError;
      if (state.healthy) log.info({ restarts: state.restarts }, 'channel healthy');
      else log.warn({ error: state.lastError }, 'channel unhealthy');
    },
  });

  async function receive(message: InboundMessage, eventId?: string): Promise<void> {
    if (eventId !== undefined && recent.has(eventId)) return;
    watchdog.alive();
    const resolved = message.action ? withOptionValue(message) : message;
    if (!resolved) return;
    if (!sink) throw new Error(`the ${type} channel is not connected`);
    await sink(resolved);
    health.lastInboundAt = clock().toISOString();
    if (eventId !== undefined) recent.add(eventId);
  }

  /** A press carries a button token: the option's value replaces it; a token nobody issued is dropped. */
  function withOptionValue(message: InboundMessage): InboundMessage | undefined {
    const value = buttonValue(db, message.action!.value);
    if (value === undefined) {
      log.warn({ chatId: message.chat.id }, 'button press with an unknown token dropped');
      return undefined;
    }
    return { ...message, text: value, action: { ...message.action, value } };
  }

  return {
    type,
    capabilities: adapter.capabilities,
    ...(adapter.limits.maxButtons !== undefined ? { maxButtons: adapter.limits.maxButtons } : {}),
    /** Never fails the host's start: a platform that does not answer yet is retried by the watchdog. */
    async connect(onMessage) {
      sink = onMessage;
      watchdog.start();
      try {
        await adapter.start(events);
        watchdog.alive();
      } catch (err) {
        watchdog.failed(err);
      }
    },
    async disconnect() {
      watchdog.stop();
      typing.stopAll();
      health.connected = false;
      await adapter.stop();
    },
    async send(message) {
      typing.stop(message.chatId);
      const result = await queue.run(message.chatId, () => deliver(message));
      health.lastOutboundAt = clock().toISOString();
      return result;
    },
    health: () => ({ ...health }),
    ...(adapter.http ? { http: adapter.http } : {}),
    ...(adapter.typing
      ? { startTyping: (chatId: string, threadId: string | null) => typing.start(chatId, threadId) }
      : {}),
  };
}
