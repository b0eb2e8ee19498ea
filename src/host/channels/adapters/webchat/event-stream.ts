// GET /api/events?chat=…: a server-sent-event stream of the events sent to one chat, the buffered
// ones first (after Last-Event-ID when the client gives one), then live ones. Streams are capped per
// chat and per channel, kept alive by a comment every 15 s, and cut off when their client stops
// reading (limits.ts): it reconnects and replays what it missed. Events are written to the Node
// response directly (event-streams.ts): a reply's bytes go to the socket when the channel sends it,
// not after the delivery's own bookkeeping.
import type { ServerResponse } from 'node:http';
import { Hono } from 'hono';
import type { Context } from 'hono';
import {
  RESPONSE_ALREADY_SENT,
  runEventStream,
  sseFrame,
  startEventStream,
  type BoundedWriter,
} from '../../../event-streams.ts';
import type { Logger } from '../../../logger.ts';
import { ID_PATTERN, ID_RULE } from './api.ts';
import type { Poster } from './auth.ts';
import type { ChatEvent, ChatEvents, ChatListener } from './chat-events.ts';
import type { WebchatLimits } from './limits.ts';

const PING_INTERVAL_MS = 15_000;
// How soon EventSource reconnects after the stream ends.
const RETRY_FIELD = 'retry: 2000\n\n';

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
    const response = startEventStream(c);
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
   * the server closes, or the client reads too slowly (event-streams.ts).
   */
  function relay(
    response: ServerResponse,
    chatId: string,
    lastEventId: string | undefined,
    anonymous: boolean,
  ): void {
    openStreams++;
    const streamOptions = {
      maxQueuedBytes: limits.maxQueuedBytes,
      pingIntervalMs: PING_INTERVAL_MS,
      onEnd: () => openStreams--,
    };
    runEventStream(response, streamOptions, ({ writer, end }) => {
      writer.write(RETRY_FIELD, { force: true });
      for (const event of chats.replay(chatId, lastEventId))
        writeEvent(writer, event, anonymous, { force: true });
      const listener: ChatListener = {
        push(event) {
          if (writeEvent(writer, event, anonymous)) return;
          options.log.warn(
            { channel: type, maxQueuedBytes: limits.maxQueuedBytes },
            'event stream client too slow; disconnected',
          );
          end();
        },
        end,
      };
      return chats.listen(chatId, listener);
    });
  }
}

/** An anonymous reader gets the event's anonymous form (approval cards without their option values). */
function writeEvent(
  writer: BoundedWriter,
  event: ChatEvent,
  anonymous: boolean,
  how?: { force: true },
): boolean {
  const data = anonymous ? (event.forAnonymous ?? event.data) : event.data;
  return writer.write(sseFrame(event.event, data, event.id), how);
}
