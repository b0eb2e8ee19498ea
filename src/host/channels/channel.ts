// The Channel contract (DESIGN §5): what every platform adapter implements and the host relies on.
import type { DeliveryErrorCode } from '../../db/enums.ts';

/**
 * What a channel can render beyond plain text. The host degrades the rest (a card becomes numbered
 * text, an edit a new message, a reply in a thread a reply in the chat); files it cannot carry fail.
 */
export const Capability = {
  RichCard: 1 << 1,
  Buttons: 1 << 2,
  Threads: 1 << 3,
  Edit: 1 << 4,
  Reactions: 1 << 5,
  Files: 1 << 6,
  Typing: 1 << 7,
  DirectMessages: 1 << 8,
} as const;
export type CapabilityName = keyof typeof Capability;

export const hasCapability = (capabilities: number, name: CapabilityName): boolean =>
  (capabilities & Capability[name]) !== 0;

export interface InboundAttachment {
  name: string;
  type: string;
  size: number;
  /** Bytes as received; the host stores them under the session's in/inbox/. */
  data: Buffer;
}

/** A platform event, normalized by the adapter. Only the adapter reads `raw`. */
export interface InboundMessage {
  channelType: string;
  /** Which configured bot/account received it ('' when the channel has a single one). */
  installation: string;
  /** The platform's id for this message: the dedup key, with channelType and installation. */
  platformMessageId: string;
  chat: { id: string; name?: string; isGroup: boolean };
  sender: {
    id: string;
    name?: string;
    isBot?: boolean;
    /**
     * The Warren user the channel authenticated this sender as (web chat sign-in, an API token): the
     * host takes the sender to be this user. Only a channel that verified it may set it.
     */
    userId?: string;
    /**
     * An anonymous visitor (web chat without sign-in): `id` is a handle inside the chat, anyone may
     * claim it. The host never lets it hold a role, decide an approval or link accounts.
     */
    anonymous?: boolean;
  };
  threadId: string | null;
  text: string;
  attachments: InboundAttachment[];
  replyTo?: { platformMessageId: string; text: string; sender: string };
  /** The adapter's verdict: was this addressed to the bot (mention, DM, reply to the bot)? */
  mentioned: boolean;
  timestamp: string;
  /**
   * A click on a card option (channels with Buttons): the option's value, and the card's platform
   * message id when known. `text` carries the value too, so a click the host does not claim (an
   * agent's own card) reaches the agent as if the value had been typed.
   */
  action?: { value: string; platformMessageId?: string };
  raw?: unknown;
}

/** Resolves once the message is durable in Warren (routed or recorded as dropped); throws otherwise. */
export type InboundSink = (message: InboundMessage) => Promise<void>;

export interface CardOption {
  label: string;
  value: string;
}
export interface Card {
  title: string;
  body: string;
  options: CardOption[];
}

interface OutboundBase {
  /** Stable per outbound row: a channel that can, uses it to make a repeated send a no-op. */
  idempotencyKey: string;
  chatId: string;
  threadId: string | null;
}
export type OutboundMessage =
  | (OutboundBase & {
      kind: 'send';
      text: string;
      /** Platform message id of the inbound message this answers, when there is one. */
      inReplyTo: string | null;
      files: { name: string; path: string }[];
      card?: Card;
    })
  | (OutboundBase & { kind: 'edit'; targetPlatformMessageId: string; text: string })
  | (OutboundBase & { kind: 'react'; targetPlatformMessageId: string; emoji: string });

export interface SendResult {
  platformMessageId: string | null;
}

/** A send that failed, classified with the closed taxonomy of delivery_attempts.error_code. */
export class ChannelSendError extends Error {
  override name = 'ChannelSendError';
  constructor(
    readonly code: DeliveryErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface ChannelHealth {
  connected: boolean;
  lastInboundAt: string | null;
  lastOutboundAt: string | null;
  lastError: string | null;
}

export interface Channel {
  readonly type: string;
  readonly capabilities: number;
  /** Most buttons one card may show (WhatsApp: 3); a card with more is sent as numbered text. */
  readonly maxButtons?: number;
  connect(sink: InboundSink): Promise<void>;
  disconnect(): Promise<void>;
  send(message: OutboundMessage): Promise<SendResult>;
  health(): ChannelHealth;
  /**
   * Shows that an agent is working on a reply in this chat (channels with Typing). It stops by itself:
   * on the next send to the chat, on a failure, or after a timeout.
   */
  startTyping?(chatId: string, threadId: string | null): void;
}
