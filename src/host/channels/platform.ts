// What one chat platform's library gives the shared channel machinery (platform-channel.ts). An
// adapter only speaks its platform: it normalizes what arrives and posts one piece at a time. Splitting,
// per-chat queues, 429 waits, idempotency, typing, dedup and the liveness watchdog are built once.
import type { Hono } from 'hono';
import type { Logger } from '../logger.ts';
import { Capability, type Card, type InboundMessage } from './channel.ts';

export const PLATFORMS = ['telegram', 'slack', 'discord', 'webhook', 'teams', 'whatsapp', 'email'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** What the chat platforms all have; an adapter adds Typing where the platform shows it. */
export const CHAT_PLATFORM_CAPABILITIES =
  Capability.RichCard |
  Capability.Buttons |
  Capability.Threads |
  Capability.Edit |
  Capability.Reactions |
  Capability.Files |
  Capability.DirectMessages;

export interface PlatformLimits {
  /** Longest text of one platform message, in characters (JS string length). */
  maxText: number;
  /** Shortest pause between two posts to the same chat (the platform's per-chat rate). */
  minIntervalMs: number;
  /** How often a typing indicator must be renewed to stay on; absent: the platform has none. */
  typingRefreshMs?: number;
  /** Most buttons one message may carry; a card with more options goes as numbered text. */
  maxButtons?: number;
}

/** One platform message: text within the limit, or one file; buttons only on the last piece. */
export interface OutboundPiece {
  chatId: string;
  threadId: string | null;
  /** Platform message id this piece answers (the first piece of a reply only). */
  replyTo: string | null;
  text: string;
  /**
   * Buttons to show under the text: each has a label and a token. The token (≤ 64 bytes, ASCII) comes
   * back in InboundMessage.action.value when pressed; the machinery maps it to the option's value.
   */
  buttons?: { label: string; token: string }[];
  /** The card's title and body, for adapters that render cards natively (Slack blocks). */
  card?: Card;
  file?: { name: string; path: string };
  /**
   * Stable for this piece of this delivery, 25 characters: a platform that deduplicates posts by a
   * client nonce (Discord's `enforce_nonce`) posts a retried piece once even when the first try's
   * answer was lost.
   */
  nonce?: string;
}

export interface PlatformEvents {
  /**
   * A normalized message or button press. `eventId` is the platform's delivery id (Telegram update_id,
   * Slack event_id, Discord gateway sequence) for cheap dedup; the durable dedup is on the message.
   * Resolves once the message is durable in Warren; a throw means the platform may redeliver it.
   */
  message(message: InboundMessage, eventId?: string): Promise<void>;
  /** Proof the link works: a poll returned, a heartbeat was acknowledged, an event arrived. */
  alive(): void;
  /** The link broke (a poll failed, the socket closed). The watchdog restarts the adapter. */
  failed(error: unknown): void;
}

export interface PlatformAdapter {
  readonly platform: Platform;
  /** Capability bits (channel.ts). */
  readonly capabilities: number;
  readonly limits: PlatformLimits;
  /** Starts receiving; resolves once connected. Called again after stop() by the watchdog. */
  start(events: PlatformEvents): Promise<void>;
  /** Stops receiving and releases sockets and timers; must not hang. */
  stop(): Promise<void>;
  /**
   * Posts one piece; returns its platform message id. Throws ChannelSendError: `rate_limited` with
   * `retryAfterMs` for a 429 (or Slack's 200 `ratelimited`), `transient` for 5xx/network errors.
   * Library-level retries are off: the machinery retries, knowing what was already posted.
   */
  post(piece: OutboundPiece): Promise<{ platformMessageId: string }>;
  edit?(chatId: string, threadId: string | null, platformMessageId: string, text: string): Promise<void>;
  react?(chatId: string, platformMessageId: string, emoji: string): Promise<void>;
  /** Shows "typing…" once (the machinery renews it every typingRefreshMs and stops renewing). */
  typing?(chatId: string, threadId: string | null): Promise<void>;
  /** Webhook modes: the routes the platform calls, mounted by the host at /channels/<installation>. */
  readonly http?: Hono;
  /**
   * The platform only calls in (webhooks) and nothing can be polled to prove the link: no event for days
   * is normal, so silence never makes the watchdog restart it; only failed() does.
   */
  readonly quietIsHealthy?: boolean;
  /** A live API call proving the credentials work (`warren channels test`): the bot's name. */
  probe(): Promise<{ botName: string }>;
}

/** Short strings by key, kept in the database for this channel alone (keys ≤ 512, values ≤ 64 KiB). */
export interface ChannelState {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

/** What an adapter is made from: one row of channel_installations with its credentials resolved. */
export interface AdapterOptions {
  /** The installation's id: the channel's type, InboundMessage.channelType and .installation. */
  installation: string;
  /** The platform's API base URL (a self-hosted Telegram Bot API server, another Slack cloud, a test). */
  apiBaseUrl?: string;
  /** Platform-specific settings from the installation row (the adapter validates them with zod). */
  settings: Record<string, unknown>;
  /** The credential stored under this role (botToken, appToken, signingSecret…); throws when missing. */
  secret(role: string): string;
  /** Largest inbound file the adapter downloads; bigger ones are skipped, named in the message text. */
  maxInboundFileBytes: number;
  /** What the adapter remembers across restarts (a mail cursor, conversation references), per channel. */
  state: ChannelState;
  log: Logger;
  clock: () => Date;
}
