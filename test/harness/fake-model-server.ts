// The part both fake model APIs share (fake-anthropic.ts, fake-openai.ts): a real node:http server on
// 127.0.0.1 with a random port, every request recorded (headers, raw and parsed body), a queue of
// scripted replies with a fallback, injected faults, and a close() that also ends hanging calls.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query as received, e.g. /v1/messages?beta=true */
  path: string;
  /** Lower-case names, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  /** The JSON body, or undefined when there was none or it was not JSON. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read provider-specific fields
}

/** Faults either fake can inject instead of a reply. */
export type Fault =
  /** Answer with this status and body (an object is sent as JSON). */
  | { fault: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Never answer (until the client gives up or the server closes): for timeouts. */
  | { fault: 'hang' }
  /** Start a streamed answer, then go silent: for idle timeouts mid-stream. */
  | { fault: 'stall' }
  /** Start a streamed answer, send a line that is not an event, then cut the connection. */
  | { fault: 'malformed' };

export interface FakeServerCore<R> {
  url: string;
  requests: RecordedRequest[];
  /** Queue replies; each model call takes the next one, then the fallback. */
  reply(...replies: R[]): void;
  /** Requests that were cut off by the client before the fake finished answering. */
  aborted(): number;
  close(): Promise<void>;
}

/** What each fake's reply options share: how a streamed answer is paced. */
export interface StreamPacing {
  /** Pause between streamed events (ms). */
  chunkDelayMs?: number;
  /** Streamed: after the first delta, wait for this before sending the rest. */
  holdUntil?: Promise<unknown>;
}

/** One model call the fake answered (faults excluded), with the usage it reported. */
export interface ModelResponseRecord<U> {
  path: string;
  stream: boolean;
  model: string;
  usage: U;
}

export interface FakeModelApi<R, U> extends FakeServerCore<R> {
  /** Model calls answered (faults excluded), in order, with the usage each reported. */
  responses: ModelResponseRecord<U>[];
}

export interface FakeModelApiOptions<R> {
  /** Required API key; unset = any or none accepted. */
  apiKey?: string;
  /** Answers a model call when the queue is empty; default: the text "ok". */
  fallback?: (request: RecordedRequest) => R;
}

/** A model API's handler: `takeReply` gives the next queued reply (or the fallback's). */
export type ModelHandler<R, U> = (
  req: RecordedRequest,
  res: ServerResponse,
  takeReply: () => R,
  responses: ModelResponseRecord<U>[],
) => Promise<void> | void;

export async function startFakeModelApi<R extends { text?: string } | Fault, U>(
  options: FakeModelApiOptions<R>,
  handler: ModelHandler<R, U>,
): Promise<FakeModelApi<R, U>> {
  const responses: ModelResponseRecord<U>[] = [];
  const fallback = options.fallback ?? (() => ({ text: 'ok' }) as R);
  const core = await startFakeServer<R>((req, res, next) =>
    handler(req, res, () => next() ?? fallback(req), responses),
  );
  return { ...core, responses };
}

export type Handler<R> = (
  req: RecordedRequest,
  res: ServerResponse,
  next: () => R | undefined,
) => Promise<void> | void;

export async function startFakeServer<R>(handler: Handler<R>): Promise<FakeServerCore<R>> {
  const requests: RecordedRequest[] = [];
  const queue: R[] = [];
  const sockets = new Set<Socket>();
  let aborted = 0;
  const server = createServer((req, res) => {
    void receive(req).then(async (recorded) => {
      requests.push(recorded);
      res.on('close', () => {
        if (!res.writableFinished) aborted++;
      });
      try {
        await handler(recorded, res, () => queue.shift());
      } catch (err) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake server error: ${String(err)}`);
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply: (...replies) => queue.push(...replies),
    aborted: () => aborted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function receive(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  let body: unknown;
  try {
    body = raw ? JSON.parse(raw) : undefined;
  } catch {
    body = undefined;
  }
  return { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, raw, body };
}

/** Handles the faults both fakes share; true when `reply` was one. */
export function answerFault(reply: unknown, res: ServerResponse, streamStart: () => string): reply is Fault {
  const fault = (reply as Partial<Fault> | undefined)?.fault;
  if (!fault) return false;
  const f = reply as Fault;
  if (f.fault === 'status') {
    const isText = typeof f.body === 'string';
    res.writeHead(f.status, { 'content-type': isText ? 'text/plain' : 'application/json', ...f.headers });
    res.end(isText ? f.body : JSON.stringify(f.body ?? {}));
  } else if (f.fault === 'stall') {
    res.writeHead(200, SSE_HEADERS);
    res.write(streamStart());
  } else if (f.fault === 'malformed') {
    res.writeHead(200, SSE_HEADERS);
    res.write(streamStart());
    res.write('this is not an event\n{"broken": \n\n');
    setTimeout(() => res.socket?.destroy(), 10);
  }
  // 'hang': nothing at all
  return true;
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'request-id': 'req_fake',
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes one piece of a streamed answer and lets it leave before the next (no coalescing). */
export async function writeChunk(res: ServerResponse, text: string, delayMs: number): Promise<void> {
  if (res.destroyed) return;
  res.write(text);
  if (delayMs > 0) await sleep(delayMs);
}

/** Waits for `holdUntil` after the first delta only; call it after each delta is written. */
export function holdAfterFirstDelta(holdUntil: Promise<unknown> | undefined): () => Promise<void> {
  let first = true;
  return async () => {
    if (first && holdUntil) await holdUntil;
    first = false;
  };
}

/** Splits text into a few pieces so a stream has several deltas. */
export function pieces(text: string): string[] {
  const words = text.split(/(?<= )/);
  return words.length > 0 ? words : [''];
}
