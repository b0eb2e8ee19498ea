// Files that must survive a crash once written: the file is synced before it is relied on, and so is
// the folder that names it.
import { closeSync, constants, fsyncSync, openSync, writeSync } from 'node:fs';

/** Creates `path` (it must not exist; a symlink there is not followed), writes `data` and syncs it. */
export function writeNewFile(path: string, data: Buffer, mode: number): void {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const fd = openSync(path, flags, mode);
  try {
    for (let at = 0; at < data.length;) at += writeSync(fd, data, at, data.length - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Syncs a folder, so the names created or removed in it survive a crash. */
export function syncFolder(path: string): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
