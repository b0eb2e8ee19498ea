// Bearer-token authentication for the admin API: `Authorization: Bearer wrn_…`, checked against the
// stored hashes (src/db/tokens.ts). Tokens never travel in URLs (lessons: a token in a query string
// leaks through logs and referrers).
import type { MiddlewareHandler } from 'hono';
import type { Db } from '../../db/connection.ts';
import { verifyApiToken } from '../../db/tokens.ts';

export interface ApiEnv {
  Variables: { userId: string; tokenId: string };
}

export function bearerAuth(db: Db, clock: () => Date): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!token) {
      return c.json(
        { error: 'an API token is required: Authorization: Bearer <token> (warren tokens create)' },
        401,
        {
          'www-authenticate': 'Bearer',
        },
      );
    }
    const record = verifyApiToken(db, token, clock().toISOString());
    if (!record) {
      return c.json({ error: 'the API token is unknown, revoked, or its user is suspended' }, 401, {
        'www-authenticate': 'Bearer error="invalid_token"',
      });
    }
    c.set('userId', record.userId);
    c.set('tokenId', record.id);
    await next();
  };
}
