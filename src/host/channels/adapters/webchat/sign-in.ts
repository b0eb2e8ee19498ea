// Signing a browser in with a one-time login link, and out again (DESIGN §10; the links themselves are
// the access subsystem's, behind WebchatAuth). GET /sign-in shows a confirmation page, POST /sign-in
// uses the link up, POST /api/sign-out forgets the browser.
import { Hono } from 'hono';
import type { Context } from 'hono';
import { z } from 'zod';
import type { Logger } from '../../../logger.ts';
import { BROWSER_COOKIE, browserCookieHeader, browserCookieOf, type WebchatAuth } from './auth.ts';
import { pageHeaders } from './page.ts';
import { limitRequestBody } from '../../../body-limit.ts';

/** Form posted by the sign-in page. */
const SignInForm = z.strictObject({ code: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not a login link code') });
const NOT_A_LINK = { ok: false as const, error: 'This is not a Warren login link.' };
/** The link is a secret: no copy of these pages is kept. */
const NO_STORE = { 'cache-control': 'no-store' };

export function signInRoutes(options: { auth: WebchatAuth; mountPath: string; log: Logger; type: string }) {
  const { auth, mountPath, log, type } = options;
  const routes = new Hono();
  /**
   * No script, no foreign resources, and the link never leaks through a Referer to another site
   * (`same-origin`, not `no-referrer`: with that, browsers send `Origin: null` on the form post).
   */
  const headers = pageHeaders({
    defaultSrc: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  });
  const tooLarge = (c: Context) => c.json({ error: 'body is larger than 4 KiB' }, 413);
  routes.get('/sign-in', headers, showSignIn);
  routes.post('/sign-in', headers, limitRequestBody(4096, tooLarge), signIn);
  routes.post('/api/sign-out', signOut);
  return routes;

  /** GET of a login link: a confirmation page. Nothing is consumed, so link scanners cannot sign in. */
  function showSignIn(c: Context): Response {
    const code = c.req.query('code') ?? '';
    const found = SignInForm.safeParse({ code }).success ? auth.describeLink(code) : NOT_A_LINK;
    if (!found.ok) return c.html(signInErrorPage(found.error), 400, NO_STORE);
    return c.html(signInPage(mountPath, code, found.userName, found.expiresAt), 200, NO_STORE);
  }

  /** POST from the confirmation page: uses the link up and signs this browser in with a fresh cookie. */
  async function signIn(c: Context): Promise<Response> {
    // Login CSRF: another site must not sign a visitor's browser in as someone of its choosing.
    const origin = c.req.header('origin');
    if (origin !== undefined && origin !== new URL(c.req.url).origin) {
      return c.html(signInErrorPage('This sign-in did not come from this Warren page.'), 403, NO_STORE);
    }
    const form = SignInForm.safeParse(Object.fromEntries(new URLSearchParams(await c.req.text())));
    const result = form.success ? auth.signIn(form.data.code) : NOT_A_LINK;
    if (!result.ok) return c.html(signInErrorPage(result.error), 400, NO_STORE);
    log.info({ channel: type, userId: result.userId }, 'a browser signed in with a login link');
    return c.body(null, 303, {
      location: `${mountPath}/`,
      'set-cookie': browserCookieHeader(result.cookie, mountPath),
      ...NO_STORE,
    });
  }

  function signOut(c: Context): Response {
    const cookie = browserCookieOf(c);
    if (cookie) auth.signOut(cookie);
    return c.json({ signedOut: true }, 200, {
      'set-cookie': `${BROWSER_COOKIE}=; Path=${mountPath}; HttpOnly; SameSite=Strict; Max-Age=0`,
    });
  }
}

/** The page a login link opens: it consumes nothing, so a link preview or scanner cannot sign in. */
function signInPage(mountPath: string, secret: string, userName: string, expiresAt: string): string {
  return page(
    'Sign in to Warren',
    `<p>This link signs this browser in to Warren's web chat as <b>${escapeHtml(userName)}</b>.
It works once, until ${escapeHtml(expiresAt)}.</p>
<form method="post" action="${mountPath}/sign-in">
<input type="hidden" name="code" value="${escapeHtml(secret)}">
<button type="submit">Sign in as ${escapeHtml(userName)}</button>
</form>
<p>If you did not ask for this link, close this page.</p>`,
  );
}

function signInErrorPage(error: string): string {
  return page(
    'Cannot sign in',
    `<p>${escapeHtml(error)}</p><p>Ask for a new link: <code>warren login-link USER</code>.</p>`,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
