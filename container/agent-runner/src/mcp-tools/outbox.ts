// send_file's side effect: copy a file the agent may send into out/outbox/<message id>/ for the host.
import { constants, type Stats } from 'node:fs';
import { mkdir, open, readlink, realpath, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';

/** Larger files are refused: every channel has an upload limit, and each send is one more copy on disk. */
export const MAX_SEND_FILE_BYTES = 50 * 1024 * 1024;

/**
 * The folders send_file may read. A relative path is looked up in `work` first, then in `group`;
 * an absolute one must lie in either. A folder that does not exist is skipped.
 */
export interface SendableRoots {
  /** The agent's own writable working folder (claude: WARREN_HOME/work); openai and scripted have none. */
  work?: string;
  /** The agent group's folder (read-only). */
  group: string;
}

/** A file that passed the checks, opened: staged from this handle, so a path swapped later cannot matter. */
export interface SendableFile {
  /** The name it is sent under: the real file's. */
  name: string;
  size: number;
  handle: FileHandle;
}

type Opened = { ok: true; file: SendableFile } | { ok: false; error: string };

/**
 * Opens `path` if, with every symlink resolved, it is a regular file inside one of the roots and no
 * larger than MAX_SEND_FILE_BYTES. The caller closes the handle.
 */
export async function openSendableFile(roots: SendableRoots, path: string): Promise<Opened> {
  const folders = [roots.work, roots.group].filter((root) => root !== undefined);
  const where = `the folders you may send from (${folders.join(', ')})`;
  const outside: Opened = { ok: false, error: `path '${path}' leads outside ${where}; nothing was sent.` };
  const real = (await Promise.all(folders.map(realpathOrNull))).filter((root) => root !== null);

  const normal = normalize(path);
  if (!isAbsolute(path) && (normal === '.' || normal === '..' || normal.startsWith(`..${sep}`)))
    return outside;
  const candidates = isAbsolute(path) ? [resolve(path)] : folders.map((root) => resolve(root, path));
  let file: string | null = null;
  for (const candidate of candidates) {
    file = await realpathOrNull(candidate);
    if (file !== null) break;
  }
  if (file === null)
    return { ok: false, error: `file '${path}' does not exist in ${where}; nothing was sent.` };
  // A symlink inside a root may still point out of it (at /session/in/inbound.db, /etc/passwd, …).
  if (!real.some((root) => isInside(root, file))) return outside;

  if (!(await stat(file).catch(() => null))?.isFile()) {
    return { ok: false, error: `'${path}' is not a regular file; nothing was sent.` };
  }
  // Non-blocking, so a FIFO swapped in meanwhile cannot hang the turn; it fails the checks below.
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return {
      ok: false,
      error: `'${path}' cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); nothing was sent.`,
    };
  }
  try {
    const opened = await handle.stat();
    // The agent may swap a folder on the way for a symlink between the checks and the open: what
    // counts is where the opened file really is.
    const location = await openedPath(handle, file, opened);
    if (!opened.isFile() || location === null || !real.some((root) => isInside(root, location))) {
      await handle.close();
      return { ok: false, error: `'${path}' changed while it was being sent; nothing was sent.` };
    }
    if (opened.size > MAX_SEND_FILE_BYTES) {
      await handle.close();
      return { ok: false, error: tooLarge(path, opened.size) };
    }
    return { ok: true, file: { name: basename(file), size: opened.size, handle } };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Where an open file is: Linux names it in /proc/self/fd. Elsewhere (a developer's machine), the
 * checked path again, if it still leads to the same file.
 */
async function openedPath(handle: FileHandle, file: string, opened: Stats): Promise<string | null> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    const again = await realpathOrNull(file);
    if (again === null) return null;
    const now = await stat(again);
    return now.dev === opened.dev && now.ino === opened.ino ? again : null;
  }
}

async function realpathOrNull(path: string): Promise<string | null> {
  try {
    return await realpath(path);
  } catch {
    return null;
  }
}

function isInside(root: string, file: string): boolean {
  const inside = relative(root, file);
  return inside !== '' && inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside);
}

function tooLarge(path: string, size: number): string {
  const mib = (bytes: number) => `${Math.ceil(bytes / (1024 * 1024))} MiB`;
  return `'${path}' is ${mib(size)}, more than the ${mib(MAX_SEND_FILE_BYTES)} a file may have; nothing was sent.`;
}

export class StageError extends Error {
  override name = 'StageError';
}

/**
 * Copies the opened file to outbox/<messageId>/<name>; the row that lists it is written after this.
 * A file that grows past the cap while it is copied is refused (StageError).
 */
export async function stageFile(source: SendableFile, outboxDir: string, messageId: string): Promise<void> {
  const folder = join(outboxDir, messageId);
  await mkdir(folder, { recursive: true });
  const target = await open(join(folder, source.name), 'w');
  try {
    const buffer = Buffer.allocUnsafe(64 * 1024);
    let position = 0;
    for (;;) {
      const { bytesRead } = await source.handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      if (position > MAX_SEND_FILE_BYTES) throw new StageError(tooLarge(source.name, position));
      await target.write(buffer, 0, bytesRead);
    }
  } finally {
    await target.close();
  }
}

/** Removes a staged folder whose row could not be written, so no orphan files pile up. */
export async function unstage(outboxDir: string, messageId: string): Promise<void> {
  await rm(join(outboxDir, messageId), { recursive: true, force: true });
}
