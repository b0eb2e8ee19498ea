// The host's one HTTP server (DESIGN §8): web chat, dashboard, API and metrics share a loopback port.
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from './logger.ts';

export interface HttpMount {
  /** Path prefix, e.g. '/webchat'; the app's routes are relative to it. */
  path: string;
  app: Hono;
}

export interface HttpServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  host: string;
  mounts: HttpMount[];
  log: Logger;
}

export interface RunningHttpServer {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:7420. */
  url: string;
  port: number;
  /** Stops accepting, ends open event streams and resolves once every connection is gone. */
  close(): Promise<void>;
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** How long close() lets ordinary in-flight requests finish before cutting their connections. */
const CLOSE_GRACE_MS = 2000;

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const { log } = options;
  const app = createRootApp(options.mounts, log);
  // Ends of the event streams still open (event-streams.ts); they never end by themselves.
  const openStreams = new Set<() => void>();

  // Without serverOptions, serve() makes a plain node:http server.
  const server = serve({
    fetch: async (request, env) => {
      const response = await app.fetch(request, env);
      endOnClose((env as HttpBindings).outgoing, openStreams);
      return response;
    },
    port: options.port,
    hostname: options.host,
  }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(`cannot listen on ${options.host}:${options.port} (${err.code ?? err.message})`, {
          cause: err,
        }),
      ),
    );
  });

  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host}:${port}`;
  log.info({ url, mounts: options.mounts.map((m) => m.path) }, 'http server listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      // Node only closes connections that are idle when close() is called; a connection whose last
      // request finishes later would stay open until its keep-alive timeout, so sweep until done.
      const sweep = setInterval(() => server.closeIdleConnections(), 20);
      const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      server.close(() => {
        clearInterval(sweep);
        clearTimeout(force);
        log.info({ url }, 'http server closed');
        resolve();
      });
      for (const end of openStreams) end();
    }));

  return { url, port, close };
}

function createRootApp(mounts: HttpMount[], log: Logger): Hono {
  // Not strict: '/webchat' and '/webchat/' are the same page.
  const root = new Hono({ strict: false });
  // DNS rebinding: a web page must not reach this loopback server under some other host name.
  root.use(async (c, next) => {
    const host = (c.req.header('host') ?? '').replace(/:\d+$/, '');
    if (!LOOPBACK_NAMES.has(host)) return c.json({ error: `host "${host}" is not served here` }, 421);
    await next();
  });
  for (const mount of mounts) root.route(mount.path, mount.app);
  root.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  root.onError((err, c) => {
    // Middleware such as bearer auth answers by throwing its finished response.
    if (err instanceof HTTPException) return err.getResponse();
    log.error({ err, method: c.req.method, path: c.req.path }, 'http request failed');
    return c.json({ error: `internal error while handling ${c.req.method} ${c.req.path}` }, 500);
  });
  return root;
}

/**
 * A handler that wrote its response itself and left it open (the event streams, event-streams.ts) is
 * ended by close() too.
 */
function endOnClose(response: ServerResponse, openStreams: Set<() => void>): void {
  if (!response.headersSent || response.writableEnded) return;
  const end = () => response.end();
  openStreams.add(end);
  response.once('close', () => openStreams.delete(end));
}
