// GET /api/events: a server-sent-event stream of change notices for the dashboard (docs/dashboard.md).
// Each event names a part that changed (`sessions`, `approvals`, `deliveries`, `channels`, `wirings`,
// `groups`, `dropped`, `usage`) and carries no data of it: the client reads the part again through
// the ordinary routes, with the same authorization. Changes are found by comparing a few cheap values
// once a second (src/db/change-marks.ts), and only while some stream is open: the database, not the
// host's in-process events, because `warren wire`, `warren approvals` and the other commands change it
// from other processes. Streams are capped per
// token and in all, kept alive by a comment every 15 s, and cut off when their client stops reading
// (event-streams.ts). Browsers read it with fetch (EventSource cannot send the Authorization header).
import type { ServerResponse } from 'node:http';
import { Hono } from 'hono';
import { z } from 'zod';
import { changeMarksReader, type ChangeMarks, type ChangeTopic } from '../../db/change-marks.ts';
import type { Db } from '../../db/connection.ts';
import { listRoles } from '../../db/roles.ts';
import type { ChannelHealth } from '../channels/index.ts';
import { RESPONSE_ALREADY_SENT, runEventStream, sseFrame, startEventStream } from '../event-streams.ts';
import type { Logger } from '../logger.ts';
import type { ApiEnv } from './auth.ts';
import type { ApiOperation } from './openapi.ts';

/** Every event name the stream sends besides `hello` (sent once, when it opens). */
export type EventTopic = ChangeTopic | 'channels';

export interface EventsApiOptions {
  db: Db;
  clock: () => Date;
  log: Logger;
  /** Each channel's health by type (the channel registry); a change is a `channels` event. */
  channelHealth: () => Record<string, ChannelHealth>;
  /** How often the marks are compared while a stream is open; 1000 ms by default. */
  checkIntervalMs?: number;
  pingIntervalMs?: number;
  maxStreamsPerToken?: number;
  maxStreams?: number;
  /** Bytes queued for a client that does not read before its stream is ended; 64 KiB by default. */
  maxQueuedBytes?: number;
}

type Listener = (topics: EventTopic[]) => void;

export const eventsOperations: ApiOperation[] = [
  {
    method: 'get',
    path: '/events',
    summary:
      'server-sent change notices: `hello` once, then `sessions`, `approvals`, `deliveries`, `channels`, ' +
      '`wirings`, `groups`, `dropped` or `usage` with data {topic, at} when that part changes; a `: ping` ' +
      'comment every 15 s; at most 4 streams per token (docs/dashboard.md)',
    response: z.string().regex(/^event: hello$/m),
    contentType: 'text/event-stream',
    errors: [403, 429],
  },
];

export function eventsApi(options: EventsApiOptions): Hono<ApiEnv> {
  const { db } = options;
  const maxPerToken = options.maxStreamsPerToken ?? 4;
  const maxStreams = options.maxStreams ?? 64;
  const pingMs = options.pingIntervalMs ?? 15_000;
  // A notice is under 100 bytes: this is hundreds of them unread, and the client reads every panel
  // again when it reconnects.
  const maxQueuedBytes = options.maxQueuedBytes ?? 64 * 1024;
  const watcher = changeWatcher(options);
  const openPerToken = new Map<string, number>();
  let open = 0;

  return new Hono<ApiEnv>().get('/', (c) => {
    // The stream says when things change, which is itself news; only people who administer something hear it.
    if (!listRoles(db, c.get('userId')).some((r) => r.role === 'owner' || r.role === 'admin'))
      return c.json({ error: 'only owners and admins may watch for changes' }, 403);
    const tokenId = c.get('tokenId');
    if ((openPerToken.get(tokenId) ?? 0) >= maxPerToken)
      return c.json(
        {
          error: `${maxPerToken} event streams are open with this token, the most allowed; close one and retry`,
        },
        429,
        { 'retry-after': '5' },
      );
    if (open >= maxStreams)
      return c.json({ error: `${maxStreams} event streams are open, the most allowed; retry shortly` }, 429, {
        'retry-after': '5',
      });
    relay(startEventStream(c, { 'cache-control': 'no-store' }), tokenId);
    return RESPONSE_ALREADY_SENT;
  });

  function relay(response: ServerResponse, tokenId: string): void {
    open++;
    openPerToken.set(tokenId, (openPerToken.get(tokenId) ?? 0) + 1);
    const onEnd = () => {
      open--;
      const left = (openPerToken.get(tokenId) ?? 1) - 1;
      if (left > 0) openPerToken.set(tokenId, left);
      else openPerToken.delete(tokenId);
    };
    runEventStream(response, { maxQueuedBytes, pingIntervalMs: pingMs, onEnd }, ({ writer, end }) => {
      const frame = (event: string, data: unknown) => sseFrame(event, JSON.stringify(data));
      writer.write(frame('hello', { at: options.clock().toISOString() }), { force: true });
      return watcher.listen((topics) => {
        const at = options.clock().toISOString();
        for (const topic of topics) {
          if (writer.write(frame(topic, { topic, at }))) continue;
          options.log.warn({ maxQueuedBytes }, 'change-notice stream client too slow; disconnected');
          return end();
        }
      });
    });
  }
}

/** Compares the change marks on a timer while anyone listens; tells every listener what changed. */
function changeWatcher(options: EventsApiOptions) {
  const readMarks = changeMarksReader(options.db);
  const listeners = new Set<Listener>();
  const intervalMs = options.checkIntervalMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  let last: (ChangeMarks & { channels: string }) | undefined;
  let failures = 0;

  const read = () => ({ ...readMarks(), channels: JSON.stringify(options.channelHealth()) });

  function check(): void {
    let now: ReturnType<typeof read>;
    try {
      now = read();
    } catch (err) {
      // The next tick tries again; the dashboard stays as it was meanwhile.
      failures++;
      options.log.warn({ err, failures }, 'event stream: cannot read the change marks');
      return;
    }
    const changed = last
      ? (Object.keys(now) as EventTopic[]).filter((topic) => now[topic] !== last![topic])
      : [];
    last = now;
    if (changed.length > 0) for (const listener of listeners) listener(changed);
  }

  return {
    listen(listener: Listener): () => void {
      listeners.add(listener);
      if (!timer) {
        // The first reading is the baseline; the client reads every panel when its stream opens.
        last = undefined;
        check();
        timer = setInterval(check, intervalMs);
        timer.unref();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
          last = undefined;
        }
      };
    },
  };
}
