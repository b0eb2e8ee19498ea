// A fake Discord on loopback that the real discord.js talks to: the REST API under /api/v10, a gateway
// WebSocket handed out by GET /gateway/bot, and a CDN on another origin serving attachments. It records
// every REST call, lets a test inject events (messages, button presses), answer the next calls of a route
// with 429, drop the gateway socket (events dispatched meanwhile are replayed on RESUME), or go silent
// (REST requests hang, heartbeats go unacknowledged) and come back.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeUser {
  id: string;
  username: string;
  global_name: string | null;
  bot: boolean;
}

export const BOT: FakeUser = {
  id: '100000000000000001',
  username: 'warren-bot',
  global_name: null,
  bot: true,
};
export const ALICE: FakeUser = {
  id: '200000000000000001',
  username: 'alice',
  global_name: 'Alice',
  bot: false,
};
export const BOB: FakeUser = { id: '200000000000000002', username: 'bob', global_name: null, bot: false };
export const GUILD_ID = '300000000000000001';
export const GENERAL = '400000000000000001';
export const THREAD = '400000000000000002';
export const DM = '400000000000000003';
/** A thread the fake keeps out of GUILD_CREATE: the client learns its parent only by GET /channels/:id. */
export const LATE_THREAD = '400000000000000004';

const CHANNELS: Record<
  string,
  { id: string; type: number; guild_id?: string; parent_id?: string; name?: string }
> = {
  [GENERAL]: { id: GENERAL, type: 0, guild_id: GUILD_ID, name: 'general' },
  [THREAD]: { id: THREAD, type: 11, guild_id: GUILD_ID, parent_id: GENERAL, name: 'a thread' },
  [LATE_THREAD]: { id: LATE_THREAD, type: 11, guild_id: GUILD_ID, parent_id: GENERAL, name: 'late thread' },
  [DM]: { id: DM, type: 1 },
};

export interface RecordedCall {
  method: string;
  /** Path below /api/v10, e.g. /channels/400…/messages. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  json?: unknown;
  /** Multipart uploads: the payload_json part and the files' names and bytes. */
  files?: { name: string; data: Buffer }[];
  /** When the request had arrived whole (Date.now()). */
  at: number;
  /** The status answered; undefined while the request is held (silent) or was never answered. */
  status?: number;
  /** The message made by a successful POST /channels/:id/messages. */
  response?: unknown;
}

interface Session {
  id: string;
  seq: number;
  log: { t: string; s: number; d: unknown }[];
}

interface Failure {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface FakeDiscord {
  /** REST root for discord.js (`rest.api`); calls land on `${apiUrl}/v10/...`. */
  apiUrl: string;
  /** The CDN's base URL (another origin than the API). */
  cdnUrl: string;
  token: string;
  calls: RecordedCall[];
  /** Every gateway payload the client sent (IDENTIFY, RESUME, heartbeats). */
  gatewayOps: { op: number; d: unknown }[];
  /** Every dispatch written to a client socket, replays included, in order. */
  delivered: { t: string; s: number; d: unknown }[];
  /** Requests that reached the API server outside /api (attachment URLs that must never be fetched). */
  strayHits: string[];
  cdnHits: string[];
  /** Sends a dispatch on the current session (queued for RESUME when no socket is connected). */
  dispatch(t: string, d: unknown): number;
  /** A MESSAGE_CREATE from someone; returns the message id. */
  message(m: MessageInput): string;
  /** A button press on a message of the bot; returns the interaction id. */
  press(p: { customId: string; messageId: string; channelId: string; user?: FakeUser }): string;
  /** Serves bytes on the CDN; returns their URL. */
  cdnFile(name: string, data: Buffer): string;
  /** Answers the next `count` REST calls matching `route` ("POST /channels/:id/messages") with `failure`. */
  failNext(route: string, count: number, failure: Failure): void;
  rateLimitNext(route: string, count: number, retryAfterSeconds: number): void;
  /**
   * The next message POST is stored, but its answer is lost: a 502 goes back instead (a proxy that
   * timed out after Discord had saved the message).
   */
  loseNextPostAnswer(): void;
  /** Every message the fake has stored, by channel, in order (a post deduplicated by nonce is one). */
  stored(channelId: string): { id: string; content?: unknown; nonce?: unknown }[];
  /** Answers the next IDENTIFY by closing the socket with `code` (4014: disallowed intents). */
  refuseNextIdentify(code: number): void;
  /** Closes the gateway socket with a resumable code; events dispatched until the client is back are replayed. */
  dropSocket(code?: number): void;
  /**
   * The next RESUME replays every event after `seq`, whatever sequence the client says it saw: events
   * the client had already received arrive again (a redelivery).
   */
  replayNextResumeFrom(seq: number): void;
  /** The next RESUME is answered "invalid session" (op 9, not resumable): the client must IDENTIFY anew. */
  invalidateNextResume(): void;
  /** Stops answering: REST requests hang, heartbeats go unacknowledged, new sockets get no HELLO. */
  goSilent(): void;
  comeBack(): void;
  connections(): number;
  close(): Promise<void>;
}

export interface MessageInput {
  channelId: string;
  content: string;
  author?: FakeUser;
  id?: string;
  guild?: boolean;
  mentions?: string[];
  reference?: { id: string; content: string; author: FakeUser };
  attachments?: { filename: string; url: string; size: number; content_type?: string }[];
  extra?: Record<string, unknown>;
}

export async function startFakeDiscord(options: { heartbeatIntervalMs?: number } = {}): Promise<FakeDiscord> {
  const token = 'fake-bot-token.secret';
  const heartbeatInterval = options.heartbeatIntervalMs ?? 250;
  const calls: RecordedCall[] = [];
  const gatewayOps: { op: number; d: unknown }[] = [];
  const delivered: { t: string; s: number; d: unknown }[] = [];
  let replayFrom: number | null = null;
  let invalidateResume = false;
  const strayHits: string[] = [];
  const cdnHits: string[] = [];
  const cdnFiles = new Map<string, Buffer>();
  const failures: { route: string; left: number; failure: Failure }[] = [];
  const sessions = new Map<string, Session>();
  const held: ServerResponse[] = [];
  let current: Session | null = null;
  let socket: WebSocket | null = null;
  let silent = false;
  let refuseIdentify: number | null = null;
  let nextId = 900000000000000000n;
  let loseAnswer = false;
  const storedMessages = new Map<string, { id: string; content?: unknown; nonce?: unknown }[]>();
  const snowflake = (): string => String(nextId++);

  const api = createServer((req, res) => void handleApi(req, res));
  const cdn = createServer((req, res) => {
    cdnHits.push(req.url ?? '');
    const data = cdnFiles.get(req.url ?? '');
    if (!data) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(data);
  });
  const wss = new WebSocketServer({ server: api, path: '/gateway' });
  wss.on('connection', (ws) => onSocket(ws));
  const apiUrl = `http://127.0.0.1:${await listen(api)}`;
  const cdnUrl = `http://127.0.0.1:${await listen(cdn)}`;
  const gatewayUrl = `${apiUrl.replace('http', 'ws')}/gateway`;

  async function handleApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', apiUrl);
    if (!url.pathname.startsWith('/api/v10/')) {
      strayHits.push(url.pathname);
      return void res.writeHead(404).end();
    }
    const path = url.pathname.slice('/api/v10'.length).replaceAll('%40me', '@me');
    const call: RecordedCall = { method: req.method ?? 'GET', path, headers: req.headers, at: 0 };
    await readBody(req, call);
    call.at = Date.now();
    calls.push(call);
    res.once('finish', () => (call.status = res.statusCode));
    if (silent) return void held.push(res);
    const failure = takeFailure(call);
    if (failure) return send(res, failure.status, failure.body, failure.headers);
    const isInteraction = path.startsWith('/interactions/');
    if (!isInteraction && req.headers.authorization !== `Bot ${token}`) {
      return send(res, 401, { message: '401: Unauthorized', code: 0 });
    }
    route(call, res);
  }

  function route(call: RecordedCall, res: ServerResponse): void {
    const { method, path } = call;
    let m: RegExpMatchArray | null;
    if (method === 'GET' && path === '/gateway/bot') {
      return send(res, 200, {
        url: gatewayUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
      });
    }
    if (method === 'GET' && path === '/users/@me') return send(res, 200, BOT);
    if (method === 'GET' && (m = path.match(/^\/channels\/(\d+)$/))) {
      const channel = CHANNELS[m[1]!];
      return channel ? send(res, 200, channel) : send(res, 404, { message: 'Unknown Channel', code: 10003 });
    }
    if (method === 'POST' && (m = path.match(/^\/channels\/(\d+)\/messages$/))) {
      if (!CHANNELS[m[1]!]) return send(res, 404, { message: 'Unknown Channel', code: 10003 });
      const body = (call.json ?? {}) as Record<string, unknown>;
      const attachments = (call.files ?? []).map((f) => ({
        id: snowflake(),
        filename: f.name,
        size: f.data.length,
      }));
      const inChannel = storedMessages.get(m[1]!) ?? [];
      storedMessages.set(m[1]!, inChannel);
      // Discord's enforce_nonce: a second post with a nonce it saw recently returns the first message.
      const same =
        body.enforce_nonce && body.nonce ? inChannel.find((s) => s.nonce === body.nonce) : undefined;
      call.response = same ?? { ...body, id: snowflake(), channel_id: m[1], author: BOT, attachments };
      if (!same) inChannel.push(call.response as { id: string });
      if (loseAnswer) {
        loseAnswer = false;
        return send(res, 502, { message: 'Bad Gateway', code: 0 });
      }
      return send(res, 200, call.response);
    }
    if (method === 'PATCH' && (m = path.match(/^\/channels\/(\d+)\/messages\/(\d+)$/))) {
      return send(res, 200, { ...(call.json as object), id: m[2], channel_id: m[1], author: BOT });
    }
    if (method === 'PUT' && /^\/channels\/\d+\/messages\/\d+\/reactions\/[^/]+\/@me$/.test(path))
      return send(res, 204);
    if (method === 'POST' && /^\/channels\/\d+\/typing$/.test(path)) return send(res, 204);
    if (method === 'POST' && /^\/interactions\/\d+\/[^/]+\/callback$/.test(path)) return send(res, 204);
    send(res, 404, { message: '404: Not Found', code: 0 });
  }

  function takeFailure(call: RecordedCall): Failure | undefined {
    const key = `${call.method} ${call.path.replace(/\d{15,}/g, ':id')}`;
    const entry = failures.find((f) => f.left > 0 && f.route === key);
    if (!entry) return undefined;
    entry.left -= 1;
    return entry.failure;
  }

  function onSocket(ws: WebSocket): void {
    if (silent) return; // accepted, never greeted
    socket = ws;
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: heartbeatInterval }, s: null, t: null }));
    ws.on('message', (raw) => {
      const payload = JSON.parse(String(raw)) as { op: number; d: Record<string, unknown> | number | null };
      gatewayOps.push(payload);
      if (silent) return;
      onGatewayOp(ws, payload.op, payload.d);
    });
    ws.on('close', () => {
      if (socket === ws) socket = null;
    });
  }

  function onGatewayOp(ws: WebSocket, op: number, d: unknown): void {
    const data = (d ?? {}) as Record<string, unknown>;
    if (op === 1) return ws.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
    if ((op === 2 || op === 6) && data.token !== token) return ws.close(4004, 'Authentication failed');
    if (op === 2 && refuseIdentify) {
      ws.close(refuseIdentify, 'refused by the test');
      refuseIdentify = null;
      return;
    }
    if (op === 2) {
      current = { id: `session-${snowflake()}`, seq: 0, log: [] };
      sessions.set(current.id, current);
      dispatch('READY', {
        v: 10,
        user: BOT,
        session_id: current.id,
        resume_gateway_url: gatewayUrl,
        guilds: [{ id: GUILD_ID, unavailable: true }],
        application: { id: BOT.id, flags: 0 },
        shard: [0, 1],
      });
      dispatch('GUILD_CREATE', guildCreate());
      return;
    }
    if (op === 6) {
      const session = invalidateResume ? undefined : sessions.get(String(data.session_id));
      invalidateResume = false;
      if (!session) return ws.send(JSON.stringify({ op: 9, d: false, s: null, t: null }));
      current = session;
      const after = replayFrom ?? Number(data.seq);
      replayFrom = null;
      for (const event of session.log.filter((e) => e.s > after)) sendEvent(event);
      dispatch('RESUMED', {});
    }
  }

  function dispatch(t: string, d: unknown): number {
    if (!current) throw new Error('no gateway session yet');
    const event = { t, s: ++current.seq, d };
    current.log.push(event);
    if (socket && !silent) sendEvent(event);
    return event.s;
  }

  function sendEvent(event: { t: string; s: number; d: unknown }): void {
    if (!socket) return;
    delivered.push(event);
    socket.send(JSON.stringify({ op: 0, ...event }));
  }

  function message(m: MessageInput): string {
    const id = m.id ?? snowflake();
    const guild = m.guild ?? m.channelId !== DM;
    const author = m.author ?? ALICE;
    dispatch('MESSAGE_CREATE', {
      id,
      type: m.reference ? 19 : 0,
      channel_id: m.channelId,
      ...(guild
        ? { guild_id: GUILD_ID, member: { nick: null, roles: [], joined_at: new Date().toISOString() } }
        : {}),
      author,
      content: m.content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: (m.mentions ?? []).map((uid) => (uid === BOT.id ? BOT : { id: uid, username: 'someone' })),
      mention_roles: [],
      attachments: (m.attachments ?? []).map((a) => ({ id: snowflake(), proxy_url: a.url, ...a })),
      embeds: [],
      pinned: false,
      ...(m.reference
        ? {
            message_reference: { message_id: m.reference.id, channel_id: m.channelId },
            referenced_message: {
              ...baseMessage(m.reference.id, m.channelId, m.reference.author),
              content: m.reference.content,
            },
          }
        : {}),
      ...m.extra,
    });
    return id;
  }

  function press(p: { customId: string; messageId: string; channelId: string; user?: FakeUser }): string {
    const id = snowflake();
    const channel = CHANNELS[p.channelId]!;
    const user = p.user ?? ALICE;
    const inGuild = channel.guild_id !== undefined;
    dispatch('INTERACTION_CREATE', {
      id,
      application_id: BOT.id,
      type: 3,
      token: `interaction-token-${id}`,
      version: 1,
      data: { custom_id: p.customId, component_type: 2 },
      channel_id: p.channelId,
      channel,
      ...(inGuild
        ? {
            guild_id: GUILD_ID,
            member: { user, roles: [], permissions: '0', joined_at: new Date().toISOString() },
          }
        : { user }),
      message: { ...baseMessage(p.messageId, p.channelId, BOT), content: 'a card' },
      app_permissions: '0',
      locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: {},
      context: inGuild ? 0 : 1,
    });
    return id;
  }

  function dropSocket(code = 4000): void {
    socket?.close(code, 'dropped by the test');
    socket = null;
  }

  function comeBack(): void {
    silent = false;
    for (const res of held.splice(0)) res.destroy();
    // Sockets accepted while silent were never greeted: close them so the client reconnects.
    for (const client of wss.clients) if (client !== socket) client.terminate();
  }

  async function close(): Promise<void> {
    for (const res of held.splice(0)) res.destroy();
    for (const client of wss.clients) client.terminate();
    wss.close();
    api.closeAllConnections();
    cdn.closeAllConnections();
    await Promise.all([new Promise((r) => api.close(r)), new Promise((r) => cdn.close(r))]);
  }

  return {
    apiUrl: `${apiUrl}/api`,
    cdnUrl,
    token,
    calls,
    gatewayOps,
    delivered,
    strayHits,
    cdnHits,
    dispatch,
    message,
    press,
    cdnFile(name, data) {
      cdnFiles.set(`/attachments/${name}`, data);
      return `${cdnUrl}/attachments/${name}`;
    },
    failNext: (route, count, failure) => void failures.push({ route, left: count, failure }),
    loseNextPostAnswer: () => void (loseAnswer = true),
    stored: (channelId) => [...(storedMessages.get(channelId) ?? [])],
    rateLimitNext(route, count, retryAfterSeconds) {
      failures.push({
        route,
        left: count,
        failure: {
          status: 429,
          body: { message: 'You are being rate limited.', retry_after: retryAfterSeconds, global: false },
          headers: { 'retry-after': String(retryAfterSeconds), 'x-ratelimit-scope': 'user' },
        },
      });
    },
    refuseNextIdentify: (code) => void (refuseIdentify = code),
    dropSocket,
    replayNextResumeFrom: (seq) => void (replayFrom = seq),
    invalidateNextResume: () => void (invalidateResume = true),
    goSilent: () => void (silent = true),
    comeBack,
    connections: () => wss.clients.size,
    close,
  };
}

function guildCreate(): Record<string, unknown> {
  const inGuild = (c: (typeof CHANNELS)[string]): boolean => c.guild_id === GUILD_ID && c.id !== LATE_THREAD;
  return {
    id: GUILD_ID,
    name: 'Test guild',
    owner_id: ALICE.id,
    unavailable: false,
    member_count: 2,
    large: false,
    joined_at: new Date().toISOString(),
    features: [],
    roles: [
      {
        id: GUILD_ID,
        name: '@everyone',
        permissions: '0',
        position: 0,
        color: 0,
        hoist: false,
        managed: false,
        mentionable: false,
        flags: 0,
      },
    ],
    emojis: [],
    stickers: [],
    members: [],
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
    channels: Object.values(CHANNELS).filter((c) => inGuild(c) && c.type === 0),
    threads: Object.values(CHANNELS).filter((c) => inGuild(c) && c.type === 11),
  };
}

function baseMessage(id: string, channelId: string, author: FakeUser): Record<string, unknown> {
  return {
    id,
    type: 0,
    channel_id: channelId,
    author,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
  };
}

async function readBody(req: IncomingMessage, call: RecordedCall): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  if (body.length === 0) return;
  const type = String(req.headers['content-type'] ?? '');
  if (type.startsWith('application/json')) {
    call.json = JSON.parse(body.toString('utf8'));
  } else if (type.startsWith('multipart/form-data')) {
    const form = await new Request('http://fake/', {
      method: 'POST',
      headers: { 'content-type': type },
      body,
    }).formData();
    call.files = [];
    for (const [key, value] of form) {
      if (key === 'payload_json') call.json = JSON.parse(String(value));
      else if (typeof value !== 'string')
        call.files.push({ name: value.name, data: Buffer.from(await value.arrayBuffer()) });
    }
  }
}

function send(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  if (body === undefined) return void res.writeHead(status, headers).end();
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}
