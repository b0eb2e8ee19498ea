// An integrator's side of a signed webhook on 127.0.0.1: a real HTTP server taking Warren's signed
// replies at `url`, checking each with the standardwebhooks package (an implementation independent of
// Warren's), and a signer for the messages the integrator POSTs to Warren.
//
//   const rx = await startWebhookReceiver({ secret: CALLBACK_SECRET });
//   rx.failNext(2, { status: 503 });          // the next two POSTs answered 503
//   rx.received                               // every POST, verified or not, in order
//   rx.delivered()                            // the POSTs answered 2xx
//   signedPost(url, INBOUND_SECRET, body, { id, at })  → fetch Response
import { once } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** A fresh `whsec_` secret of 32 random bytes. */
export const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

export interface ReceivedPost {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Whether standardwebhooks' verify() accepted it (with its own clock and 5-minute tolerance). */
  verified: boolean;
  /** The parsed body when verified. */
  payload?: Record<string, unknown>;
  status: number;
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface WebhookReceiver {
  url: string;
  origin: string;
  received: ReceivedPost[];
  /** The verified POSTs answered 2xx. */
  delivered(): ReceivedPost[];
  /**
   * The next `count` POSTs get `answer` instead of 200; with `chatId`, only POSTs to that chat (a
   * reply still in flight to another chat is not the one meant).
   */
  failNext(count: number, answer: Answer, chatId?: string): void;
  /** Every POST from now on gets `answer` (undefined: back to 200 with `{ id }`). */
  answerAll(answer: Answer | undefined): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: { secret: string }): Promise<WebhookReceiver> {
  const verifier = new Webhook(options.secret);
  const received: ReceivedPost[] = [];
  const queued: { answer: Answer; chatId: string | undefined }[] = [];
  let always: Answer | undefined;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
      );
      let payload: Record<string, unknown> | undefined;
      try {
        payload = verifier.verify(body, headers) as Record<string, unknown>;
      } catch {
        payload = undefined;
      }
      const chatId = (payload?.chat as { id?: unknown } | undefined)?.id;
      const next = queued.findIndex((q) => q.chatId === undefined || q.chatId === chatId);
      const answer = (next >= 0 ? queued.splice(next, 1)[0]!.answer : undefined) ??
        always ?? {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: `rx-${received.length + 1}` }),
        };
      received.push({
        path: req.url ?? '',
        headers,
        body,
        verified: payload !== undefined,
        ...(payload && { payload }),
        status: answer.status,
        at: Date.now(),
      });
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/hooks/warren`,
    origin,
    received,
    delivered: () => received.filter((r) => r.verified && r.status >= 200 && r.status < 300),
    failNext(count, answer, chatId) {
      for (let i = 0; i < count; i++) queued.push({ answer, chatId });
    },
    answerAll(answer) {
      always = answer;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The three Standard Webhooks headers for `body`, signed by standardwebhooks with `secret`. */
export function signWith(
  secret: string,
  body: string,
  options: { id?: string; at?: Date } = {},
): Record<string, string> {
  const id = options.id ?? `msg_${randomUUID()}`;
  const at = options.at ?? new Date();
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

/** POSTs `body` (an object is sent as JSON) to `url`, signed with `secret`. */
export function signedPost(
  url: string,
  secret: string,
  body: unknown,
  options: { id?: string; at?: Date } = {},
): Promise<Response> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signWith(secret, text, options) },
    body: text,
  });
}
