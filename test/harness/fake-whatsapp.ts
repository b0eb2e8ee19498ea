// A fake WhatsApp Cloud API (Graph API) on 127.0.0.1 for the WhatsApp adapter, and the other half of
// the platform: signed webhook notifications posted to Warren the way Meta posts them.
//
//   const wa = await startFakeWhatsApp({ phoneNumberId: '1065', token: 'EAAG…' });
//   adapter / installation config: { apiBaseUrl: wa.apiBaseUrl, phoneNumberId: wa.phoneNumberId }
//   wa.sent('15550001')                      // messages posted to that person, in order (the body as sent)
//   wa.failNext(2, { status: 400, code: 131056 })   // the next 2 sends refused: pair rate limit
//   const media = wa.addMedia(Buffer.from('…'), 'text/plain')   // → media id for a document message
//   await postWebhook(url, APP_SECRET, notification([textMessage({ from, id: 'wamid.1', text: 'hi' })]))
//
// Serves GET /{version}/{phone-number-id} (the number), POST /{version}/{phone-number-id}/messages,
// POST /{version}/{phone-number-id}/media (multipart upload), GET /{version}/{media-id} (the lookup,
// naming a download URL on this server) and GET /media-files/{media-id} (the bytes). Every call needs
// `Authorization: Bearer <token>`; a wrong one gets Graph's 401 with error code 190.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signWhatsAppBody } from '../../src/host/channels/adapters/whatsapp/index.ts';

export interface SentMessage {
  to: string;
  type: string;
  /** The JSON body as the adapter posted it. */
  body: Record<string, unknown>;
  /** The id the fake gave it. */
  id: string;
  at: number;
}

export interface GraphCall {
  method: string;
  path: string;
  at: number;
  authorization: string | undefined;
  body?: Record<string, unknown>;
}

export interface GraphFault {
  status: number;
  code?: number;
  message?: string;
  retryAfter?: number;
}

export interface Upload {
  id: string;
  name: string;
  type: string;
  data: Buffer;
}

export interface FakeWhatsAppOptions {
  phoneNumberId?: string;
  token?: string;
  version?: string;
  verifiedName?: string;
}

export async function startFakeWhatsApp(options: FakeWhatsAppOptions = {}) {
  const phoneNumberId = options.phoneNumberId ?? '106540352242922';
  const token = options.token ?? 'EAAG-fake-access-token';
  const version = options.version ?? 'v21.0';
  const calls: GraphCall[] = [];
  const sent: SentMessage[] = [];
  const refused: { body: Record<string, unknown>; fault: GraphFault; at: number }[] = [];
  const faults: GraphFault[] = [];
  const media = new Map<string, { data: Buffer; type: string }>();
  const uploads: Upload[] = [];
  const downloads: { id: string; authorization: string | undefined }[] = [];
  const reads: { messageId: string; typing: boolean; at: number }[] = [];
  let counter = 0;

  const server = createServer((req, res) => void answer(req, res).catch(() => res.destroy()));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = new URL(req.url ?? '/', origin).pathname;
    const authorization = req.headers.authorization;
    const json =
      (req.headers['content-type'] ?? '').startsWith('application/json') && raw.length > 0
        ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>)
        : undefined;
    calls.push({
      method: req.method ?? '',
      path,
      at: Date.now(),
      authorization,
      ...(json ? { body: json } : {}),
    });
    if (authorization !== `Bearer ${token}`) {
      return reply(res, 401, {
        error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 },
      });
    }
    const download = /^\/media-files\/([\w.-]+)$/.exec(path);
    if (req.method === 'GET' && download) {
      downloads.push({ id: download[1]!, authorization });
      const file = media.get(download[1]!);
      if (!file) return reply(res, 404, { error: { message: 'no such media', code: 100 } });
      res.writeHead(200, { 'content-type': file.type, 'content-length': file.data.length });
      return void res.end(file.data);
    }
    const prefix = `/${version}/`;
    if (!path.startsWith(prefix)) return reply(res, 404, { error: { message: 'unknown path', code: 100 } });
    const rest = path.slice(prefix.length);
    if (req.method === 'GET' && rest === phoneNumberId) {
      return reply(res, 200, {
        id: phoneNumberId,
        verified_name: options.verifiedName ?? 'Warren Test',
        display_phone_number: '+1 555-010-0000',
      });
    }
    if (req.method === 'POST' && rest === `${phoneNumberId}/messages`) return postMessage(res, json ?? {});
    if (req.method === 'POST' && rest === `${phoneNumberId}/media`) {
      const form = await new Response(raw, {
        headers: { 'content-type': req.headers['content-type'] ?? '' },
      }).formData();
      const file = form.get('file');
      if (!(file instanceof File) || form.get('messaging_product') !== 'whatsapp') {
        return reply(res, 400, { error: { message: 'file and messaging_product are required', code: 100 } });
      }
      const id = `up${++counter}`;
      uploads.push({
        id,
        name: file.name,
        type: String(form.get('type')),
        data: Buffer.from(await file.arrayBuffer()),
      });
      return reply(res, 200, { id });
    }
    const file = req.method === 'GET' ? media.get(rest) : undefined;
    if (file) {
      return reply(res, 200, {
        messaging_product: 'whatsapp',
        id: rest,
        url: `${origin}/media-files/${rest}`,
        mime_type: file.type,
        sha256: createHash('sha256').update(file.data).digest('hex'),
        file_size: file.data.length,
      });
    }
    return reply(res, 404, { error: { message: `unknown object ${rest}`, code: 100 } });
  }

  function postMessage(res: ServerResponse, body: Record<string, unknown>): void {
    if (body.status === 'read') {
      if (typeof body.message_id !== 'string')
        return reply(res, 400, { error: { message: 'message_id', code: 100 } });
      reads.push({ messageId: body.message_id, typing: body.typing_indicator !== undefined, at: Date.now() });
      return reply(res, 200, { success: true });
    }
    const fault = faults.shift();
    if (fault) {
      refused.push({ body, fault, at: Date.now() });
      const headers: Record<string, string> =
        fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
      return reply(
        res,
        fault.status,
        { error: { message: fault.message ?? 'refused by the fake', code: fault.code ?? fault.status } },
        headers,
      );
    }
    if (
      body.messaging_product !== 'whatsapp' ||
      typeof body.to !== 'string' ||
      typeof body.type !== 'string'
    ) {
      return reply(res, 400, {
        error: { message: 'messaging_product, to and type are required', code: 100 },
      });
    }
    const id = `wamid.out.${++counter}`;
    sent.push({ to: body.to, type: body.type, body, id, at: Date.now() });
    reply(res, 200, {
      messaging_product: 'whatsapp',
      contacts: [{ input: body.to, wa_id: body.to }],
      messages: [{ id }],
    });
  }

  return {
    apiBaseUrl: origin,
    origin,
    phoneNumberId,
    token,
    version,
    /** Messages accepted, to one person or to all. */
    sent: (to?: string) => (to === undefined ? [...sent] : sent.filter((m) => m.to === to)),
    /** Sends refused by failNext, with the body that was refused. */
    refused: () => [...refused],
    calls: () => [...calls],
    uploads: () => [...uploads],
    downloads: () => [...downloads],
    /** Read receipts, with or without "typing…", by the message they mark. */
    reads: () => [...reads],
    /** The next `n` message sends are refused with this fault. */
    failNext(n: number, fault: GraphFault) {
      for (let i = 0; i < n; i++) faults.push(fault);
    },
    /** A file a person sent: its media id for a message's image/document/audio. */
    addMedia(data: Buffer, type: string): string {
      const id = `media${++counter}`;
      media.set(id, { data, type });
      return id;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

export type FakeWhatsApp = Awaited<ReturnType<typeof startFakeWhatsApp>>;

// ---- Meta's side of the webhook ----

export interface IncomingText {
  from: string;
  id: string;
  text?: string;
  /** The message this one answers (a reply in WhatsApp). */
  context?: { id: string; from?: string };
  timestamp?: number;
}

export const textMessage = (m: IncomingText) => ({
  from: m.from,
  id: m.id,
  timestamp: String(m.timestamp ?? Math.floor(Date.now() / 1000)),
  type: 'text',
  text: { body: m.text ?? '' },
  ...(m.context ? { context: m.context } : {}),
});

/** A press on a reply button: its id is the button's id (Warren's token), its title the label. */
export const buttonReply = (m: {
  from: string;
  id: string;
  buttonId: string;
  title: string;
  context?: string;
}) => ({
  from: m.from,
  id: m.id,
  timestamp: String(Math.floor(Date.now() / 1000)),
  type: 'interactive',
  interactive: { type: 'button_reply', button_reply: { id: m.buttonId, title: m.title } },
  ...(m.context ? { context: { id: m.context, from: '15550100000' } } : {}),
});

export const documentMessage = (m: {
  from: string;
  id: string;
  mediaId: string;
  filename: string;
  mimeType: string;
  caption?: string;
}) => ({
  from: m.from,
  id: m.id,
  timestamp: String(Math.floor(Date.now() / 1000)),
  type: 'document',
  document: {
    id: m.mediaId,
    filename: m.filename,
    mime_type: m.mimeType,
    ...(m.caption ? { caption: m.caption } : {}),
  },
});

/** A notification as Meta posts it: messages to `phoneNumberId`, with the senders' profile names. */
export function notification(
  phoneNumberId: string,
  messages: Record<string, unknown>[],
  names: Record<string, string> = {},
) {
  const senders = [...new Set(messages.map((m) => String(m.from)))];
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'WABA-1',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550100000', phone_number_id: phoneNumberId },
              contacts: senders.map((wa_id) => ({
                wa_id,
                profile: { name: names[wa_id] ?? `Person ${wa_id.slice(-4)}` },
              })),
              messages,
            },
          },
        ],
      },
    ],
  };
}

/**
 * POSTs a notification to a webhook URL as Meta does: the body signed with the app secret in
 * X-Hub-Signature-256. `signature: null` leaves the header out; a string replaces it.
 */
export async function postWebhook(
  url: string,
  appSecret: string,
  payload: unknown,
  options: { signature?: string | null } = {},
): Promise<Response> {
  const body = JSON.stringify(payload);
  const signature = options.signature === undefined ? signWhatsAppBody(appSecret, body) : options.signature;
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(signature !== null ? { 'x-hub-signature-256': signature } : {}),
    },
    body,
  });
}

function reply(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
