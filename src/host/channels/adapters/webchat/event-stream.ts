// GET /api/events?chat=…: a server-sent-event stream of the events sent to one chat, the buffered
// ones first (after Last-Event-ID when the client gives one), then live ones. Streams are capped per
// chat and per channel, kept alive by a comment every 15 s, and cut off when their client stops
// reading (limits.ts): it reconnects and replays what it missed. Events are written to the Node
// response directly: a reply's bytes go to the socket when the channel sends it, not after the
// delivery's own bookkeeping, and without web streams' per-event promises.
import type { ServerResponse } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import type { Context } from 'hono';
import type { Logger } from '../../../logger.ts';
import { ID_PATTERN, ID_RULE } from './api.ts';
import type { Poster } from './auth.ts';
import type { ChatEvent, ChatEvents, ChatListener } from './chat-events.ts';
import type { WebchatLimits } from './limits.ts';

const PING_INTERVAL_MS = 15_000;
// How soon EventSource reconnects after the stream ends, and a keep-alive comment.
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
    const response = (c.env as HttpBindings | undefined)?.outgoing;
    if (!response) throw new Error('the event stream needs the Node HTTP server (@hono/node-server)');
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // Keeps reverse proxies (nginx) from buffering the stream.
      'x-accel-buffering': 'no',
    });
    relay(response, chatId, c.req.header('last-event-id'), poster.kind === 'anonymous');
    return RESPONSE_ALREADY_SENT;
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
   * Writes the chat's events to the response until it ends: the client goes, the channel disconnects,
   * the server closes (http.ts ends responses left open), or the client reads too slowly. Runs
   * synchronously up to listening, so no event sent after the stream opened is missed.
   */
  function relay(
    response: ServerResponse,
    chatId: string,
    lastEventId: string | undefined,
    anonymous: boolean,
  ): void {
    openStreams++;
    const writer = boundedWriter(response, limits.maxQueuedBytes);
    let ended = false;
    // Nothing more is written: a client that stopped reading gets the end after what it holds.
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(ping);
      unlisten();
      openStreams--;
      response.end();
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
    response.once('close', end);
    if (response.destroyed) end(); // the client left before the stream began
  }
}

/**
 * Writes to the response while the bytes its client has not taken yet (what Node holds for the
 * socket) stay within maxQueuedBytes; a write that would pass it is refused (false). Forced writes
 * (the replay on connect) always go out.
 */
function boundedWriter(response: ServerResponse, maxQueuedBytes: number) {
  return { writeEvent, writeText };

  function writeEvent(event: ChatEvent, anonymous: boolean, how?: { force: true }): boolean {
    const data = anonymous ? (event.forAnonymous ?? event.data) : event.data;
    return writeText(sseFrame(event.event, event.id, data), how);
  }

  function writeText(text: string, how?: { force: true }): boolean {
    if (!how?.force && response.writableLength + Buffer.byteLength(text) > maxQueuedBytes) return false;
    response.write(text);
    return true;
  }
}

/** One event as the event-stream format frames it; each line of the data gets its own `data:` field. */
function sseFrame(event: string, id: string, data: string): string {
  const lines = data
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}`)
    .join('\n');
  return `event: ${event}\n${lines}\nid: ${id}\n\n`;
}
