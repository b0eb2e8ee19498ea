// The JSON API people and scripts post to: POST /api/messages (a message, with files as base64) and
// POST /api/actions (a click on a card option). Each post is validated, limited (limits.ts, and the
// attachment caps the router applies too) and handed to the host as an inbound message; who posts
// comes from auth.ts, never from the body.
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { z } from 'zod';
import type { Logger } from '../../../logger.ts';
import { type AttachmentLimits } from '../../../sessions/index.ts';
import type { ChannelHealth, InboundMessage, InboundSink } from '../../channel.ts';
import { errorText } from '../../../../shared/error-text.ts';
import type { Poster } from './auth.ts';
import { createRateLimiter, type WebchatLimits } from './limits.ts';
import { limitRequestBody } from '../../../body-limit.ts';

export const ID_PATTERN = /^[A-Za-z0-9._:@-]{1,200}$/;
export const ID_RULE = 'must be 1–200 characters of A-Z a-z 0-9 . _ : @ -';
const MAX_TEXT_BYTES = 64 * 1024;
/** Room for JSON escaping around a text of the maximum size. */
const MAX_BODY_BYTES = 256 * 1024;
/** Files one post may carry. */
export const MAX_POSTED_FILES = 10;
/** A file's name and type, with JSON around them. */
const FILE_OVERHEAD_BYTES = 2048;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A message's body: its text, plus its files base64-encoded (4 bytes for every 3) up to the message cap. */
export function messageBodyLimit(attachments: AttachmentLimits): number {
  return (
    MAX_BODY_BYTES + Math.ceil(attachments.maxMessageBytes / 3) * 4 + MAX_POSTED_FILES * FILE_OVERHEAD_BYTES
  );
}

const Id = z.string().regex(ID_PATTERN, ID_RULE);
const Sender = z.strictObject({
  id: Id,
  name: z.string().trim().min(1, 'must not be blank').max(200).optional(),
});
const PostedFile = z.strictObject({
  name: z.string().min(1).max(1000),
  type: z.string().max(255).optional(),
  data: z.string().refine((data) => data.length % 4 === 0 && BASE64.test(data), 'must be base64'),
});
const PostedMessage = z
  .strictObject({
    chat: Id,
    sender: Sender,
    text: z
      .string()
      .refine((text) => Buffer.byteLength(text) <= MAX_TEXT_BYTES, 'must be at most 64 KiB')
      .default(''),
    files: z.array(PostedFile).max(MAX_POSTED_FILES).optional(),
    id: Id.optional(),
    thread: Id.optional(),
    mentioned: z.boolean().optional(),
  })
  .refine((m) => m.text.length > 0 || (m.files?.length ?? 0) > 0, {
    message: 'must not be empty (or send files)',
    path: ['text'],
  });
type PostedMessage = z.infer<typeof PostedMessage>;
/** A click on a card option: the option's value, and the event id of the card's message. */
const PostedAction = z.strictObject({
  chat: Id,
  sender: Sender,
  value: z.string().min(1).max(1000),
  messageId: z.string().min(1).max(500).optional(),
  id: Id.optional(),
  thread: Id.optional(),
});
type PostedAction = z.infer<typeof PostedAction>;

export interface ApiOptions {
  type: string;
  clock: () => Date;
  log: Logger;
  limits: WebchatLimits;
  /** The caps on a message's files; a post over them is refused with 413. */
  attachments: AttachmentLimits;
  /** Where inbound messages go; null while the channel is not connected. */
  sink: () => InboundSink | null;
  /** Updated with the last inbound time and error. */
  health: ChannelHealth;
  identify: (c: Context) => Poster | Response;
}

export function apiRoutes(options: ApiOptions): Hono {
  const { type, clock } = options;
  const rateLimit = createPostLimit(options.limits, clock);
  const routes = new Hono();
  const limitMessage = limitBodyTo(messageBodyLimit(options.attachments));
  routes.post('/api/messages', limitMessage, (c) =>
    receive(c, (body) => withinCaps(parseBody(PostedMessage, body), options.attachments), toInbound),
  );
  routes.post('/api/actions', limitBodyTo(MAX_BODY_BYTES), (c) =>
    receive(c, (body) => parseBody(PostedAction, body), actionToInbound),
  );
  return routes;

  async function receive<T>(
    c: Context,
    parse: (body: string) => Parsed<T>,
    build: (posted: T, poster: Poster) => InboundMessage,
  ): Promise<Response> {
    const sink = options.sink();
    if (!sink) return c.json({ error: `the ${type} channel is not connected; try again shortly` }, 503);
    const poster = options.identify(c);
    if (poster instanceof Response) return poster;
    // Requiring JSON also makes a cross-site form post impossible: browsers preflight this type.
    if (!c.req.header('content-type')?.startsWith('application/json')) {
      return c.json({ error: 'content-type must be application/json' }, 415);
    }
    const parsed = parse(await c.req.text());
    if ('error' in parsed) return c.json({ error: parsed.error }, parsed.status ?? 400);
    const message = build(parsed.posted, poster);
    return rateLimit(c, message) ?? hand(c, sink, message);
  }

  async function hand(c: Context, sink: InboundSink, message: InboundMessage): Promise<Response> {
    options.health.lastInboundAt = message.timestamp;
    try {
      await sink(message);
    } catch (err) {
      options.health.lastError = `inbound ${message.platformMessageId}: ${errorText(err)}`;
      options.log.error(
        { err, channel: type, id: message.platformMessageId, chat: message.chat.id },
        'the host did not accept an inbound message',
      );
      return c.json(
        { error: `message ${message.platformMessageId} was not accepted; retry with the same id` },
        500,
      );
    }
    return c.json({ id: message.platformMessageId }, 202);
  }

  function toInbound(posted: PostedMessage, poster: Poster): InboundMessage {
    return {
      channelType: type,
      installation: '',
      platformMessageId: posted.id ?? randomUUID(),
      chat: { id: posted.chat, isGroup: false },
      sender: senderOf(posted, poster),
      threadId: posted.thread ?? null,
      text: posted.text,
      attachments: (posted.files ?? []).map((file) => {
        const data = Buffer.from(file.data, 'base64');
        return { name: file.name, type: file.type ?? '', size: data.length, data };
      }),
      // A web chat is a direct conversation with the bot.
      mentioned: posted.mentioned ?? true,
      timestamp: clock().toISOString(),
    };
  }

  /** A click travels as a message whose text is the option's value (the host decides what it means). */
  function actionToInbound(posted: PostedAction, poster: Poster): InboundMessage {
    const { chat, sender, value, id, thread } = posted;
    return {
      ...toInbound({ chat, sender, text: value, id, thread }, poster),
      action: { value, ...(posted.messageId ? { platformMessageId: posted.messageId } : {}) },
    };
  }
}

/** 429 with retry-after when the sender or the chat posted too much in the last minute. */
function createPostLimit(limits: WebchatLimits, clock: () => Date) {
  const perSender = createRateLimiter(limits.postsPerMinutePerSender, clock);
  const perChat = createRateLimiter(limits.postsPerMinutePerChat, clock);
  return (c: Context, message: InboundMessage): Response | undefined => {
    const waitMs = Math.max(perSender.take(message.sender.id), perChat.take(message.chat.id));
    if (waitMs === 0) return undefined;
    const seconds = Math.ceil(waitMs / 1000);
    return c.json(
      {
        error: `too many messages (at most ${limits.postsPerMinutePerSender} a minute per sender and ${limits.postsPerMinutePerChat} per chat); retry in ${seconds} s`,
      },
      429,
      { 'retry-after': String(seconds) },
    );
  };
}

/**
 * Who the host takes the sender to be. A '/' cannot appear in a posted id, so an anonymous
 * visitor's account (`anon/<chat>/<handle>`) can never equal a signed-in user's or another chat's.
 */
function senderOf(posted: Pick<PostedMessage, 'chat' | 'sender'>, poster: Poster): InboundMessage['sender'] {
  const name = posted.sender.name;
  switch (poster.kind) {
    case 'operator':
      return { ...posted.sender };
    case 'user':
      return { id: `user/${poster.userId}`, userId: poster.userId, ...(name ? { name } : {}) };
    case 'anonymous': {
      const handle = poster.browser ? `browser-${poster.browser}` : posted.sender.id;
      return { id: `anon/${posted.chat}/${handle}`, name: name ?? posted.sender.id, anonymous: true };
    }
  }
}

type Parsed<T> = { posted: T } | { error: string; status?: 400 | 413 };

function parseBody<T>(schema: z.ZodType<T, unknown>, body: string): Parsed<T> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { error: 'body is not valid JSON' };
  }
  const result = schema.safeParse(json);
  if (result.success) return { posted: result.data };
  return { error: result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') };
}

/** 413 for a file over the per-file cap or files over the per-message cap, naming which. */
function withinCaps(parsed: Parsed<PostedMessage>, caps: AttachmentLimits): Parsed<PostedMessage> {
  if ('error' in parsed) return parsed;
  let total = 0;
  for (const [index, file] of (parsed.posted.files ?? []).entries()) {
    const size = Buffer.byteLength(file.data, 'base64');
    total += size;
    if (size > caps.maxFileBytes) {
      const error = `files.${index} (${file.name}) is ${size} bytes, more than the ${caps.maxFileBytes} bytes a file may have`;
      return { error, status: 413 };
    }
    if (total > caps.maxMessageBytes) {
      const error = `files: together more than the ${caps.maxMessageBytes} bytes one message's files may have`;
      return { error, status: 413 };
    }
  }
  return parsed;
}

function limitBodyTo(maxSize: number) {
  const limit =
    maxSize >= 1024 * 1024
      ? `${Math.floor(maxSize / (1024 * 1024))} MiB`
      : `${Math.floor(maxSize / 1024)} KiB`;
  return limitRequestBody(maxSize, (c) => c.json({ error: `body is larger than ${limit}` }, 413));
}
