import { linkSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  asSessionFileError,
  emptySessionFile,
  openSessionFile,
  type SessionDb,
  type SessionFileName,
} from '../../shared/session-contract.ts';
import { withKeptFile } from './connections.ts';
import { syncFolder, writeNewFile } from './durable-writes.ts';
import { withOutbound } from './output.ts';

/** Where one session's files live: data/sessions/<agent_group_id>/<session_id>/ (DESIGN §3). */
export interface SessionPaths {
  sessionId: string;
  root: string;
  inDir: string;
  outDir: string;
  inbound: string;
  outbound: string;
  inbox: string;
  outbox: string;
  heartbeat: string;
  /** The agent's home folder (claude provider: mounted read-write at /home/agent, work files inside). */
  home: string;
  /** The host's own folder of the session (never mounted): private links and staged outgoing files. */
  hostDir: string;
}

export function sessionPaths(dataDir: string, agentGroupId: string, sessionId: string): SessionPaths {
  const root = join(dataDir, 'sessions', agentGroupId, sessionId);
  const inDir = join(root, 'in');
  const outDir = join(root, 'out');
  return {
    sessionId,
    root,
    inDir,
    outDir,
    inbound: join(inDir, 'inbound.db'),
    outbound: join(outDir, 'outbound.db'),
    inbox: join(inDir, 'inbox'),
    outbox: join(outDir, 'outbox'),
    heartbeat: join(outDir, 'heartbeat'),
    home: join(root, 'home'),
    hostDir: join(root, 'host'),
  };
}

/**
 * Creates the folder and both files with their schema. Idempotent. The host creates outbound.db
 * too, before any runner exists, so the runner never has to (and the host never writes it again).
 */
export function createSessionFiles(paths: SessionPaths): void {
  mkdirSync(paths.inbox, { recursive: true });
  mkdirSync(paths.outbox, { recursive: true });
  for (const file of ['inbound', 'outbound'] as const) {
    const path = pathOf(paths, file);
    if (placeNewFile(path, emptySessionFile(file))) continue;
    // There already (a session made before, or a crash right after its folder): brought up to date.
    openSessionFile({ sessionId: paths.sessionId, file, path, readonly: false, create: true }).close();
  }
  for (const dir of [paths.inDir, paths.outDir]) syncFolder(dir);
}

/**
 * Puts a file that must not exist yet in place, whole or not at all: written beside it and synced,
 * then linked to its name (link(2) never replaces an existing file). false when it exists already.
 */
function placeNewFile(path: string, bytes: Buffer): boolean {
  const staged = `${path}.new`;
  rmSync(staged, { force: true }); // left by a crash while it was written
  writeNewFile(staged, bytes, 0o644); // as SQLite creates files, narrowed by the host's umask
  try {
    linkSync(staged, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(staged, { force: true });
  }
}

/**
 * Runs one unit of work on a session file (outbound.db through output.ts). The handle is kept open
 * between units of work while the session is in use and closed once idle (connections.ts), so idle
 * sessions cost nothing; a unit of work is synchronous and short, so a runner never waits long on it.
 */
export function withSessionFile<T>(
  paths: SessionPaths,
  file: SessionFileName,
  mode: 'read' | 'write',
  work: (db: SessionDb) => T,
): T {
  // out/ is the container's: its own module checks everything before SQLite sees the file.
  if (file === 'outbound') return withOutbound(paths, mode, work);
  // inbound.db is the host's alone (in/ is read-only in the container): one kept handle reads and writes.
  const open = () =>
    openSessionFile({ sessionId: paths.sessionId, file, path: paths.inbound, readonly: false });
  try {
    return withKeptFile(paths.inbound, open, (db) => work(db));
  } catch (err) {
    throw isSqliteError(err) ? asSessionFileError(paths.sessionId, file, err) : err;
  }
}

const pathOf = (paths: SessionPaths, file: SessionFileName) =>
  file === 'inbound' ? paths.inbound : paths.outbound;

const isSqliteError = (err: unknown) => String((err as { code?: unknown }).code ?? '').startsWith('SQLITE_');
