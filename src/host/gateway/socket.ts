// A session's socket file: where it lives, and listening on it safely.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, symlink, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Inside the session folder; the container sees it as /session/gateway. */
export const GATEWAY_DIR = 'gateway';
export const GATEWAY_SOCKET = 'model.sock';
/** sun_path holds 108 bytes; longer socket paths are bound through a short symlink. */
const MAX_SOCKET_PATH = 100;

/**
 * Listens on `socket`, replacing a stale socket file a crashed host left behind. The socket is the
 * host user's only (0600): the runner runs as the same uid, and no other local user may spend the key.
 */
export async function listenOnSocket(server: Server, dir: string, socket: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await unlink(socket).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  let bindPath = socket;
  let link: string | undefined;
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    link = join(tmpdir(), `warren-gw-${randomBytes(6).toString('hex')}`);
    await symlink(dir, link);
    bindPath = join(link, GATEWAY_SOCKET);
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(bindPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    if (link) await rm(link, { force: true });
  }
  await chmod(socket, 0o600);
}
