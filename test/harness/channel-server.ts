// A channel's routes served as the host serves them: on a loopback port, closed after the test.
import { startHttpServer, type HttpMount, type RunningHttpServer } from '../../src/host/http.ts';
import type { Logger } from '../../src/host/logger.ts';
import type { Cleanups } from './cleanups.ts';

export async function serveChannel(
  channel: { mountPath: string; app: HttpMount['app'] },
  log: Logger,
  cleanups: Cleanups,
): Promise<RunningHttpServer> {
  const server = await startHttpServer({
    port: 0,
    host: '127.0.0.1',
    mounts: [{ path: channel.mountPath, app: channel.app }],
    log,
  });
  cleanups.push(() => server.close());
  return server;
}
