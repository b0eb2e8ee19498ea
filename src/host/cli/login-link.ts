// `warren login-link USER`: prints a one-time link that signs a browser in to the web chat as USER
// (docs/access.md); with --admin, one that signs in to the dashboard (docs/dashboard.md). Only the
// link's hash is stored; it works once, for at most 15 minutes.
import type { Db } from '../../db/connection.ts';
import { listOwners } from '../../db/roles.ts';
import type { User } from '../../db/users.ts';
import type { Config } from '../config.ts';
import { makeLoginLink, mayUseDashboard } from '../access/index.ts';
import { withCentralDb } from './central-db.ts';
import { resolveUser } from './users.ts';

export interface LoginLinkIo {
  config: Config;
  args: string[];
  /** --minutes: how long the link works (1-15, default 10). */
  minutes?: string;
  /** --admin: a link to the dashboard rather than the web chat. */
  admin?: boolean;
  now: Date;
  actor: string;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export const LOGIN_LINK_HELP = `warren login-link USER [--minutes N]   a one-time web chat sign-in link for USER (a user id or
                                       KIND:EXTERNAL_ID); it works once, for N minutes (1-15, default 10)
warren login-link --admin [USER]       a one-time dashboard (/admin/) sign-in link for an owner or admin
                                       (default: the only owner); it gives that browser tab a token for 8 h
`;

export function runLoginLinkCommand(io: LoginLinkIo): Promise<number> {
  const [ref] = io.args;
  if (ref === 'help' || (!ref && !io.admin)) {
    (ref ? io.write : io.fail)(LOGIN_LINK_HELP);
    return Promise.resolve(ref ? 0 : 2);
  }
  const minutes = io.minutes === undefined ? 10 : Number(io.minutes);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 15) {
    io.fail(`warren login-link: --minutes must be a whole number from 1 to 15, got "${io.minutes}"\n`);
    return Promise.resolve(2);
  }
  return withCentralDb({ name: 'login-link', sub: undefined, usage: LOGIN_LINK_HELP }, io, (db) => {
    const user = ref ? resolveUser(db, ref) : theOwner(db, io);
    if (!user) return 2;
    if (io.admin && !mayUseDashboard(db, user.id)) {
      io.fail(
        `warren login-link: ${user.id} is neither an owner nor an admin; the dashboard would show them nothing (warren roles grant)\n`,
      );
      return 2;
    }
    const link = makeLoginLink(db, {
      user,
      actor: io.actor,
      now: io.now,
      ttlMs: minutes * 60_000,
      baseUrl: `http://${io.config.host}:${io.config.port}`,
      purpose: io.admin ? 'dashboard' : 'webchat',
    });
    io.write(
      `${link.url}\n(signs one ${io.admin ? 'dashboard tab' : 'browser'} in as ${user.displayName ?? user.id} (${user.id}); works once, until ${link.expiresAt}; ` +
        'anyone who opens it first becomes them: give it to nobody else)\n',
    );
    return 0;
  });
}

/** --admin without USER: the install's only owner, as `warren tokens create` picks. */
function theOwner(db: Db, io: LoginLinkIo): User | undefined {
  const owners = listOwners(db);
  if (owners.length === 1) return resolveUser(db, owners[0]!);
  io.fail(
    `warren login-link --admin: ${owners.length === 0 ? 'there is no owner' : 'there are several owners'}; name the user\n`,
  );
  return undefined;
}
