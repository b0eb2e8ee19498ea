// `warren login-link USER`: prints a one-time link that signs a browser in to the web chat as USER
// (docs/access.md). Only the link's hash is stored; it works once, for at most 15 minutes.
import type { Config } from '../config.ts';
import { makeLoginLink } from '../access/index.ts';
import { withCentralDb } from './central-db.ts';
import { resolveUser } from './users.ts';

export interface LoginLinkIo {
  config: Config;
  args: string[];
  /** --minutes: how long the link works (1-15, default 10). */
  minutes?: string;
  now: Date;
  actor: string;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export const LOGIN_LINK_HELP = `warren login-link USER [--minutes N]   a one-time web chat sign-in link for USER (a user id or
                                       KIND:EXTERNAL_ID); it works once, for N minutes (1-15, default 10)
`;

export function runLoginLinkCommand(io: LoginLinkIo): Promise<number> {
  const [ref] = io.args;
  if (!ref || ref === 'help') {
    (ref ? io.write : io.fail)(LOGIN_LINK_HELP);
    return Promise.resolve(ref ? 0 : 2);
  }
  const minutes = io.minutes === undefined ? 10 : Number(io.minutes);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 15) {
    io.fail(`warren login-link: --minutes must be a whole number from 1 to 15, got "${io.minutes}"\n`);
    return Promise.resolve(2);
  }
  return withCentralDb({ name: 'login-link', sub: undefined, usage: LOGIN_LINK_HELP }, io, (db) => {
    const user = resolveUser(db, ref);
    const link = makeLoginLink(db, {
      user,
      actor: io.actor,
      now: io.now,
      ttlMs: minutes * 60_000,
      baseUrl: `http://${io.config.host}:${io.config.port}`,
    });
    io.write(
      `${link.url}\n(signs one browser in as ${user.displayName ?? user.id} (${user.id}); works once, until ${link.expiresAt}; ` +
        'anyone who opens it first becomes them: give it to nobody else)\n',
    );
    return 0;
  });
}
