// send_file's side effect: copy a workspace file into out/outbox/<message id>/ for the host.
import { copyFile, mkdir, realpath, rm, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** Resolves `path` inside the workspace (symlinks included) and refuses anything outside it. */
export async function resolveWorkspaceFile(
  workspace: string,
  path: string,
): Promise<{ ok: true; file: string } | { ok: false; error: string }> {
  const outside = {
    ok: false as const,
    error: `path '${path}' leads outside the workspace; nothing was sent.`,
  };
  if (isAbsolute(path) || !isInside(resolve(workspace), resolve(workspace, path))) return outside;
  let file: string;
  try {
    file = await realpath(resolve(workspace, path));
    // A symlink inside the workspace may still point out of it.
    if (!isInside(await realpath(workspace), file)) return outside;
  } catch {
    return { ok: false, error: `file '${path}' does not exist in the workspace; nothing was sent.` };
  }
  if (!(await stat(file)).isFile())
    return { ok: false, error: `'${path}' is not a regular file; nothing was sent.` };
  return { ok: true, file };
}

function isInside(root: string, file: string): boolean {
  const inside = relative(root, file);
  return inside !== '' && inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside);
}

/** Copies the file to outbox/<messageId>/<name>; the row that lists it is written after this. */
export async function stageFile(file: string, outboxDir: string, messageId: string): Promise<void> {
  const folder = join(outboxDir, messageId);
  await mkdir(folder, { recursive: true });
  await copyFile(file, join(folder, basename(file)));
}

/** Removes a staged folder whose row could not be written, so no orphan files pile up. */
export async function unstage(outboxDir: string, messageId: string): Promise<void> {
  await rm(join(outboxDir, messageId), { recursive: true, force: true });
}
