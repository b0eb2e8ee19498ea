// Who a web chat request comes from (DESIGN §10): never a body field. A browser carries a cookie of its
// own (HttpOnly, SameSite=Strict); it acts as a Warren user only once a one-time login link signed it
// in. Scripts act as a user with an admin API token. Anyone else is an anonymous visitor, whose
// `sender` is only a display name and a handle inside that chat. The `cli` channel instead requires
// the install's secret (a file only the operator's OS account can read).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';

/** What the web chat needs from the access subsystem (src/host/access/web-sign-in.ts). */
export interface WebchatAuth {
  /** The user a browser cookie is signed in as, when it is and that user may act. */
  browserUser(cookie: string): string | undefined;
  /** The user of a valid admin API token; undefined for an unknown, revoked or suspended one. */
  tokenUser(token: string): string | undefined;
  /** For the confirmation page: whose link this is, or why it cannot be used. Changes nothing. */
  describeLink(
    secret: string,
  ): { ok: true; userName: string; expiresAt: string } | { ok: false; error: string };
  /** Uses the link up (once, atomically) and signs a new browser cookie in as its user. */
  signIn(secret: string): { ok: true; cookie: string; userId: string } | { ok: false; error: string };
  signOut(cookie: string): void;
}

/** Who is posting or listening. */
export type Poster =
  | { kind: 'user'; userId: string; via: 'browser' | 'token' }
  /** `browser`: a short hash of the browser's own cookie, when it sent one. */
  | { kind: 'anonymous'; browser?: string }
  /** The `cli` channel with the install secret: the OS account that owns the data folder. */
  | { kind: 'operator' };

export const BROWSER_COOKIE = 'warren_browser';
/** The header `warren chat` sends the install secret in. */
export const CLI_SECRET_HEADER = 'x-warren-secret';
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

export class Unauthorized extends Error {}

/**
 * The poster of a request. Throws Unauthorized (answered 401) for a cli request without the right
 * secret and for a bearer token that is not valid: a script that meant to act as someone must be told.
 */
export function posterOf(
  c: Context,
  options: { auth?: WebchatAuth; operatorSecret?: string; type: string },
): Poster {
  if (options.operatorSecret !== undefined) {
    const given = c.req.header(CLI_SECRET_HEADER);
    if (!given || !sameSecret(given, options.operatorSecret)) {
      throw new Unauthorized(
        `the ${options.type} channel needs this install's secret in the ${CLI_SECRET_HEADER} header ` +
          '(warren chat sends it; it is in the data folder, readable only by the account that runs Warren)',
      );
    }
    return { kind: 'operator' };
  }
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
    const userId = token ? options.auth?.tokenUser(token) : undefined;
    if (!userId) throw new Unauthorized('the API token is unknown, revoked, or its user is suspended');
    return { kind: 'user', userId, via: 'token' };
  }
  const cookie = browserCookieOf(c);
  if (cookie) {
    const userId = options.auth?.browserUser(cookie);
    if (userId) return { kind: 'user', userId, via: 'browser' };
    return {
      kind: 'anonymous',
      browser: createHash('sha256').update(cookie).digest('base64url').slice(0, 12),
    };
  }
  return { kind: 'anonymous' };
}

/** The poster, or 401 for a request that must prove who it is and did not. */
export function identify(
  c: Context,
  options: { auth?: WebchatAuth; operatorSecret?: string; type: string },
): Poster | Response {
  try {
    return posterOf(c, options);
  } catch (err) {
    if (!(err instanceof Unauthorized)) throw err;
    return c.json({ error: err.message }, 401, { 'www-authenticate': 'Bearer' });
  }
}

/** The browser's cookie value when it has a well-formed one. */
export function browserCookieOf(c: Context): string | undefined {
  for (const part of (c.req.header('cookie') ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    const value = rest.join('=');
    if (name === BROWSER_COOKIE && COOKIE_VALUE.test(value)) return value;
  }
  return undefined;
}

export function browserCookieHeader(value: string, mountPath: string): string {
  return `${BROWSER_COOKIE}=${value}; Path=${mountPath}; HttpOnly; SameSite=Strict; Max-Age=31536000`;
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
