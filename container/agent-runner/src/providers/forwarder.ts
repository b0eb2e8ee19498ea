// The container has no network: the model clients (the claude binary, the openai client) talk plain
// HTTP to this loopback server, which relays each request to the host's model gateway on a unix
// socket (WARREN_GATEWAY_SOCKET). The gateway adds the real key; none ever exists in here.
// It relays at the HTTP level (bodies stream through untouched) so that it can also:
// - answer in the providers' error format when the gateway cannot be reached, so the clients retry
//   and then report it like any other model error;
// - turn a Retry-After longer than the turn may wait into `x-should-retry: false`, so a client
//   gives up at once instead of holding the turn for minutes;
// - remember the last refusals, so the provider can tell the user why (budget, rate, model, …).
import { Agent, createServer, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Log } from '../log.ts';
import { errorText } from '../../../../src/shared/error-text.ts';

/** A model call that did not succeed, as the forwarder saw it. */
export interface ObservedFailure {
  /** HTTP status; 502 when the gateway itself could not be reached. */
  status: number;
  /** The gateway's reason (its x-warren-gateway header: rate_limited, budget_exhausted, …), if it refused. */
  gatewayReason: string | null;
  /** error.message of the body, when it had one. */
  message: string | null;
  /** Retry-After in seconds, when given. */
  retryAfterS: number | null;
}

export interface Forwarder {
  /** http://127.0.0.1:<port>: the base URL the model clients use. */
  readonly url: string;
  /** A position in the failure record; failuresSince(mark) lists what came after it. */
  mark(): number;
  failuresSince(mark: number): ObservedFailure[];
  close(): Promise<void>;
}

export interface ForwarderOptions {
  socketPath: string;
  /** Longest Retry-After a client may wait for; anything longer is marked not worth retrying. */
  maxRetryWaitMs: number;
  log: Log;
}

/** Failures kept for failuresSince (a turn only looks at its own, the last few). */
const KEPT_FAILURES = 32;
/** Bytes of an error body kept to read its message. */
const ERROR_BODY_BYTES = 4096;
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade'];

export async function startForwarder(options: ForwarderOptions): Promise<Forwarder> {
  const { socketPath, log } = options;
  const agent = new Agent({ keepAlive: true });
  const failures: { index: number; failure: ObservedFailure }[] = [];
  let count = 0;
  const record = (failure: ObservedFailure) => {
    failures.push({ index: ++count, failure });
    if (failures.length > KEPT_FAILURES) failures.shift();
  };

  const server = createServer((req, res) => {
    const started = performance.now();
    let clientGone = false;
    const upstream = request(
      { socketPath, agent, method: req.method, path: req.url, headers: withoutHopByHop(req.headers) },
      (answer) => {
        const status = answer.statusCode ?? 502;
        const headers = capRetryWait(withoutHopByHop(answer.headers), options.maxRetryWaitMs);
        res.writeHead(status, headers);
        answer.pipe(res);
        if (status < 400) {
          answer.once('end', () => log.info('model call', { path: req.url, status, ms: elapsed(started) }));
          return;
        }
        const body: Buffer[] = [];
        let kept = 0;
        answer.on('data', (chunk: Buffer) => {
          if (kept < ERROR_BODY_BYTES) body.push(chunk.subarray(0, ERROR_BODY_BYTES - kept));
          kept += chunk.length;
        });
        answer.once('end', () => {
          const failure = observe(status, headers, Buffer.concat(body).toString('utf8'));
          record(failure);
          log.warn('model call failed', { path: req.url, ...failure, ms: elapsed(started) });
        });
      },
    );
    upstream.on('error', (err) => {
      if (clientGone) return; // we cut it ourselves: the client timed out or aborted
      // Before an answer began: the gateway is not there (socket missing, host restarting).
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = `the host's model gateway cannot be reached (${errorText(err)})`;
      record({ status: 502, gatewayReason: 'gateway_unreachable', message, retryAfterS: null });
      log.warn('model gateway unreachable', { path: req.url, socket: socketPath, error: errorText(err) });
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message } }));
    });
    // The client gave up (timeout, abort): stop the call upstream too.
    res.on('close', () => {
      if (res.writableFinished) return;
      clientGone = true;
      upstream.destroy();
    });
    req.pipe(upstream);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    mark: () => count,
    failuresSince: (mark) => failures.filter((f) => f.index > mark).map((f) => f.failure),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const copy: OutgoingHttpHeaders = { ...headers };
  for (const name of HOP_BY_HOP) delete copy[name];
  return copy;
}

/** Pure: a Retry-After (seconds or ms) above the limit becomes a clear "do not retry". */
export function capRetryWait(headers: OutgoingHttpHeaders, maxWaitMs: number): OutgoingHttpHeaders {
  const waitMs = retryAfterMs(headers);
  if (waitMs === null || waitMs <= maxWaitMs) return headers;
  return { ...headers, 'x-should-retry': 'false' };
}

function retryAfterMs(headers: OutgoingHttpHeaders): number | null {
  const ms = Number(headers['retry-after-ms']);
  if (headers['retry-after-ms'] !== undefined && Number.isFinite(ms)) return ms;
  const raw = headers['retry-after'];
  if (raw === undefined) return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const at = Date.parse(String(raw));
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** Pure: what a failed answer says, from its status, headers and (the start of) its body. */
export function observe(status: number, headers: OutgoingHttpHeaders, body: string): ObservedFailure {
  const reason = headers['x-warren-gateway'];
  const wait = retryAfterMs(headers);
  return {
    status,
    gatewayReason: typeof reason === 'string' ? reason : null,
    message: errorMessage(body),
    retryAfterS: wait === null ? null : Math.ceil(wait / 1000),
  };
}

/** error.message of an Anthropic- or OpenAI-style error body, else null. */
function errorMessage(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const error = parsed.error;
    if (typeof error === 'string') return error;
    if (typeof error?.message === 'string') return error.message;
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: no message to show
  }
  return null;
}

const elapsed = (started: number) => Math.round(performance.now() - started);
