// `warren tokens create|list|revoke`: admin API tokens. A token acts as its user (the API's decider
// is that user, authorized like anyone else); only its hash is stored, so it is printed once.
import { appendAuditEvent } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import { listOwners } from '../../db/roles.ts';
import { createApiToken, listApiTokens, revokeApiToken } from '../../db/tokens.ts';
import type { Config } from '../config.ts';
import { withCentralDb } from './central-db.ts';
import { renderTable } from './table.ts';
import { resolveUser } from './users.ts';

export interface TokensIo {
  config: Config;
  args: string[];
  /** create: whose token (a user id or KIND:EXTERNAL_ID); default: the only owner. */
  user?: string;
  json: boolean;
  now: Date;
  actor: string;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export const TOKENS_HELP = `warren tokens create NAME [--user USER]   prints the token once (default user: the owner)
warren tokens list [--json]
warren tokens revoke ID
`;

export function runTokensCommand(io: TokensIo): Promise<number> {
  const [sub, arg] = io.args;
  return withCentralDb({ name: 'tokens', sub, usage: TOKENS_HELP }, io, (db) => {
    switch (sub) {
      case 'create':
        return create(db, io, arg);
      case undefined:
      case 'list':
        return list(db, io);
      case 'revoke': {
        if (!arg) {
          io.fail(`warren tokens revoke: give the token id (warren tokens list)\n`);
          return 2;
        }
        if (!revokeApiToken(db, arg, io.now.toISOString())) {
          io.fail(`warren tokens revoke: no active token ${arg}\n`);
          return 1;
        }
        audit(db, io, 'token.revoked', arg, {});
        io.write(`revoked ${arg}\n`);
        return 0;
      }
      default:
        io.fail(`warren tokens: unknown subcommand "${sub}"\n\n${TOKENS_HELP}`);
        return 2;
    }
  });
}

function create(db: Db, io: TokensIo, label: string | undefined): number {
  if (!label) {
    io.fail(`warren tokens create: give the token a name\n\n${TOKENS_HELP}`);
    return 2;
  }
  let userId: string;
  if (io.user) userId = resolveUser(db, io.user).id;
  else {
    const owners = listOwners(db);
    if (owners.length !== 1) {
      io.fail(
        `warren tokens create: ${owners.length === 0 ? 'there is no owner' : 'there are several owners'}; ` +
          'say whose token it is with --user USER\n',
      );
      return 2;
    }
    userId = owners[0]!;
  }
  const { token, apiToken } = createApiToken(db, userId, label, io.now.toISOString());
  audit(db, io, 'token.created', apiToken.id, { userId, label: apiToken.label });
  io.write(
    io.json
      ? `${JSON.stringify({ ...apiToken, token })}\n`
      : `${token}\n(token ${apiToken.id} for user ${userId}; it is shown only now: keep it somewhere safe)\n`,
  );
  return 0;
}

function list(db: Db, io: TokensIo): number {
  const rows = listApiTokens(db);
  if (io.json) io.write(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0) io.write('no API tokens (warren tokens create NAME)\n');
  else
    io.write(
      renderTable(
        ['ID', 'NAME', 'USER', 'ENDS IN', 'CREATED', 'LAST USED', 'REVOKED', 'EXPIRES'],
        rows.map((r) => [
          r.id,
          r.label,
          r.userId,
          `…${r.preview}`,
          r.createdAt,
          r.lastUsedAt ?? '-',
          r.revokedAt ?? '-',
          r.expiresAt ?? '-',
        ]),
      ),
    );
  return 0;
}

function audit(db: Db, io: TokensIo, action: string, tokenId: string, detail: Record<string, string>): void {
  appendAuditEvent(
    db,
    { actor: io.actor, action, targetKind: 'api_token', targetId: tokenId, detail },
    io.now.toISOString(),
  );
}
