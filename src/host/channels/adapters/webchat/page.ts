// The chat page (page.html) at the channel's root, and the security headers of every page the channel
// serves, through Hono's secureHeaders.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { browserCookieHeader, browserCookieOf, type WebchatAuth } from './auth.ts';

type ContentSecurityPolicy = NonNullable<
  NonNullable<Parameters<typeof secureHeaders>[0]>['contentSecurityPolicy']
>;

/**
 * The page's own content policy, no framing, no type sniffing, a Referer only to this origin. No HSTS:
 * Warren serves plain HTTP on loopback, and a TLS proxy in front of it decides that for its domain.
 */
export function pageHeaders(contentSecurityPolicy: ContentSecurityPolicy): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy,
    referrerPolicy: 'same-origin',
    xFrameOptions: 'DENY',
    strictTransportSecurity: false,
  });
}

/** The chat page; a browser without a cookie of its own gets one (anonymous until signed in). */
export function pageRoutes(options: { mountPath: string; auth?: WebchatAuth }): Hono {
  const { html, scriptHash } = loadPage();
  const routes = new Hono();
  // Only the page's own inline script runs (pinned by hash), and only this origin is fetched.
  const headers = pageHeaders({
    defaultSrc: ["'none'"],
    scriptSrc: [`'sha256-${scriptHash}'`],
    styleSrc: ["'unsafe-inline'"],
    connectSrc: ["'self'"],
    imgSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  });
  routes.get('/', headers, (c) => {
    if (!options.auth || browserCookieOf(c)) return c.html(html);
    const cookie = browserCookieHeader(randomBytes(32).toString('base64url'), options.mountPath);
    return c.html(html, 200, { 'set-cookie': cookie });
  });
  return routes;
}

function loadPage(): { html: string; scriptHash: string } {
  const html = readFileSync(new URL('./page.html', import.meta.url), 'utf8');
  // Browsers hash the script text after turning CRLF into LF.
  const script = (/<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '').replace(/\r\n?/g, '\n');
  return { html, scriptHash: createHash('sha256').update(script).digest('base64') };
}
