// Reading a JSON request body the same way on every admin API route: bounded, JSON only, checked with
// the route's zod schema; a refusal is the answer to send.
import type { Context, MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { badRequest } from './bad-request.ts';
import { limitRequestBody } from '../body-limit.ts';

export const BODY_LIMIT_BYTES = 256 * 1024;

export const limitBody = (): MiddlewareHandler =>
  limitRequestBody(BODY_LIMIT_BYTES, (c) => c.json({ error: 'body too large' }, 413));

export async function readJsonBody<T extends z.ZodType>(
  c: Context,
  schema: T,
): Promise<{ ok: true; value: z.infer<T> } | { ok: false; response: Response }> {
  if (!c.req.header('content-type')?.startsWith('application/json'))
    return { ok: false, response: c.json({ error: 'content-type must be application/json' }, 415) };
  let json: unknown;
  try {
    json = await c.req.json();
  } catch {
    return { ok: false, response: c.json({ error: 'body is not valid JSON' }, 400) };
  }
  const body = schema.safeParse(json);
  return body.success ? { ok: true, value: body.data } : { ok: false, response: badRequest(c, body.error) };
}
