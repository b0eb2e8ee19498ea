// A folder as a tar stream for the engine (an image import or an image build): the system tar, run
// as a child so the event loop stays free, every entry owned by root (numeric ids) so the image does
// not depend on who runs the host.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/**
 * Streams `dir` through `tar -c` into `consume`, which resolves once the engine has taken all of it.
 * When `consume` fails, tar is stopped; when tar fails, its exit code and what it said are the error.
 */
export async function withTarStream<T>(dir: string, consume: (tar: Readable) => Promise<T>): Promise<T> {
  // go+rX: the host's umask (0077, data-folder.ts) must not make the image unreadable to a
  // container user that is not root.
  const args = ['-C', dir, '--numeric-owner', '--owner=0', '--group=0', '--mode=go+rX', '-c', '.'];
  const tar = spawn('tar', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tarErrors = '';
  tar.stderr.on('data', (chunk: Buffer) => (tarErrors += chunk.toString()));
  const tarExit = new Promise<number>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => resolve(code ?? -1));
  });
  // Awaited below; when `consume` fails first, a tar that could not start must not also crash the host.
  tarExit.catch(() => undefined);
  let result: T;
  try {
    result = await consume(tar.stdout);
  } catch (err) {
    tar.kill(); // the engine stopped reading: do not leave tar blocked on a full pipe
    throw err;
  }
  const code = await tarExit;
  if (code !== 0) throw new Error(`tar exited with ${code}: ${tarErrors.trim()}`);
  return result;
}
