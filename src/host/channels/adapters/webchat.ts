// The built-in web chat channel (DESIGN §5): a JSON API to post messages, a server-sent-event stream
// of replies per chat, the files those replies carry, and a chat page. The `cli` channel is this
// transport under another type (cli.ts).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, createReadStream, mkdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { Logger } from '../../logger.ts';
import { Capability, ChannelSendError } from '../channel.ts';
import type {
  Channel,
  ChannelHealth,
  InboundMessage,
  InboundSink,
  OutboundMessage,
  SendResult,
} from '../channel.ts';
import {
  BROWSER_COOKIE,
  browserCookieHeader,
  browserCookieOf,
  posterOf,
  SIGN_IN_PAGE_HEADERS,
  signInErrorPage,
  signInPage,
  Unauthorized,
  type Poster,
  type WebchatAuth,
} from './webchat-auth.ts';
import {
  eventsDirOf,
  eventsFileOf,
  parseFrame,
  parseSavedEvents,
  writeSavedEvents,
} from './webchat-events.ts';
import { createRateLimiter, DEFAULT_WEBCHAT_LIMITS, type WebchatLimits } from './webchat-limits.ts';
import { errorText } from '../../../shared/error-text.ts';

export interface WebchatOptions {
  clock: () => Date;
  log: Logger;
  /**
   * A folder the channel owns: outbound files are copied here and served from here, and each chat's
   * recent events are kept under events/ so a client reconnecting after a restart misses nothing.
   */
  filesDir: string;
  /** Channel type, also the mount path (`/<type>`); 'webchat' unless another channel reuses this transport. */
  type?: string;
  /** Recent events kept per chat and replayed to a client that (re)connects. */
  maxBufferedPerChat?: number;
  /** Browser sign-in and API tokens (webchat-auth.ts); without it every poster is an anonymous visitor. */
  auth?: WebchatAuth;
  /**
   * The install secret every request must carry (the `cli` channel): posters are then the operator,
   * and the body's sender is who they say they are.
   */
  operatorSecret?: string;
  limits?: Partial<WebchatLimits>;
}

export interface WebchatChannel extends Channel {
  /** The HTTP API and the chat page; the host mounts it at mountPath. */
  readonly app: Hono;
  readonly mountPath: string;
}

const ID_PATTERN = /^[A-Za-z0-9._:@-]{1,200}$/;
const ID_RULE = 'must be 1–200 characters of A-Z a-z 0-9 . _ : @ -';
const MAX_TEXT_BYTES = 64 * 1024;
/** Room for JSON escaping around a text of the maximum size. */
const MAX_BODY_BYTES = 256 * 1024;
const PING_INTERVAL_MS = 15_000;
/** Chats whose recent events are kept; past this, the least recently used chat nobody listens to is forgotten. */
const MAX_CHATS = 1000;
/** Outbound file folders: a hash of (chat, idempotency key), so any key shape gives a safe folder name. */
const FOLDER_PATTERN = /^[A-Za-z0-9_-]{22}$/;
/** A plain file name: no folder separators, not '.' or '..'. */
const FILE_NAME_PATTERN = /^(?!\.\.?$)[^/\\\0]{1,255}$/;
/** Types served inline cannot run script on this origin; everything else is a download. */
const INLINE_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.txt': 'text/plain; charset=utf-8',
};

const Id = z.string().regex(ID_PATTERN, ID_RULE);
const Sender = z.strictObject({
  id: Id,
  name: z.string().trim().min(1, 'must not be blank').max(200).optional(),
});
const PostedMessage = z.strictObject({
  chat: Id,
  sender: Sender,
  text: z
    .string()
    .min(1, 'must not be empty')
    .refine((text) => Buffer.byteLength(text) <= MAX_TEXT_BYTES, 'must be at most 64 KiB'),
  id: Id.optional(),
  thread: Id.optional(),
  mentioned: z.boolean().optional(),
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

interface ChatEvent {
  id: string;
  frame: Uint8Array;
  /** The frame anonymous visitors get when it differs: approval options without their values. */
  forAnonymous?: Uint8Array;
}
interface Listener {
  push(event: ChatEvent): void;
  end(): void;
}
/** Form posted by the sign-in page. */
const SignInForm = z.strictObject({ code: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not a login link code') });
interface ChatState {
  events: ChatEvent[];
  listeners: Set<Listener>;
  /** Lines in the chat's event file; it is rewritten with only the buffered events past twice the buffer. */
  persisted: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// Tells EventSource how soon to reconnect after the stream ends.
const RETRY_FRAME = encoder.encode('retry: 2000\n\n');
const PING_FRAME = encoder.encode(': ping\n\n');

export function createWebchatChannel(options: WebchatOptions): WebchatChannel {
  const { clock, log, filesDir } = options;
  const type = options.type ?? 'webchat';
  const mountPath = `/${type}`;
  const maxBuffered = options.maxBufferedPerChat ?? 200;
  const limits: WebchatLimits = { ...DEFAULT_WEBCHAT_LIMITS, ...options.limits };
  const perSender = createRateLimiter(limits.postsPerMinutePerSender, clock);
  const perChat = createRateLimiter(limits.postsPerMinutePerChat, clock);
  let openStreams = 0;
  const chats = new Map<string, ChatState>();
  // Not servable: file folders are 22-character hashes (FOLDER_PATTERN).
  const eventsDir = eventsDirOf(filesDir);
  mkdirSync(eventsDir, { recursive: true });
  const health: ChannelHealth = {
    connected: false,
    lastInboundAt: null,
    lastOutboundAt: null,
    lastError: null,
  };
  let sink: InboundSink | null = null;
  let page: Promise<{ html: string; csp: string }> | undefined;

  const app = new Hono();
  app.get('/', servePage);
  if (options.auth) {
    app.get('/sign-in', showSignIn);
    app.post('/sign-in', bodyLimit({ maxSize: 4096, onError: tooLarge }), signIn);
    app.post('/api/sign-out', signOut);
  }
  app.post('/api/messages', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge }), (c) =>
    receive(c, (body) => parseBody(PostedMessage, body), toInbound),
  );
  app.post('/api/actions', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge }), (c) =>
    receive(c, (body) => parseBody(PostedAction, body), actionToInbound),
  );
  app.get('/api/events', openEvents);
  app.get('/api/files/:folder/:name', (c) => {
    const poster = identify(c);
    return poster instanceof Response ? poster : serveFile(c, c.req.param('folder'), c.req.param('name'));
  });

  return {
    type,
    capabilities:
      Capability.Text |
      Capability.RichCard |
      Capability.Buttons |
      Capability.Files |
      Capability.Threads |
      Capability.Edit |
      Capability.Reactions,
    app,
    mountPath,
    async connect(next) {
      sink = next;
    },
    async disconnect() {
      sink = null;
      for (const chat of chats.values()) for (const listener of [...chat.listeners]) listener.end();
    },
    send,
    health: () => ({ ...health, connected: sink !== null }),
  };

  async function receive<T>(
    c: Context,
    parse: (body: string) => { posted: T } | { error: string },
    build: (posted: T, poster: Poster) => InboundMessage,
  ): Promise<Response> {
    const current = sink;
    if (!current) return c.json({ error: `the ${type} channel is not connected; try again shortly` }, 503);
    const poster = identify(c);
    if (poster instanceof Response) return poster;
    // Requiring JSON also makes a cross-site form post impossible: browsers preflight this type.
    if (!c.req.header('content-type')?.startsWith('application/json')) {
      return c.json({ error: 'content-type must be application/json' }, 415);
    }
    const parsed = parse(await c.req.text());
    if ('error' in parsed) return c.json({ error: parsed.error }, 400);

    const message = build(parsed.posted, poster);
    const limited = rateLimit(c, message);
    if (limited) return limited;
    health.lastInboundAt = message.timestamp;
    try {
      await current(message);
    } catch (err) {
      health.lastError = `inbound ${message.platformMessageId}: ${errorText(err)}`;
      log.error(
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

  /** 401 for a request that must prove who it is and did not; else who posts. */
  function identify(c: Context): Poster | Response {
    try {
      return posterOf(c, { auth: options.auth, operatorSecret: options.operatorSecret, type });
    } catch (err) {
      if (!(err instanceof Unauthorized)) throw err;
      return c.json({ error: err.message }, 401, { 'www-authenticate': 'Bearer' });
    }
  }

  /** 429 with retry-after when the sender or the chat posted too much in the last minute. */
  function rateLimit(c: Context, message: InboundMessage): Response | undefined {
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
      attachments: [],
      // A web chat is a direct conversation with the bot.
      mentioned: posted.mentioned ?? true,
      timestamp: clock().toISOString(),
    };
  }

  /**
   * Who the host takes the sender to be. A '/' cannot appear in a posted id, so an anonymous
   * visitor's account (`anon/<chat>/<handle>`) can never equal a signed-in user's or another chat's.
   */
  function senderOf(
    posted: Pick<PostedMessage, 'chat' | 'sender'>,
    poster: Poster,
  ): InboundMessage['sender'] {
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

  /** A click travels as a message whose text is the option's value (the host decides what it means). */
  function actionToInbound(posted: PostedAction, poster: Poster): InboundMessage {
    return {
      ...toInbound(
        {
          chat: posted.chat,
          sender: posted.sender,
          text: posted.value,
          id: posted.id,
          thread: posted.thread,
        },
        poster,
      ),
      action: { value: posted.value, ...(posted.messageId ? { platformMessageId: posted.messageId } : {}) },
    };
  }

  function openEvents(c: Context): Response {
    if (!sink) return c.json({ error: `the ${type} channel is not connected; try again shortly` }, 503);
    const poster = identify(c);
    if (poster instanceof Response) return poster;
    const chatId = c.req.query('chat') ?? '';
    if (!ID_PATTERN.test(chatId)) return c.json({ error: `chat: query parameter ${ID_RULE}` }, 400);
    const chat = chatState(chatId);
    if (openStreams >= limits.maxStreams || chat.listeners.size >= limits.maxStreamsPerChat) {
      const which =
        openStreams >= limits.maxStreams
          ? `${limits.maxStreams} event streams are open on this channel`
          : `${limits.maxStreamsPerChat} event streams are open on chat ${chatId}`;
      return c.json({ error: `${which}, the most allowed; close one and retry` }, 429, {
        'retry-after': '5',
      });
    }
    return c.body(listen(chat, c.req.header('last-event-id'), poster.kind === 'anonymous'), 200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      // Keeps reverse proxies (nginx) from buffering the stream.
      'x-accel-buffering': 'no',
    });
  }

  /** The chat's buffered events (only those after lastEventId when it is buffered), then live ones. */
  function listen(
    chat: ChatState,
    lastEventId: string | undefined,
    anonymous: boolean,
  ): ReadableStream<Uint8Array> {
    const frameOf = (event: ChatEvent) => (anonymous ? (event.forAnonymous ?? event.frame) : event.frame);
    let listener: Listener | undefined;
    let ping: NodeJS.Timeout | undefined;
    let stopped = false;
    const stop = () => {
      clearInterval(ping);
      if (listener) chat.listeners.delete(listener);
      if (!stopped) openStreams--;
      stopped = true;
    };
    openStreams++;
    return new ReadableStream<Uint8Array>(
      {
        start(controller) {
          controller.enqueue(RETRY_FRAME);
          for (const event of eventsAfter(chat.events, lastEventId)) controller.enqueue(frameOf(event));
          // desiredSize counts bytes (the strategy below): what this client has not read yet.
          const fits = (bytes: number) => (controller.desiredSize ?? 0) - bytes >= 0;
          const self: Listener = {
            push(event) {
              const frame = frameOf(event);
              if (fits(frame.byteLength)) return controller.enqueue(frame);
              log.warn(
                { channel: type, maxQueuedBytes: limits.maxQueuedBytes },
                'event stream client too slow; disconnected',
              );
              self.end();
            },
            end() {
              stop();
              controller.close();
            },
          };
          listener = self;
          chat.listeners.add(self);
          ping = setInterval(
            () => (fits(PING_FRAME.byteLength) ? controller.enqueue(PING_FRAME) : self.end()),
            PING_INTERVAL_MS,
          );
        },
        cancel: stop,
      },
      { highWaterMark: limits.maxQueuedBytes, size: (chunk) => chunk.byteLength },
    );
  }

  async function send(message: OutboundMessage): Promise<SendResult> {
    const key = message.idempotencyKey;
    if (!sink)
      throw new ChannelSendError(
        'transient',
        `the ${type} channel is not connected; message ${key} not sent`,
      );
    if (/[\r\n\0]/.test(key)) {
      throw new ChannelSendError(
        'invalid_request',
        `idempotency key ${JSON.stringify(key)} cannot be an event id`,
      );
    }
    const sent = { platformMessageId: key };
    if (isBuffered(message)) return sent;
    const data = await eventData(message);
    // Checked again: a concurrent send of the same key may have finished while files were copied.
    if (isBuffered(message)) return sent;
    publish(message.chatId, message.kind === 'send' ? 'message' : message.kind, key, data);
    health.lastOutboundAt = clock().toISOString();
    return sent;
  }

  function isBuffered(message: OutboundMessage): boolean {
    return chatState(message.chatId).events.some((event) => event.id === message.idempotencyKey);
  }

  async function eventData(message: OutboundMessage): Promise<Record<string, unknown>> {
    const id = message.idempotencyKey;
    const thread = message.threadId === null ? {} : { thread: message.threadId };
    switch (message.kind) {
      case 'send': {
        const files = await storeFiles(message.chatId, id, message.files);
        const card = message.card ? { card: message.card } : {};
        return { id, inReplyTo: message.inReplyTo, text: message.text, files, ...card, ...thread };
      }
      case 'edit':
        return { id, targetId: message.targetPlatformMessageId, text: message.text, ...thread };
      case 'react':
        return { id, targetId: message.targetPlatformMessageId, emoji: message.emoji, ...thread };
    }
  }

  /** Copied before send returns: the agent's outbox may be pruned while the chat still shows the link. */
  async function storeFiles(
    chatId: string,
    key: string,
    files: { name: string; path: string }[],
  ): Promise<{ name: string; url: string }[]> {
    if (files.length === 0) return [];
    const bad = files.find((file) => !FILE_NAME_PATTERN.test(file.name));
    if (bad) {
      throw new ChannelSendError(
        'invalid_request',
        `file name ${JSON.stringify(bad.name)} of message ${key} is not plain`,
      );
    }
    const folder = createHash('sha256').update(`${chatId}\0${key}`).digest('base64url').slice(0, 22);
    await mkdir(join(filesDir, folder), { recursive: true });
    return Promise.all(
      files.map(async (file) => {
        await copyFile(file.path, join(filesDir, folder, file.name)).catch((err: unknown) => {
          throw copyError(err, file, key);
        });
        return { name: file.name, url: `${mountPath}/api/files/${folder}/${encodeURIComponent(file.name)}` };
      }),
    );
  }

  function publish(chatId: string, event: string, id: string, data: Record<string, unknown>): void {
    const chat = chatState(chatId);
    const text = `event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
    const chatEvent = toChatEvent(id, text);
    chat.events.push(chatEvent);
    if (chat.events.length > maxBuffered) chat.events.shift();
    persist(chatId, chat, { id, text });
    for (const listener of [...chat.listeners]) listener.push(chatEvent);
  }

  /**
   * Appended before listeners get the event: the host may die right after a send counted as delivered,
   * and the client then finds the event in the replay of the restarted host. A failed write is logged;
   * the live push still happens.
   */
  function persist(chatId: string, chat: ChatState, line: { id: string; text: string }): void {
    const file = eventsFile(chatId);
    try {
      if (chat.persisted < 2 * maxBuffered) {
        appendFileSync(file, `${JSON.stringify(line)}\n`);
        chat.persisted++;
        return;
      }
      writeSavedEvents(
        file,
        chat.events.map((e) => ({ id: e.id, text: decoder.decode(e.frame) })),
      );
      chat.persisted = chat.events.length;
    } catch (err) {
      log.warn(
        { err, channel: type, chat: chatId },
        'recent events not saved; a restart will not replay them',
      );
    }
  }

  /** The chat's saved events, the last maxBuffered of them (a torn last line is skipped). */
  function loadEvents(chatId: string): { events: ChatEvent[]; persisted: number } {
    let content: string;
    try {
      content = readFileSync(eventsFile(chatId), 'utf8');
      // End a torn last line, so the next append starts a line of its own.
      if (content.length > 0 && !content.endsWith('\n')) appendFileSync(eventsFile(chatId), '\n');
    } catch {
      return { events: [], persisted: 0 };
    }
    const lines = content.split('\n').filter(Boolean);
    const events = parseSavedEvents(lines.slice(-maxBuffered).join('\n')).map(({ id, text }) =>
      toChatEvent(id, text),
    );
    return { events, persisted: lines.length };
  }

  function eventsFile(chatId: string): string {
    return eventsFileOf(eventsDir, chatId);
  }

  /** The chat's state, marked most recently used; may forget the least recently used idle chat. */
  function chatState(chatId: string): ChatState {
    const chat = chats.get(chatId) ?? { ...loadEvents(chatId), listeners: new Set() };
    chats.delete(chatId);
    chats.set(chatId, chat);
    if (chats.size > MAX_CHATS) {
      const idle = [...chats].find(([, candidate]) => candidate.listeners.size === 0);
      if (idle) chats.delete(idle[0]);
    }
    return chat;
  }

  async function serveFile(c: Context, folder: string, name: string): Promise<Response> {
    if (!FOLDER_PATTERN.test(folder) || !FILE_NAME_PATTERN.test(name)) {
      return c.json({ error: 'not a file path this channel serves' }, 400);
    }
    const path = join(filesDir, folder, name);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) return c.json({ error: `no file ${name} in ${folder}` }, 404);
    const inlineType = INLINE_TYPES[extname(name).toLowerCase()];
    const body = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
    return c.body(body, 200, {
      'content-type': inlineType ?? 'application/octet-stream',
      'content-length': String(info.size),
      'content-disposition': `${inlineType ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(name)}`,
      'x-content-type-options': 'nosniff',
    });
  }

  /** The chat page; a browser without a cookie of its own gets one (anonymous until signed in). */
  async function servePage(c: Context): Promise<Response> {
    const { html, csp } = await (page ??= loadPage());
    const headers: Record<string, string> = { 'content-security-policy': csp };
    if (options.auth && !browserCookieOf(c)) {
      headers['set-cookie'] = browserCookieHeader(randomBytes(32).toString('base64url'), mountPath);
    }
    return c.html(html, 200, headers);
  }

  /** GET of a login link: a confirmation page. Nothing is consumed, so link scanners cannot sign in. */
  function showSignIn(c: Context): Response {
    const code = c.req.query('code') ?? '';
    const link = SignInForm.safeParse({ code });
    const found = link.success
      ? options.auth!.describeLink(code)
      : { ok: false as const, error: 'This is not a Warren login link.' };
    if (!found.ok) return c.html(signInErrorPage(found.error), 400, SIGN_IN_PAGE_HEADERS);
    return c.html(signInPage(mountPath, code, found.userName, found.expiresAt), 200, SIGN_IN_PAGE_HEADERS);
  }

  /** POST from the confirmation page: uses the link up and signs this browser in with a fresh cookie. */
  async function signIn(c: Context): Promise<Response> {
    // Login CSRF: another site must not sign a visitor's browser in as someone of its choosing.
    const origin = c.req.header('origin');
    if (origin !== undefined && origin !== new URL(c.req.url).origin) {
      return c.html(
        signInErrorPage('This sign-in did not come from this Warren page.'),
        403,
        SIGN_IN_PAGE_HEADERS,
      );
    }
    const form = SignInForm.safeParse(Object.fromEntries(new URLSearchParams(await c.req.text())));
    const result = form.success
      ? options.auth!.signIn(form.data.code)
      : { ok: false as const, error: 'This is not a Warren login link.' };
    if (!result.ok) return c.html(signInErrorPage(result.error), 400, SIGN_IN_PAGE_HEADERS);
    log.info({ channel: type, userId: result.userId }, 'a browser signed in with a login link');
    return c.body(null, 303, {
      location: `${mountPath}/`,
      'set-cookie': browserCookieHeader(result.cookie, mountPath),
      ...SIGN_IN_PAGE_HEADERS,
    });
  }

  function signOut(c: Context): Response {
    const cookie = browserCookieOf(c);
    if (cookie) options.auth!.signOut(cookie);
    return c.json({ signedOut: true }, 200, {
      'set-cookie': `${BROWSER_COOKIE}=; Path=${mountPath}; HttpOnly; SameSite=Strict; Max-Age=0`,
    });
  }
}

/** The page and a policy that lets only its own inline script run (pinned by hash) and only this origin be fetched. */
async function loadPage(): Promise<{ html: string; csp: string }> {
  const html = await readFile(new URL('./webchat-page.html', import.meta.url), 'utf8');
  // Browsers hash the script text after turning CRLF into LF.
  const script = (/<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '').replace(/\r\n?/g, '\n');
  const hash = createHash('sha256').update(script).digest('base64');
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${hash}'`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

function parseBody<T>(schema: z.ZodType<T>, body: string): { posted: T } | { error: string } {
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

/**
 * The event, and for a card carrying approval decisions, the same card without its option values
 * for anonymous visitors: they may not decide it, and the values need not travel further than the
 * signed-in people who may. Question options keep theirs (a visitor may answer a question asked of them).
 */
function toChatEvent(id: string, text: string): ChatEvent {
  const frame = encoder.encode(text);
  if (!text.includes('"apr:')) return { id, frame };
  const parsed = parseFrame(text);
  const card = parsed?.data.card as { options?: { label: string; value?: string }[] } | undefined;
  if (!parsed || !Array.isArray(card?.options)) return { id, frame };
  const options = card.options.map((o) => (o.value?.startsWith('apr:') ? { label: o.label } : o));
  const data = { ...parsed.data, card: { ...card, options } };
  return {
    id,
    frame,
    forAnonymous: encoder.encode(`event: ${parsed.event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`),
  };
}

function eventsAfter(events: ChatEvent[], lastEventId: string | undefined): ChatEvent[] {
  const index = lastEventId === undefined ? -1 : events.findIndex((event) => event.id === lastEventId);
  return events.slice(index + 1);
}

function copyError(err: unknown, file: { name: string; path: string }, key: string): ChannelSendError {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT'
    ? new ChannelSendError('not_found', `file ${file.name} of message ${key} does not exist at ${file.path}`)
    : new ChannelSendError(
        'transient',
        `file ${file.name} of message ${key} could not be copied (${errorText(err)})`,
      );
}

function tooLarge(c: Context): Response {
  return c.json({ error: `body is larger than ${MAX_BODY_BYTES / 1024} KiB` }, 413);
}
