// A 400 that names each field that was wrong, the same way on every admin API route.
import type { Context } from 'hono';
import type { z } from 'zod';

export function badRequest(c: Context, error: z.ZodError): Response {
  return c.json({ error: error.issues.map(describe).join('; ') }, 400);
}

/** `field: what is wrong`; a field the route does not know is named itself. */
function describe(issue: z.core.$ZodIssue): string {
  const at = issue.path.join('.');
  if (issue.code === 'unrecognized_keys')
    return issue.keys.map((key) => `${at ? `${at}.` : ''}${key}: not a field of this route`).join('; ');
  return `${at || 'body'}: ${issue.message}`;
}

export const badCursor = (c: Context): Response =>
  c.json({ error: 'cursor: not a cursor this API gave' }, 400);
