// Pure: a gateway dispatch (hostile JSON) → the shape Warren routes. Every field is checked with zod and
// bounded; an event that does not parse is skipped by the caller with a log line, never half-used.
import { z } from 'zod';
import type { InboundMessage } from '../../channel.ts';

const snowflake = z.string().regex(/^\d{1,20}$/);
const user = z.object({
  id: snowflake,
  username: z.string().max(100),
  global_name: z.string().max(100).nullish(),
  bot: z.boolean().optional(),
});

/** Message types a person writes: DEFAULT and REPLY. Joins, pins, thread-created notices are skipped. */
const PERSON_MESSAGE_TYPES = [0, 19];

export const attachmentSchema = z.object({
  id: snowflake,
  filename: z.string().min(1).max(1024),
  size: z.number().int().nonnegative(),
  url: z.string().max(4096),
  content_type: z.string().max(255).optional(),
});
export type DiscordAttachment = z.infer<typeof attachmentSchema>;

export const messageSchema = z.object({
  id: snowflake,
  type: z.number().int(),
  channel_id: snowflake,
  guild_id: snowflake.optional(),
  author: user,
  member: z.object({ nick: z.string().max(100).nullish() }).nullish(),
  content: z.string().max(8000),
  timestamp: z.string().max(64),
  mentions: z
    .array(z.object({ id: snowflake }))
    .max(1000)
    .default([]),
  attachments: z.array(attachmentSchema).max(50).default([]),
  referenced_message: z.object({ id: snowflake, content: z.string().max(8000), author: user }).nullish(),
  webhook_id: snowflake.optional(),
});
export type DiscordMessage = z.infer<typeof messageSchema>;

export const interactionSchema = z.object({
  id: snowflake,
  type: z.literal(3), // MESSAGE_COMPONENT
  token: z.string().min(1).max(1000),
  data: z.object({ custom_id: z.string().min(1).max(100), component_type: z.literal(2) }),
  channel_id: snowflake,
  channel: z.object({ id: snowflake, type: z.number().int(), parent_id: snowflake.nullish() }).optional(),
  guild_id: snowflake.optional(),
  member: z.object({ nick: z.string().max(100).nullish(), user }).optional(),
  user: user.optional(),
  message: z.object({ id: snowflake }),
});
export type DiscordInteraction = z.infer<typeof interactionSchema>;

/** Thread channel types: announcement, public and private threads. */
export const THREAD_TYPES = [10, 11, 12];

export interface NormalizeContext {
  installation: string;
  botUserId: string;
  /** The channel the message came from, when it is a thread: its parent channel. */
  threadParent: string | null;
  clock: () => Date;
}

/** A person's message, or null when Warren ignores it (the bot's own, a system notice). */
export function normalizeMessage(
  message: DiscordMessage,
  context: NormalizeContext,
): Omit<InboundMessage, 'attachments'> | null {
  if (message.author.id === context.botUserId) return null;
  if (!PERSON_MESSAGE_TYPES.includes(message.type)) return null;
  const isGroup = message.guild_id !== undefined;
  const mentionPattern = new RegExp(`<@!?${context.botUserId}>`, 'g');
  const mentionedByName =
    message.mentions.some((m) => m.id === context.botUserId) || mentionPattern.test(message.content);
  const repliesToBot = message.referenced_message?.author.id === context.botUserId;
  const reference = message.referenced_message;
  return {
    channelType: context.installation,
    installation: context.installation,
    platformMessageId: message.id,
    chat: chatOf(message.channel_id, context.threadParent, isGroup),
    sender: {
      id: message.author.id,
      name: displayName(message.author, message.member?.nick),
      isBot: message.author.bot === true || message.webhook_id !== undefined,
    },
    threadId: context.threadParent ? message.channel_id : null,
    text: message.content
      .replace(mentionPattern, ' ')
      .replace(/\s{2,}/g, ' ')
      .trim(),
    ...(reference
      ? {
          replyTo: {
            platformMessageId: reference.id,
            text: reference.content,
            sender: displayName(reference.author, null),
          },
        }
      : {}),
    mentioned: !isGroup || mentionedByName || repliesToBot,
    timestamp: isoOr(message.timestamp, context.clock),
  };
}

/** A button press on one of the bot's cards: the token comes back as the action's value. */
export function normalizeButtonPress(
  interaction: DiscordInteraction,
  context: Omit<NormalizeContext, 'botUserId'>,
): InboundMessage | null {
  const presser = interaction.member?.user ?? interaction.user;
  if (!presser) return null;
  const token = interaction.data.custom_id;
  const isGroup = interaction.guild_id !== undefined;
  return {
    channelType: context.installation,
    installation: context.installation,
    platformMessageId: interaction.id,
    chat: chatOf(interaction.channel_id, context.threadParent, isGroup),
    sender: {
      id: presser.id,
      name: displayName(presser, interaction.member?.nick),
      isBot: presser.bot === true,
    },
    threadId: context.threadParent ? interaction.channel_id : null,
    text: token,
    attachments: [],
    mentioned: true,
    timestamp: context.clock().toISOString(),
    action: { value: token, platformMessageId: interaction.message.id },
  };
}

/** The interaction's own channel object says whether it is a thread; no lookup needed. */
export function interactionThreadParent(interaction: DiscordInteraction): string | null {
  const channel = interaction.channel;
  if (!channel || !THREAD_TYPES.includes(channel.type)) return null;
  return channel.parent_id ?? null;
}

function chatOf(channelId: string, threadParent: string | null, isGroup: boolean): InboundMessage['chat'] {
  return { id: threadParent ?? channelId, isGroup };
}

function displayName(author: z.infer<typeof user>, nick: string | null | undefined): string {
  return nick || author.global_name || author.username;
}

function isoOr(timestamp: string, clock: () => Date): string {
  const time = Date.parse(timestamp);
  return Number.isNaN(time) ? clock().toISOString() : new Date(time).toISOString();
}
