// DELETE /api/tokens/current: the token signs itself out (the dashboard's "Sign out"). Any token may
// end itself; revoking others' tokens stays with `warren tokens revoke`.
import { Hono } from 'hono';
import { z } from 'zod';
import { appendAuditEvent } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import { revokeApiToken } from '../../db/tokens.ts';
import type { ApiEnv } from './auth.ts';
import type { ApiOperation } from './openapi.ts';

export const tokensOperations: ApiOperation[] = [
  {
    method: 'delete',
    path: '/tokens/current',
    summary: 'revoke the token this request was made with',
    response: z.object({ revoked: z.string() }),
  },
];

export function tokensApi(db: Db, clock: () => Date): Hono<ApiEnv> {
  return new Hono<ApiEnv>().delete('/current', (c) => {
    const tokenId = c.get('tokenId');
    const now = clock().toISOString();
    db.transaction(() => {
      if (revokeApiToken(db, tokenId, now))
        appendAuditEvent(
          db,
          {
            actor: `api:${c.get('userId')}`,
            action: 'token.revoked',
            targetKind: 'api_token',
            targetId: tokenId,
            detail: { by: 'itself' },
          },
          now,
        );
    }).immediate();
    return c.json({ revoked: tokenId });
  });
}
