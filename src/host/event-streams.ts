// Server-sent event streams (the web chat's events, the dashboard's change notices) are written to
// the Node response directly: each event is one write at the moment it is sent, with no web streams
// and their promises in between, and a client that stops reading is cut off once the bytes Node holds
// for it pass a cap, instead of growing the host's memory. http.ts ends the open ones when it closes.
import type { ServerResponse } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';

export { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';

/** Writes the stream's status and headers to the Node response under `c` and returns it. */
export function startEventStream(c: Context, headers: Record<string, string> = {}): ServerResponse {
  const response = (c.env as HttpBindings | undefined)?.outgoing;
  if (!response) throw new Error('event streams need the Node HTTP server (@hono/node-server)');
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    // Keeps reverse proxies (nginx) from buffering the stream.
    'x-accel-buffering': 'no',
    ...headers,
  });
  return response;
}

export interface BoundedWriter {
  /**
   * Writes while the bytes its client has not taken yet (what Node holds for the socket) stay within
   * the cap; a write that would pass it is refused (false). A forced write (what a stream must start
   * with) always goes out.
   */
  write(text: string, how?: { force: true }): boolean;
}

function boundedWriter(response: ServerResponse, maxQueuedBytes: number): BoundedWriter {
  return {
    write(text, how) {
      // An ended stream takes nothing more, and there is no one left to tell: a write after the end
      // would be an error event on the response.
      if (response.writableEnded || response.destroyed) return true;
      if (!how?.force && response.writableLength + Buffer.byteLength(text) > maxQueuedBytes) return false;
      response.write(text);
      return true;
    },
  };
}

/** One event as the event-stream format frames it; each line of the data gets its own `data:` field. */
export function sseFrame(event: string, data: string, id?: string): string {
  const lines = data
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}`)
    .join('\n');
  return `event: ${event}\n${lines}\n${id === undefined ? '' : `id: ${id}\n`}\n`;
}

/** Keeps the connection alive through proxies that close quiet ones; not an event. */
const PING_COMMENT = ': ping\n\n';

export interface RunEventStreamOptions {
  maxQueuedBytes: number;
  pingIntervalMs: number;
  /** Runs once, when the stream ends for any reason. */
  onEnd: () => void;
}

export interface OpenEventStream {
  writer: BoundedWriter;
  /** Ends the stream: nothing more is written, and the client gets the end after what it holds. */
  end(): void;
}

/**
 * Runs a stream on the response until it ends: its client goes, `end` is called (by the caller, or
 * when a ping would pass the cap), or http.ts closes it with the server. `listen` subscribes the
 * stream to what it relays and returns how to unsubscribe; it runs synchronously, so nothing sent
 * after the stream opened is missed.
 */
export function runEventStream(
  response: ServerResponse,
  options: RunEventStreamOptions,
  listen: (stream: OpenEventStream) => () => void,
): void {
  const writer = boundedWriter(response, options.maxQueuedBytes);
  let ended = false;
  let unlisten: (() => void) | undefined;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(ping);
    unlisten?.();
    options.onEnd();
    response.end();
  };
  const ping = setInterval(() => writer.write(PING_COMMENT) || end(), options.pingIntervalMs);
  const off = listen({ writer, end });
  if (ended) off();
  else unlisten = off;
  response.once('close', end);
  if (response.destroyed) end(); // the client left before the stream began
}
