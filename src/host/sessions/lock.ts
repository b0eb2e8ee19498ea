// A session held by an operator's command (a data-rights delete): while the lock file exists, the
// host starts no container for the session. The file sits in the session's root folder, which is
// never mounted into a container, and is created exclusively, so two commands cannot both hold it.
// A lock whose process is gone, or older than LOCK_MAX_AGE_MS, is stale and ignored (a crashed
// command must not keep a session silent forever).
import { closeSync, lstatSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'session.lock';
export const LOCK_MAX_AGE_MS = 15 * 60_000;

export interface SessionLockInfo {
  pid: number;
  reason: string;
  at: string;
}

export class SessionLockedError extends Error {
  override name = 'SessionLockedError';
  constructor(
    readonly sessionId: string,
    readonly holder: SessionLockInfo | undefined,
  ) {
    super(
      `session ${sessionId} is held by another command` +
        (holder ? ` (${holder.reason}, process ${holder.pid}, since ${holder.at})` : '') +
        '; try again when it has finished',
    );
  }
}

const lockPath = (sessionRoot: string) => join(sessionRoot, LOCK_FILE);

/** The live lock on the session, or undefined when there is none (or only a stale one). */
export function sessionLock(sessionRoot: string, now: Date): SessionLockInfo | undefined {
  const file = lockPath(sessionRoot);
  let info: SessionLockInfo;
  try {
    if (!lstatSync(file).isFile()) return undefined;
    info = JSON.parse(readFileSync(file, 'utf8').slice(0, 1000)) as SessionLockInfo;
  } catch {
    return undefined;
  }
  if (typeof info.pid !== 'number' || typeof info.at !== 'string') return undefined;
  if (now.getTime() - Date.parse(info.at) > LOCK_MAX_AGE_MS) return undefined;
  return processAlive(info.pid) ? info : undefined;
}

/** Takes the session's lock for this process; throws SessionLockedError when someone holds it. */
export function lockSession(sessionId: string, sessionRoot: string, reason: string, now: Date): () => void {
  const file = lockPath(sessionRoot);
  const info: SessionLockInfo = { pid: process.pid, reason, at: now.toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, JSON.stringify(info));
      } finally {
        closeSync(fd);
      }
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = sessionLock(sessionRoot, now);
      if (holder) throw new SessionLockedError(sessionId, holder);
      rmSync(file, { force: true }); // stale: its process is gone or it is too old
    }
  }
  throw new SessionLockedError(sessionId, undefined);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
