// A cap on a request's body that keeps @hono/node-server's direct read. Hono's bodyLimit wraps the
// body in a web stream to count it, which makes the server build a full Request for it (1.5 ms of
// CPU per web chat POST on the benchmark's machine, docs/benchmarks.md). A body that declares its
// length is judged by that: Node's parser never reads past it. One that does not (chunked) goes
// through Hono's counting stream, so no body is ever read without a bound.
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

export function limitRequestBody(maxSize: number, tooLarge: (c: Context) => Response): MiddlewareHandler {
  const counted = bodyLimit({ maxSize, onError: tooLarge });
  return async (c, next) => {
    const declared = c.req.header('content-length');
    if (declared === undefined) return counted(c, next);
    if (Number(declared) > maxSize) return tooLarge(c);
    await next();
  };
}
