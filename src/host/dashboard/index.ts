// The web dashboard at /admin/ (docs/dashboard.md): a static page, its stylesheet and its script; and
// POST /admin/sign-in, which exchanges a one-time link's code for a short-lived API token. The page
// holds no data: everything it shows it reads from /api with the token, as any API client does.
//
// The browser code is TypeScript (browser/), typechecked with the rest, and bundled by esbuild on the
// first request for it, then kept in memory: no build step before `warren start`, no generated file to
// keep in step with its source, and a few tens of milliseconds once per host run.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { z } from 'zod';
import type { Db } from '../../db/connection.ts';
import { exchangeDashboardLink } from '../access/index.ts';
import type { Logger } from '../logger.ts';
import { limitRequestBody } from '../body-limit.ts';

export interface DashboardDeps {
  db: Db;
  clock: () => Date;
  log: Logger;
}

const signInBody = z.strictObject({ code: z.string().min(1).max(200) });

export function dashboardApp(deps: DashboardDeps): Hono {
  const page = readFileSync(new URL('./page.html', import.meta.url), 'utf8');
  const style = readFileSync(new URL('./style.css', import.meta.url), 'utf8');
  const script = lazyBundle(deps.log);
  const app = new Hono({ strict: false });

  // Only this origin's own files run and are fetched; no framing; no Referer (a sign-in link carries
  // its code in the path); nothing cached, so a signed-out tab shows no stale page.
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
      },
      xFrameOptions: 'DENY',
      referrerPolicy: 'no-referrer',
      strictTransportSecurity: false,
    }),
    async (c, next) => {
      await next();
      c.header('cache-control', 'no-store');
    },
  );
  app.get('/', (c) => c.html(page));
  app.get('/sign-in/:code', (c) => c.html(page));
  app.get('/style.css', (c) => c.body(style, 200, { 'content-type': 'text/css; charset=utf-8' }));
  app.get('/app.js', async (c) =>
    c.body(await script(), 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  );
  app.post(
    '/sign-in',
    limitRequestBody(4096, (c) => c.json({ error: 'body too large' }, 413)),
    async (c) => {
      // A JSON body cannot be posted across origins without a preflight this server never answers.
      if (!c.req.header('content-type')?.startsWith('application/json'))
        return c.json({ error: 'content-type must be application/json' }, 415);
      const body = signInBody.safeParse(await c.req.json().catch(() => undefined));
      if (!body.success) return c.json({ error: 'give the code of the sign-in link: {"code": "…"}' }, 400);
      const outcome = exchangeDashboardLink(deps.db, body.data.code, deps.clock());
      if (!outcome.ok) return c.json({ error: outcome.error }, 401);
      deps.log.info({ userId: outcome.userId }, 'dashboard sign-in through a one-time link');
      return c.json({ token: outcome.token, expiresAt: outcome.expiresAt, userName: outcome.userName });
    },
  );
  return app;
}

/** The browser code, bundled once on first use; a failed build is retried on the next request. */
function lazyBundle(log: Logger): () => Promise<string> {
  let built: Promise<string> | undefined;
  return () =>
    (built ??= bundle().catch((err: unknown) => {
      built = undefined;
      log.error({ err }, 'dashboard: cannot bundle the browser code');
      throw err;
    }));
}

async function bundle(): Promise<string> {
  // Loaded only when a browser asks: hosts nobody opens the dashboard on never load esbuild.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./browser/main.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
