// A fake Slack on 127.0.0.1 for tests of the Slack adapter: the Web API under `apiUrl` (form-encoded
// POSTs, as @slack/web-api sends them) and Socket Mode (apps.connections.open hands out a ws:// URL on the
// same server, which says hello and takes acks by envelope_id). It records every call.
//
//   const slack = await startFakeSlack();
//   const adapter = createSlackAdapter({ apiBaseUrl: slack.apiUrl, secret: slack.secret, … });
//   const sent = slack.sendEvent({ type: 'message', channel: 'D1', channel_type: 'im', user: 'U1', text: 'hi', ts });
//   await slack.waitForAck(sent.envelopeId);
//   slack.redeliver(sent.envelopeId);                  // same envelope, retry_attempt + 1
//   slack.sendEvent(sameEvent);                        // a resend: new event_id, same ts
//   slack.failNext('chat.postMessage', 1, { status: 429, retryAfter: 3 });   // or { error: 'ratelimited' }
//   slack.hang(); … slack.resume();                    // stop answering (HTTP held, pings unanswered)
//
// Envelopes not yet acknowledged are sent again to each new connection, as Slack redelivers them.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export const BOT_TOKEN = 'xoxb-fake-bot-token';
export const APP_TOKEN = 'xapp-fake-app-token';

export interface SlackCall {
  method: string;
  token: string | undefined;
  params: Record<string, unknown>;
  /** When the call arrived (Date.now()). */
  at: number;
}

export type SlackFault = { status: number; retryAfter?: number } | { error: string; retryAfter?: number };

export interface PostedMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: {
    type: string;
    text?: { text: string };
    elements?: { value: string; text: { text: string } }[];
  }[];
  thread_ts?: string;
}

interface Envelope {
  envelope_id: string;
  type: 'events_api' | 'interactive';
  payload: unknown;
  retry_attempt: number;
  retry_reason: string;
  accepts_response_payload: boolean;
}

export interface FakeSlackOptions {
  botUserId?: string;
  botName?: string;
  users?: Record<string, string>;
}

export async function startFakeSlack(options: FakeSlackOptions = {}) {
  const botUserId = options.botUserId ?? 'UBOT';
  const calls: SlackCall[] = [];
  const messages: PostedMessage[] = [];
  const faults = new Map<string, SlackFault[]>();
  const acks: string[] = [];
  const unacked = new Map<string, Envelope>();
  /** Every envelope sent, so one already acknowledged can still be redelivered. */
  const envelopes = new Map<string, Envelope>();
  const files = new Map<string, Buffer>();
  const uploads: { fileId: string; name: string; bytes?: Buffer; completed?: Record<string, unknown> }[] = [];
  const downloads: { path: string; authorization: string | undefined }[] = [];
  const held: ServerResponse[] = [];
  let sockets: WebSocket[] = [];
  let hanging = false;
  let resumed: Promise<void> = Promise.resolve();
  let release = () => {};
  let counter = 0;
  const tickets = new Set<string>();
  const next = () => ++counter;
  const newTs = () => `1700000${String(100 + next()).padStart(3, '0')}.${String(next()).padStart(6, '0')}`;

  const server = createServer((req, res) => void answer(req, res).catch(() => res.destroy()));
  const wss = new WebSocketServer({ noServer: true, autoPong: false });
  server.on('upgrade', (req, socket, head) => {
    const ticket = new URL(req.url ?? '/', 'http://x').searchParams.get('ticket') ?? '';
    if (hanging || !tickets.delete(ticket)) return void socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.push(ws);
      ws.on('ping', (data) => !hanging && ws.pong(data));
      ws.on('message', (data) => {
        const { envelope_id: id } = JSON.parse(String(data)) as { envelope_id?: string };
        if (id === undefined) return;
        acks.push(id);
        unacked.delete(id);
      });
      ws.on('close', () => (sockets = sockets.filter((s) => s !== ws)));
      ws.send(
        JSON.stringify({ type: 'hello', num_connections: sockets.length, connection_info: { app_id: 'A1' } }),
      );
      for (const envelope of unacked.values())
        deliver({ ...envelope, retry_attempt: envelope.retry_attempt + 1 });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (hanging) {
      held.push(res);
      await resumed;
    }
    const url = new URL(req.url ?? '/', origin);
    const authorization = req.headers.authorization;
    if (req.method === 'GET' && url.pathname.startsWith('/files-pri/')) {
      downloads.push({ path: url.pathname, authorization });
      const data = files.get(url.pathname);
      if (authorization !== `Bearer ${BOT_TOKEN}`) return void res.writeHead(403).end();
      return void (data ? res.writeHead(200).end(data) : res.writeHead(404).end());
    }
    if (req.method === 'POST' && url.pathname.startsWith('/upload/')) {
      const upload = uploads.find((u) => url.pathname === `/upload/${u.fileId}`);
      if (upload) upload.bytes = body;
      return void res.writeHead(upload ? 200 : 404).end('OK');
    }
    const method = url.pathname.replace(/^\/api\//, '');
    const params = parseParams(req.headers['content-type'], body);
    const token = authorization?.replace(/^Bearer /, '') ?? (params.token as string | undefined);
    calls.push({ method, token, params, at: Date.now() });
    const fault = faults.get(method)?.shift();
    if (fault) return sendFault(res, fault);
    const expected = method === 'apps.connections.open' ? APP_TOKEN : BOT_TOKEN;
    if (token !== expected) return json(res, { ok: false, error: 'invalid_auth' });
    json(res, { ok: true, ...apiMethod(method, params) });
  }

  function apiMethod(method: string, params: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { user_id: botUserId, bot_id: 'BBOT', user: options.botName ?? 'warren', team_id: 'T1' };
      case 'apps.connections.open': {
        const ticket = `t${next()}`;
        tickets.add(ticket);
        return { url: `${origin.replace('http', 'ws')}/link/?ticket=${ticket}` };
      }
      case 'users.info': {
        const name = options.users?.[String(params.user)];
        return name ? { user: { id: params.user, real_name: name, profile: { display_name: name } } } : {};
      }
      case 'chat.postMessage': {
        const message = { ...params, ts: newTs() } as unknown as PostedMessage;
        messages.push(message);
        return { channel: params.channel, ts: message.ts, message };
      }
      case 'chat.update':
        return { channel: params.channel, ts: params.ts, text: params.text };
      case 'files.getUploadURLExternal': {
        const fileId = `F${next()}`;
        uploads.push({ fileId, name: String(params.filename) });
        return { upload_url: `${fake.uploadOrigin ?? origin}/upload/${fileId}`, file_id: fileId };
      }
      case 'files.completeUploadExternal': {
        const [{ id }] = params.files as [{ id: string }];
        const upload = uploads.find((u) => u.fileId === id);
        if (upload) upload.completed = params;
        const ts = newTs();
        messages.push({
          channel: String(params.channel_id),
          ts,
          thread_ts: params.thread_ts as string | undefined,
        });
        return { files: [{ id, shares: { public: { [String(params.channel_id)]: [{ ts }] } } }] };
      }
      default:
        return {};
    }
  }

  function deliver(envelope: Envelope): void {
    envelopes.set(envelope.envelope_id, envelope);
    unacked.set(envelope.envelope_id, envelope);
    for (const ws of sockets) ws.send(JSON.stringify(envelope));
  }

  function envelope(type: Envelope['type'], payload: unknown): Envelope {
    const id = `env-${next()}`;
    return {
      envelope_id: id,
      type,
      payload,
      retry_attempt: 0,
      retry_reason: '',
      accepts_response_payload: false,
    };
  }

  const fake = {
    origin,
    apiUrl: `${origin}/api/`,
    botUserId,
    calls,
    messages,
    acks,
    uploads,
    downloads,
    /** Where files.getUploadURLExternal points uploads (another origin: the adapter must refuse it). */
    uploadOrigin: undefined as string | undefined,
    /** The secret() of an installation holding the fake's tokens. */
    secret(role: string): string {
      if (role === 'botToken') return BOT_TOKEN;
      if (role === 'appToken') return APP_TOKEN;
      throw new Error(`no secret ${role}`);
    },
    callsTo: (method: string) => calls.filter((call) => call.method === method),
    connections: () => sockets.length,
    /** An Events API envelope with a fresh event_id (a resend of the same message gets a new one too). */
    sendEvent(event: Record<string, unknown>, eventId = `Ev${next()}`) {
      const sent = envelope('events_api', {
        type: 'event_callback',
        team_id: 'T1',
        event_id: eventId,
        event,
      });
      deliver(sent);
      return { envelopeId: sent.envelope_id, eventId };
    },
    sendInteraction(payload: Record<string, unknown>) {
      const sent = envelope('interactive', payload);
      deliver(sent);
      return { envelopeId: sent.envelope_id };
    },
    /** Any message on every open socket (`{ type: 'disconnect', reason: 'refresh_requested' }`). */
    sendRaw(message: Record<string, unknown>) {
      for (const ws of sockets) ws.send(JSON.stringify(message));
    },
    /** The same envelope again, as Slack retries one it has no ack for. */
    redeliver(envelopeId: string) {
      const first = envelopes.get(envelopeId);
      if (!first) throw new Error(`no envelope ${envelopeId}`);
      deliver({ ...first, retry_attempt: first.retry_attempt + 1, retry_reason: 'timeout' });
    },
    acked: (envelopeId: string) => acks.includes(envelopeId),
    /** A file on the files host: the fields a message's `files` entry carries. */
    addFile(name: string, data: Buffer, mimetype = 'application/octet-stream') {
      const id = `F${next()}`;
      const path = `/files-pri/T1-${id}/download/${encodeURIComponent(name)}`;
      files.set(path, data);
      return { id, name, mimetype, size: data.length, url_private_download: `${origin}${path}` };
    },
    failNext(method: string, count: number, fault: SlackFault) {
      faults.set(method, [...(faults.get(method) ?? []), ...Array.from({ length: count }, () => fault)]);
    },
    /** Stops answering: HTTP requests are held, pings go unanswered, new sockets are refused. */
    hang() {
      hanging = true;
      resumed = new Promise((resolve) => (release = resolve));
    },
    resume() {
      hanging = false;
      held.length = 0;
      release();
    },
    dropSockets() {
      for (const ws of sockets) ws.terminate();
    },
    async close() {
      for (const res of held) res.destroy();
      fake.resume();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  return fake;
}

export type FakeSlack = Awaited<ReturnType<typeof startFakeSlack>>;

function sendFault(res: ServerResponse, fault: SlackFault): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
  if ('status' in fault) return void res.writeHead(fault.status, headers).end('{}');
  res.writeHead(200, headers).end(JSON.stringify({ ok: false, error: fault.error }));
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Form fields, with the ones the client JSON-encodes (blocks, files…) decoded. */
function parseParams(contentType: string | undefined, body: Buffer): Record<string, unknown> {
  if (contentType?.startsWith('application/json')) return JSON.parse(String(body)) as Record<string, unknown>;
  const params: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(String(body))) {
    params[key] = /^[[{]/.test(value) ? tryJson(value) : value;
  }
  return params;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
