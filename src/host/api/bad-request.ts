// A 400 that names each field that was wrong, the same way on every admin API route.
import type { Context } from 'hono';
import type { z } from 'zod';

export function badRequest(c: Context, error: z.ZodError): Response {
  return c.json(
    { error: error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') },
    400,
  );
}
