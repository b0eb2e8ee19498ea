// What arrives on the gateway: messages and button presses become InboundMessages (in arrival order,
// one at a time), thread → parent channel facts are learnt from GUILD_CREATE and THREAD_* dispatches
// (or asked of REST once for a thread the adapter has not seen), everything else is ignored.
import { Routes, type REST } from 'discord.js';
import { z } from 'zod';
import type { Logger } from '../../../logger.ts';
import type { PlatformEvents } from '../../platform.ts';
import { describe } from './errors.ts';
import { downloadAttachments } from './files.ts';
import type { RawDispatch } from './gateway.ts';
import {
  THREAD_TYPES,
  interactionSchema,
  interactionThreadParent,
  messageSchema,
  normalizeButtonPress,
  normalizeMessage,
  type DiscordInteraction,
  type DiscordMessage,
} from './normalize.ts';
import type { RestCall } from './send.ts';

export interface InboundDeps {
  installation: string;
  botUserId: string;
  cdnOrigin: string;
  maxInboundFileBytes: number;
  downloadTimeoutMs: number;
  clock: () => Date;
  log: Logger;
  events: PlatformEvents;
  call: RestCall;
  rest: REST;
  remember(messageId: string, channelId: string): void;
  /** Answers a button press (DEFERRED_UPDATE_MESSAGE): Discord wants it within 3 s. */
  acknowledge(interactionId: string, interactionToken: string): Promise<void>;
}

const channelSchema = z.object({
  id: z.string().regex(/^\d{1,20}$/),
  type: z.number().int(),
  parent_id: z
    .string()
    .regex(/^\d{1,20}$/)
    .nullish(),
});
const guildSchema = z.object({ threads: z.array(z.unknown()).max(100_000).default([]) });
const threadListSchema = z.object({ threads: z.array(z.unknown()).max(100_000).default([]) });

/** Channels remembered as "thread of X" or "not a thread"; the oldest are forgotten past this. */
const MAX_KNOWN_CHANNELS = 20_000;

export function createInbound(deps: InboundDeps) {
  const { log } = deps;
  /** channel id → its parent when it is a thread, null when it is not. */
  const parents = new Map<string, string | null>();
  const closer = new AbortController();
  let queue: Promise<void> = Promise.resolve();

  function dispatch(event: RawDispatch): void {
    deps.events.alive();
    switch (event.t) {
      case 'GUILD_CREATE':
        return learnThreads(parents, guildSchema.safeParse(event.d).data?.threads ?? []);
      case 'THREAD_LIST_SYNC':
        return learnThreads(parents, threadListSchema.safeParse(event.d).data?.threads ?? []);
      case 'THREAD_CREATE':
      case 'THREAD_UPDATE':
      case 'CHANNEL_CREATE':
        return learnThreads(parents, [event.d]);
      case 'INTERACTION_CREATE':
        return press(event);
      case 'MESSAGE_CREATE':
        return enqueue(event, () => handle(event));
      default:
        return;
    }
  }

  /** In order, one at a time: a slow download delays later events instead of reordering them. */
  function enqueue(event: RawDispatch, work: () => Promise<void>): void {
    queue = queue
      .then(() => (closer.signal.aborted ? undefined : work()))
      .catch((err: unknown) => skip(event, 'failed', err));
  }

  async function handle(event: RawDispatch): Promise<void> {
    const parsed = messageSchema.safeParse(event.d);
    if (!parsed.success) return skip(event, 'malformed', parsed.error);
    await handleMessage(parsed.data, eventIdOf(event));
  }

  /**
   * A button press is acknowledged the moment it arrives (Discord shows "interaction failed" after 3 s
   * without an answer, however long the queue is), then handled in order with the messages.
   */
  function press(event: RawDispatch): void {
    const parsed = interactionSchema.safeParse(event.d);
    if (!parsed.success) return ignoreUnlessButton(event, parsed.error);
    const interaction = parsed.data;
    void deps
      .acknowledge(interaction.id, interaction.token)
      .catch((err: unknown) => log.warn({ error: describe(err) }, 'discord button press not acknowledged'));
    enqueue(event, () => handlePress(interaction, eventIdOf(event)));
  }

  async function handleMessage(message: DiscordMessage, eventId: string): Promise<void> {
    if (message.author.id === deps.botUserId) return;
    const threadParent = message.guild_id ? await parentOf(message.channel_id) : null;
    const normalized = normalizeMessage(message, { ...deps, threadParent });
    if (!normalized) return;
    deps.remember(message.id, message.channel_id);
    const files = await downloadAttachments(message.attachments, {
      cdnOrigin: deps.cdnOrigin,
      maxBytes: deps.maxInboundFileBytes,
      timeoutMs: deps.downloadTimeoutMs,
      signal: closer.signal,
    });
    const text = [normalized.text, ...files.notes].filter((line) => line !== '').join('\n');
    await deps.events.message({ ...normalized, text, attachments: files.attachments }, eventId);
  }

  async function handlePress(interaction: DiscordInteraction, eventId: string): Promise<void> {
    const normalized = normalizeButtonPress(interaction, {
      ...deps,
      threadParent: interactionThreadParent(interaction),
    });
    if (!normalized) return log.warn({ eventId }, 'discord button press without a presser skipped');
    await deps.events.message(normalized, eventId);
  }

  /** The thread's parent channel, or null for a channel that is not a thread. */
  async function parentOf(channelId: string): Promise<string | null> {
    const known = parents.get(channelId);
    if (known !== undefined) return known;
    try {
      const channel = await deps.call('channel lookup', (signal) =>
        deps.rest.get(Routes.channel(channelId), { signal }),
      );
      learnThreads(parents, [channel]);
    } catch (err) {
      log.warn({ channelId, error: describe(err) }, 'discord channel lookup failed; taken as not a thread');
      return null;
    }
    return parents.get(channelId) ?? null;
  }

  function ignoreUnlessButton(event: RawDispatch, error: z.ZodError): void {
    // Slash commands and other interaction kinds are not Warren's; only a malformed button press is news.
    const type = (event.d as { type?: unknown } | null)?.type;
    if (type === 3) skip(event, 'malformed', error);
  }

  function skip(event: RawDispatch, why: 'malformed' | 'failed', err: unknown): void {
    const detail = err instanceof z.ZodError ? z.prettifyError(err).slice(0, 500) : describe(err);
    log.warn({ event: event.t, seq: event.s, detail }, `discord ${event.t} ${why}; skipped`);
  }

  return {
    dispatch,
    close: () => closer.abort(),
  };
}

/**
 * The delivery id for the machinery's cheap dedup: a resume replays the same session and sequence,
 * but a new session (after an invalid one) numbers from 1 again, so the sequence alone would drop
 * new messages as repeats of old ones.
 */
function eventIdOf(event: RawDispatch): string {
  return `${event.session}:${event.s}`;
}

/** Remembers which channels are threads and their parents (bounded: oldest first out). */
function learnThreads(parents: Map<string, string | null>, channels: unknown[]): void {
  for (const raw of channels) {
    const channel = channelSchema.safeParse(raw);
    if (!channel.success) continue;
    const { id, type, parent_id } = channel.data;
    parents.delete(id);
    parents.set(id, THREAD_TYPES.includes(type) ? (parent_id ?? null) : null);
    if (parents.size > MAX_KNOWN_CHANNELS) parents.delete(parents.keys().next().value as string);
  }
}
