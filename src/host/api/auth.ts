// Bearer-token authentication for the admin API: `Authorization: Bearer wrn_…`, checked against the
// stored hashes (src/db/tokens.ts). Tokens never travel in URLs (lessons: a token in a query string
// leaks through logs and referrers).
import type { Context, MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import type { Db } from '../../db/connection.ts';
import { verifyApiToken } from '../../db/tokens.ts';
import { can } from '../access/index.ts';

export interface ApiEnv {
  Variables: { userId: string; tokenId: string };
}

const TOKEN_REQUIRED = 'an API token is required: Authorization: Bearer <token> (warren tokens create)';
const TOKEN_REFUSED = 'the API token is unknown, revoked, or its user is suspended';

export function apiTokenAuth(db: Db, clock: () => Date): MiddlewareHandler<ApiEnv> {
  // A missing and a malformed header get the same answer: 401 with a hint where tokens come from.
  const tokenRequired = {
    wwwAuthenticateHeader: 'Bearer',
    message: (c: Context) => c.json({ error: TOKEN_REQUIRED }, 401),
  };
  return bearerAuth({
    noAuthenticationHeader: tokenRequired,
    invalidAuthenticationHeader: tokenRequired,
    invalidToken: {
      wwwAuthenticateHeader: 'Bearer error="invalid_token"',
      message: (c: Context) => c.json({ error: TOKEN_REFUSED }, 401),
    },
    verifyToken: (token, c: Context<ApiEnv>) => {
      const record = verifyApiToken(db, token, clock().toISOString());
      if (!record) return false;
      c.set('userId', record.userId);
      c.set('tokenId', record.id);
      return true;
    },
  });
}

/** Owners and admins of the whole install only: the route shows or changes every agent group's data. */
export function installAdminsOnly(db: Db, what: string): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (!can(db, c.get('userId'), { kind: 'administer', agentGroupId: null }).allowed)
      return c.json({ error: `only owners and admins of the whole install may ${what}` }, 403);
    await next();
  };
}
