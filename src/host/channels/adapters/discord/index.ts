// The Discord adapter (issue 12): the gateway for what arrives (gateway.ts, connection.ts, inbound.ts),
// REST for what Warren posts (rest.ts, send.ts), pure normalization of hostile dispatches
// (normalize.ts), bounded CDN downloads (files.ts) and the mapping of Discord's errors (errors.ts).
// Splitting, queues, 429 waits, idempotency, typing renewal, dedup and the watchdog belong to the
// shared machinery (../../platform-channel.ts).
import { Routes } from 'discord.js';
import { z } from 'zod';
import { Capability, ChannelSendError } from '../../channel.ts';
import { CHAT_PLATFORM_CAPABILITIES, type AdapterOptions, type PlatformAdapter } from '../../platform.ts';
import { createConnection } from './connection.ts';
import { createDiscordRest } from './rest.ts';
import { createSender } from './send.ts';

export const discordSettingsSchema = z.object({
  /** Origin attachments are fetched from; any other URL in an event is never fetched. */
  cdnUrl: z.url().default('https://cdn.discordapp.com'),
  /** Longest a REST call (or an attachment download) may take before it fails as `transient`. */
  requestTimeoutMs: z.number().int().min(1000).max(120_000).default(15_000),
  /** Longest start() waits for the gateway to be ready (or resumed). */
  connectTimeoutMs: z.number().int().min(1000).max(300_000).default(30_000),
});
export type DiscordSettings = z.infer<typeof discordSettingsSchema>;

const DEFAULT_API = 'https://discord.com/api';
const botUserSchema = z.object({ id: z.string().regex(/^\d{1,20}$/), username: z.string().max(100) });

export function createDiscordAdapter(options: AdapterOptions): PlatformAdapter {
  const settings = discordSettingsSchema.parse(options.settings);
  const token = options.secret('botToken');
  const discord = createDiscordRest({
    api: options.apiBaseUrl ?? DEFAULT_API,
    token,
    timeoutMs: settings.requestTimeoutMs,
  });
  const sender = createSender(discord.rest, discord.call);
  /** Message id → the channel it lives in (a thread's id): reactions are addressed by chat only. */
  const homes = new BoundedMap<string, string>(5_000);
  let botUserId: string | null = null;

  async function whoAmI(): Promise<z.infer<typeof botUserSchema>> {
    const me = await discord.call('users/@me', (signal) => discord.rest.get(Routes.user('@me'), { signal }));
    const parsed = botUserSchema.safeParse(me);
    if (!parsed.success) throw new ChannelSendError('unknown', 'users/@me answered without a bot user');
    botUserId = parsed.data.id;
    return parsed.data;
  }

  const connection = createConnection({
    options,
    token,
    discord,
    cdnOrigin: new URL(settings.cdnUrl).origin,
    requestTimeoutMs: settings.requestTimeoutMs,
    connectTimeoutMs: settings.connectTimeoutMs,
    botUserId: async () => botUserId ?? (await whoAmI()).id,
    remember: (messageId, channelId) => homes.set(messageId, channelId),
  });

  return {
    platform: 'discord',
    capabilities: CHAT_PLATFORM_CAPABILITIES | Capability.Typing,
    limits: { maxText: 2000, minIntervalMs: 250, typingRefreshMs: 8000 },
    start: connection.start,
    stop: connection.stop,
    async post(piece) {
      const posted = await sender.post(piece);
      homes.set(posted.platformMessageId, piece.threadId ?? piece.chatId);
      return posted;
    },
    edit: (chatId, threadId, messageId, text) => sender.edit(threadId ?? chatId, messageId, text),
    react: (chatId, messageId, emoji) => sender.react(homes.get(messageId) ?? chatId, messageId, emoji),
    typing: (chatId, threadId) => sender.typing(threadId ?? chatId),
    probe: async () => ({ botName: (await whoAmI()).username }),
  };
}

/** A Map that forgets its oldest entries past `max`. */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(key: K, value: V): this {
    this.delete(key);
    super.set(key, value);
    if (this.size > this.max) this.delete(this.keys().next().value as K);
    return this;
  }
}
