// Pure: one Telegram update → Warren's InboundMessage (or a reason to skip it). Every field is hostile
// input, so only the fields read here are validated, each bounded; anything else in the update is ignored.
import { z } from 'zod';
import type { InboundMessage } from '../../channel.ts';

const id = z.number().int().safe();
const name = z.string().max(256);

const userSchema = z.object({
  id,
  is_bot: z.boolean(),
  first_name: name,
  last_name: name.optional(),
  username: z.string().max(64).optional(),
});

const chatSchema = z.object({
  id,
  type: z.enum(['private', 'group', 'supergroup', 'channel']),
  title: name.optional(),
  username: z.string().max(64).optional(),
  first_name: name.optional(),
  last_name: name.optional(),
});

const entitySchema = z.object({
  type: z.string().max(64),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  user: z.object({ id }).optional(),
});

const fileFields = {
  file_id: z.string().min(1).max(512),
  file_size: z.number().int().nonnegative().optional(),
};
const namedFileSchema = z.object({
  ...fileFields,
  file_name: z.string().max(512).optional(),
  mime_type: z.string().max(256).optional(),
});
const photoSizeSchema = z.object({ ...fileFields, file_unique_id: z.string().max(128) });

/** What a reply points at: only what the adapter shows of it. */
const repliedSchema = z.object({
  message_id: id,
  from: userSchema.optional(),
  text: z.string().max(65_536).optional(),
  caption: z.string().max(4_096).optional(),
  forum_topic_created: z.unknown().optional(),
});

const messageSchema = z.object({
  message_id: id,
  date: id,
  chat: chatSchema,
  from: userSchema.optional(),
  message_thread_id: id.optional(),
  is_topic_message: z.boolean().optional(),
  text: z.string().max(65_536).optional(),
  caption: z.string().max(4_096).optional(),
  entities: z.array(entitySchema).max(1_000).optional(),
  caption_entities: z.array(entitySchema).max(1_000).optional(),
  reply_to_message: repliedSchema.optional(),
  document: namedFileSchema.optional(),
  audio: namedFileSchema.optional(),
  video: namedFileSchema.optional(),
  voice: namedFileSchema.optional(),
  photo: z.array(photoSizeSchema).max(20).optional(),
});

const callbackSchema = z.object({
  id: z.string().min(1).max(128),
  from: userSchema,
  message: z
    .object({
      message_id: id,
      chat: chatSchema,
      message_thread_id: id.optional(),
      is_topic_message: z.boolean().optional(),
    })
    .optional(),
  data: z.string().max(64).optional(),
});

/** The kinds of update asked for (allowed_updates); Telegram sends no others. */
export const HANDLED_UPDATES = ['message', 'callback_query'] as const;

export const updateSchema = z.object({
  update_id: id,
  message: z.unknown().optional(),
  callback_query: z.unknown().optional(),
});

export type TelegramMessage = z.infer<typeof messageSchema>;
export type TelegramUser = z.infer<typeof userSchema>;

/** The bot itself, from getMe: who "mentioned" and "own message" are about. */
export interface BotIdentity {
  id: number;
  username: string;
}

/** A file the message carries, to be fetched with getFile (bytes are I/O, not normalization). */
export interface FileRef {
  fileId: string;
  name: string;
  type: string;
  /** What Telegram says; the download checks the real length again. */
  size: number | undefined;
}

export type Normalized =
  | { kind: 'message'; message: InboundMessage; files: FileRef[] }
  | { kind: 'press'; message: InboundMessage; callbackQueryId: string }
  | { kind: 'skip'; reason: string; callbackQueryId?: string };

export interface NormalizeContext {
  installation: string;
  bot: BotIdentity;
  /** A press carries no date of its own. */
  now: Date;
  /** Of a photo's sizes, the largest within this is taken. */
  maxFileBytes: number;
}

export function normalizeUpdate(update: unknown, context: NormalizeContext): Normalized {
  const parsed = updateSchema.safeParse(update);
  if (!parsed.success) return { kind: 'skip', reason: 'not an update' };
  if (parsed.data.message !== undefined) return normalizeMessage(parsed.data.message, context);
  if (parsed.data.callback_query !== undefined) return normalizePress(parsed.data.callback_query, context);
  return { kind: 'skip', reason: 'neither a message nor a button press' };
}

export function normalizeMessage(raw: unknown, context: NormalizeContext): Normalized {
  const parsed = messageSchema.safeParse(raw);
  if (!parsed.success) return { kind: 'skip', reason: `malformed message: ${describeIssue(parsed.error)}` };
  const message = parsed.data;
  const { bot } = context;
  if (message.chat.type === 'channel') return { kind: 'skip', reason: 'a channel post' };
  if (message.from === undefined) return { kind: 'skip', reason: 'no sender' };
  if (message.from.id === bot.id) return { kind: 'skip', reason: "the bot's own message" };

  const isGroup = message.chat.type !== 'private';
  const original = message.text ?? message.caption ?? '';
  const entities = (message.text !== undefined ? message.entities : message.caption_entities) ?? [];
  const mentions = botMentions(original, entities, bot);
  const threadId = topicOf(message);
  const replied = realReply(message, threadId);
  const repliesToBot = replied?.from?.id === bot.id;

  return {
    kind: 'message',
    message: {
      channelType: context.installation,
      installation: context.installation,
      platformMessageId: String(message.message_id),
      chat: { id: String(message.chat.id), name: chatName(message.chat), isGroup },
      sender: senderOf(message.from),
      threadId,
      text: stripRanges(original, mentions),
      attachments: [],
      ...(replied && {
        replyTo: {
          platformMessageId: String(replied.message_id),
          text: replied.text ?? replied.caption ?? '',
          sender: replied.from ? displayName(replied.from) : '',
        },
      }),
      mentioned: !isGroup || mentions.length > 0 || repliesToBot,
      timestamp: new Date(message.date * 1000).toISOString(),
    },
    files: filesOf(message, context.maxFileBytes),
  };
}

function normalizePress(raw: unknown, context: NormalizeContext): Normalized {
  const parsed = callbackSchema.safeParse(raw);
  if (!parsed.success) {
    const queryId = z.object({ id: z.string().min(1).max(128) }).safeParse(raw);
    return {
      kind: 'skip',
      reason: `malformed button press: ${describeIssue(parsed.error)}`,
      ...(queryId.success && { callbackQueryId: queryId.data.id }),
    };
  }
  const press = parsed.data;
  if (press.message === undefined || press.data === undefined) {
    return { kind: 'skip', reason: 'a button press without its card or token', callbackQueryId: press.id };
  }
  const card = press.message;
  return {
    kind: 'press',
    callbackQueryId: press.id,
    message: {
      channelType: context.installation,
      installation: context.installation,
      platformMessageId: press.id,
      chat: { id: String(card.chat.id), name: chatName(card.chat), isGroup: card.chat.type !== 'private' },
      sender: senderOf(press.from),
      threadId:
        card.is_topic_message && card.message_thread_id !== undefined ? String(card.message_thread_id) : null,
      text: press.data,
      attachments: [],
      mentioned: true,
      timestamp: context.now.toISOString(),
      action: { value: press.data, platformMessageId: String(card.message_id) },
    },
  };
}

/** A forum topic is a thread; other supergroups also set message_thread_id on replies, which are not. */
function topicOf(message: TelegramMessage): string | null {
  return message.is_topic_message && message.message_thread_id !== undefined
    ? String(message.message_thread_id)
    : null;
}

/** In a topic, every message "replies" to the topic's first message; that is not a reply. */
function realReply(message: TelegramMessage, threadId: string | null) {
  const replied = message.reply_to_message;
  if (replied === undefined) return undefined;
  if (replied.forum_topic_created !== undefined) return undefined;
  if (threadId !== null && String(replied.message_id) === threadId) return undefined;
  return replied;
}

type Entity = z.infer<typeof entitySchema>;

/** Entity ranges addressing this bot: @username, a text mention of it, /command@username's suffix. */
export function botMentions(
  text: string,
  entities: Entity[],
  bot: BotIdentity,
): { start: number; end: number }[] {
  const handle = `@${bot.username}`.toLowerCase();
  const ranges: { start: number; end: number }[] = [];
  for (const entity of entities) {
    const start = entity.offset;
    const end = entity.offset + entity.length;
    if (end > text.length) continue;
    const slice = text.slice(start, end).toLowerCase();
    if (entity.type === 'mention' && slice === handle) ranges.push({ start, end });
    else if (entity.type === 'text_mention' && entity.user?.id === bot.id) ranges.push({ start, end });
    else if (entity.type === 'bot_command' && slice.endsWith(handle)) {
      ranges.push({ start: end - handle.length, end });
    }
  }
  return ranges;
}

/** Removes the ranges (UTF-16 offsets, as Telegram counts them) and tidies the spaces left behind. */
export function stripRanges(text: string, ranges: { start: number; end: number }[]): string {
  if (ranges.length === 0) return text.trim();
  let out = '';
  let at = 0;
  for (const range of [...ranges].sort((a, b) => a.start - b.start)) {
    if (range.start < at) continue;
    out += text.slice(at, range.start);
    at = range.end;
  }
  out += text.slice(at);
  return out
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/^[ \t]*[,:][ \t]*/, '')
    .trim();
}

function filesOf(message: TelegramMessage, maxFileBytes: number): FileRef[] {
  const files: FileRef[] = [];
  const named = (
    file: z.infer<typeof namedFileSchema> | undefined,
    fallbackName: string,
    fallbackType: string,
  ): void => {
    if (file === undefined) return;
    files.push({
      fileId: file.file_id,
      name: file.file_name ?? fallbackName,
      type: file.mime_type ?? fallbackType,
      size: file.file_size,
    });
  };
  const n = message.message_id;
  named(message.document, `document-${n}`, 'application/octet-stream');
  named(message.audio, `audio-${n}.mp3`, 'audio/mpeg');
  named(message.video, `video-${n}.mp4`, 'video/mp4');
  named(message.voice, `voice-${n}.ogg`, 'audio/ogg');
  // Telegram sends each photo in several sizes, smallest first: take the largest that fits.
  const sizes = message.photo ?? [];
  const photo = sizes.findLast((size) => (size.file_size ?? 0) <= maxFileBytes) ?? sizes.at(-1);
  if (photo !== undefined) {
    files.push({ fileId: photo.file_id, name: `photo-${n}.jpg`, type: 'image/jpeg', size: photo.file_size });
  }
  return files;
}

function senderOf(user: TelegramUser): InboundMessage['sender'] {
  return { id: String(user.id), name: displayName(user), isBot: user.is_bot };
}

function displayName(user: TelegramUser): string {
  return [user.first_name, user.last_name].filter(Boolean).join(' ') || (user.username ?? String(user.id));
}

function chatName(chat: z.infer<typeof chatSchema>): string | undefined {
  return chat.title ?? ([chat.first_name, chat.last_name].filter(Boolean).join(' ') || chat.username);
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
}
