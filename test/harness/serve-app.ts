// One Hono app on the host's HTTP server (src/host/http.ts), on a free loopback port, logging nothing.
import type { Hono } from 'hono';
import pino from 'pino';
import { startHttpServer, type RunningHttpServer } from '../../src/host/http.ts';

export function serveApp(app: Hono, path: string): Promise<RunningHttpServer> {
  return startHttpServer({
    port: 0,
    host: '127.0.0.1',
    mounts: [{ path, app }],
    log: pino({ level: 'silent' }),
  });
}
