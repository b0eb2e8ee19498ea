// One model call, passed through: the upstream response goes back to the container byte for byte as
// it arrives (server-sent events are never buffered), with a timeout for the first byte and between
// chunks, and the upstream call aborted as soon as the container hangs up.
import type { ServerResponse } from 'node:http';
import type { Provider } from '../../db/enums.ts';
import { refusal, streamedRefusal, type Refusal } from './refusals.ts';
import { downstreamHeaders } from './upstream.ts';

export interface UpstreamCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** Longest wait for the response to start, and between two chunks of it. */
  timeoutMs: number;
}

export interface ForwardContext {
  provider: Provider;
  /** Names the agent group in error messages. */
  group: string;
  /** The key added to the call: never repeated in an error message, whatever the HTTP client says. */
  key: string | undefined;
  fetch: typeof fetch;
  /** Sees every chunk of the response body after it was written to the client (usage tap). */
  onChunk?: (chunk: Uint8Array, contentType: string | null) => void;
}

export interface ForwardResult {
  /** The upstream response's status; undefined when none arrived. */
  upstreamStatus?: number;
  /** Set when the call did not complete normally. */
  failure?: 'timeout' | 'unreachable' | 'client_closed' | 'broken';
}

export async function forwardCall(
  call: UpstreamCall,
  res: ServerResponse,
  ctx: ForwardContext,
): Promise<ForwardResult> {
  const controller = new AbortController();
  let timedOut = false;
  let clientClosed = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, call.timeoutMs);
  };
  const onClose = () => {
    if (res.writableFinished) return;
    clientClosed = true;
    controller.abort();
  };
  res.on('close', onClose);
  const target = new URL(call.url).origin;
  const breakdown = (): Breakdown => ({ target, timeoutMs: call.timeoutMs, timedOut, clientClosed });
  arm();
  try {
    let upstream: Response;
    try {
      upstream = await ctx.fetch(call.url, {
        method: call.method,
        headers: call.headers,
        body: call.body,
        signal: controller.signal,
        // A redirect elsewhere would carry the key along; the client sees the 3xx instead.
        redirect: 'manual',
      });
    } catch (err) {
      return failedBeforeResponse(res, ctx, breakdown(), err);
    }
    arm();
    const contentType = upstream.headers.get('content-type');
    res.writeHead(upstream.status, downstreamHeaders(upstream.headers));
    res.flushHeaders();
    if (!upstream.body) {
      res.end();
      return { upstreamStatus: upstream.status };
    }
    const reader = upstream.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        arm();
        const drained = res.write(value);
        ctx.onChunk?.(value, contentType);
        if (!drained) await drainOrClose(res);
        if (clientClosed) break;
      }
    } catch {
      return { upstreamStatus: upstream.status, ...failedMidResponse(res, ctx, breakdown(), contentType) };
    }
    if (clientClosed) {
      void reader.cancel().catch(() => {});
      return { upstreamStatus: upstream.status, failure: 'client_closed' };
    }
    res.end();
    return { upstreamStatus: upstream.status };
  } finally {
    clearTimeout(timer);
    res.off('close', onClose);
  }
}

/** How a call that went wrong stood when it did. */
interface Breakdown {
  /** The upstream origin, for messages. */
  target: string;
  timeoutMs: number;
  timedOut: boolean;
  clientClosed: boolean;
}

/** No response came: the container is told why, unless it has hung up. */
function failedBeforeResponse(
  res: ServerResponse,
  ctx: ForwardContext,
  why: Breakdown,
  err: unknown,
): ForwardResult {
  if (why.clientClosed) return { failure: 'client_closed' };
  if (why.timedOut) {
    send(res, refusal(ctx.provider, 'upstream_timeout', timeoutMessage(ctx, why.target, why.timeoutMs)));
    return { failure: 'timeout' };
  }
  const reason = scrub(describeFetchError(err), ctx.key);
  send(
    res,
    refusal(
      ctx.provider,
      'upstream_unreachable',
      `the model API at ${why.target} could not be reached for agent group ${ctx.group} (${reason})`,
    ),
  );
  return { failure: 'unreachable' };
}

/** The response broke off mid-body, after its headers went out. */
function failedMidResponse(
  res: ServerResponse,
  ctx: ForwardContext,
  why: Breakdown,
  contentType: string | null,
): Pick<ForwardResult, 'failure'> {
  if (why.clientClosed) return { failure: 'client_closed' };
  // Headers are out: the status cannot change. An event stream still gets a readable error.
  if (contentType?.startsWith('text/event-stream')) {
    res.write(
      streamedRefusal(
        ctx.provider,
        why.timedOut ? 'upstream_timeout' : 'upstream_unreachable',
        why.timedOut
          ? timeoutMessage(ctx, why.target, why.timeoutMs)
          : `the model API at ${why.target} broke off its answer for agent group ${ctx.group}`,
      ),
    );
    res.end();
  } else {
    res.destroy();
  }
  return { failure: why.timedOut ? 'timeout' : 'broken' };
}

export function send(res: ServerResponse, answer: Refusal): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}

const scrub = (text: string, key: string | undefined) => (key ? text.split(key).join('[key]') : text);

const timeoutMessage = (ctx: ForwardContext, target: string, ms: number) =>
  `the model API at ${target} did not answer within ${ms} ms for agent group ${ctx.group}; ` +
  'the call was abandoned (an operator can raise it: warren groups model … --timeout-ms N)';

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The network reason (ECONNREFUSED, ENOTFOUND, "bad port", …) without anything from the request. */
function describeFetchError(err: unknown): string {
  let reason = err instanceof Error ? err.message : 'network error';
  let cause: unknown = err;
  for (let depth = 0; depth < 4 && cause; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (cause instanceof Error) reason = cause.message;
    cause = (cause as { cause?: unknown }).cause;
  }
  return reason;
}
