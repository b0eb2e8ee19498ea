// GET /api/events?chat=…: a server-sent-event stream (Hono's streamSSE) of the events sent to one chat,
// the buffered ones first (after Last-Event-ID when the client gives one), then live ones. Streams
// are capped per chat and per channel, kept alive by a comment every 15 s, and cut off when their
// client stops reading (limits.ts): it reconnects and replays what it missed.
import { Hono } from 'hono';
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Logger } from '../../../logger.ts';
import { ID_PATTERN, ID_RULE } from './api.ts';
import type { Poster } from './auth.ts';
import type { ChatEvent, ChatEvents, ChatListener } from './chat-events.ts';
import type { WebchatLimits } from './limits.ts';

const PING_INTERVAL_MS = 15_000;
// Fields without data, which writeSSE always writes: how soon EventSource reconnects after the
// stream ends, and a keep-alive comment.
const RETRY_FIELD = 'retry: 2000\n\n';
const PING_COMMENT = ': ping\n\n';

export interface EventStreamOptions {
  type: string;
  log: Logger;
  limits: WebchatLimits;
  chats: ChatEvents;
  isConnected: () => boolean;
  identify: (c: Context) => Poster | Response;
}

export function eventStreamRoutes(options: EventStreamOptions): Hono {
  const { type, limits, chats } = options;
  let openStreams = 0;
  const routes = new Hono();
  routes.get('/api/events', openEvents);
  return routes;

  function openEvents(c: Context): Response {
    if (!options.isConnected()) {
      return c.json({ error: `the ${type} channel is not connected; try again shortly` }, 503);
    }
    const poster = options.identify(c);
    if (poster instanceof Response) return poster;
    const chatId = c.req.query('chat') ?? '';
    if (!ID_PATTERN.test(chatId)) return c.json({ error: `chat: query parameter ${ID_RULE}` }, 400);
    const full = fullness(chatId);
    if (full) {
      return c.json({ error: `${full}, the most allowed; close one and retry` }, 429, { 'retry-after': '5' });
    }
    const lastEventId = c.req.header('last-event-id');
    // Keeps reverse proxies (nginx) from buffering the stream.
    c.header('x-accel-buffering', 'no');
    return streamSSE(c, (stream) => relay(stream, chatId, lastEventId, poster.kind === 'anonymous'));
  }

  /** Why no stream may open on the chat now; undefined when one may. */
  function fullness(chatId: string): string | undefined {
    if (openStreams >= limits.maxStreams)
      return `${limits.maxStreams} event streams are open on this channel`;
    if (chats.listenerCount(chatId) >= limits.maxStreamsPerChat) {
      return `${limits.maxStreamsPerChat} event streams are open on chat ${chatId}`;
    }
    return undefined;
  }

  /**
   * Writes the chat's events to the stream until it ends: the client goes, the channel disconnects,
   * or the client reads too slowly. Runs synchronously up to listening, so no event sent after the
   * stream opened is missed.
   */
  function relay(
    stream: SSEStreamingApi,
    chatId: string,
    lastEventId: string | undefined,
    anonymous: boolean,
  ) {
    openStreams++;
    return new Promise<void>((resolve) => {
      const writer = boundedWriter(stream, limits.maxQueuedBytes);
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        clearInterval(ping);
        unlisten();
        openStreams--;
        resolve();
      };
      const listener: ChatListener = {
        push(event) {
          if (ended || writer.writeEvent(event, anonymous)) return;
          options.log.warn(
            { channel: type, maxQueuedBytes: limits.maxQueuedBytes },
            'event stream client too slow; disconnected',
          );
          end();
        },
        end,
      };
      writer.writeText(RETRY_FIELD, { force: true });
      for (const event of chats.replay(chatId, lastEventId))
        writer.writeEvent(event, anonymous, { force: true });
      const unlisten = chats.listen(chatId, listener);
      const ping = setInterval(() => writer.writeText(PING_COMMENT) || end(), PING_INTERVAL_MS);
      stream.onAbort(end);
    });
  }
}

/**
 * Writes to the stream while the bytes its client has not taken yet stay within maxQueuedBytes; a write
 * that would pass it is refused (false). Forced writes (the replay on connect) always go out.
 */
function boundedWriter(stream: SSEStreamingApi, maxQueuedBytes: number) {
  let queued = 0;
  return { writeEvent, writeText };

  function writeEvent(event: ChatEvent, anonymous: boolean, how?: { force: true }): boolean {
    const data = anonymous ? (event.forAnonymous ?? event.data) : event.data;
    // The frame around the data: `event: …\ndata: …\nid: …\n\n`.
    const bytes = Buffer.byteLength(data) + Buffer.byteLength(event.id) + event.event.length + 20;
    return take(bytes, how, () => stream.writeSSE({ event: event.event, id: event.id, data }));
  }

  function writeText(text: string, how?: { force: true }): boolean {
    return take(Buffer.byteLength(text), how, () => stream.write(text));
  }

  function take(bytes: number, how: { force: true } | undefined, write: () => Promise<unknown>): boolean {
    if (!how?.force && queued + bytes > maxQueuedBytes) return false;
    queued += bytes;
    // Settles once the client side has taken the bytes; a write to a closed stream settles at once.
    void write().then(
      () => (queued -= bytes),
      () => (queued -= bytes),
    );
    return true;
  }
}
