import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  asSessionFileError,
  openSessionFile,
  type SessionDb,
  type SessionFileName,
} from '../../shared/session-contract.ts';
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
    openSessionFile({
      sessionId: paths.sessionId,
      file,
      path: pathOf(paths, file),
      readonly: false,
      create: true,
    }).close();
  }
}

/**
 * Opens a session file for one unit of work and always closes it (outbound.db through output.ts): the host holds no session
 * handles between operations, so idle sessions cost nothing and a runner never waits on the host.
 */
export function withSessionFile<T>(
  paths: SessionPaths,
  file: SessionFileName,
  mode: 'read' | 'write',
  work: (db: SessionDb) => T,
): T {
  // out/ is the container's: its own module checks everything before SQLite sees the file.
  if (file === 'outbound') return withOutbound(paths, mode, work);
  const db = openSessionFile({
    sessionId: paths.sessionId,
    file,
    path: pathOf(paths, file),
    readonly: mode === 'read',
  });
  try {
    return work(db);
  } catch (err) {
    throw isSqliteError(err) ? asSessionFileError(paths.sessionId, file, err) : err;
  } finally {
    db.close();
  }
}

const pathOf = (paths: SessionPaths, file: SessionFileName) =>
  file === 'inbound' ? paths.inbound : paths.outbound;

const isSqliteError = (err: unknown) => String((err as { code?: unknown }).code ?? '').startsWith('SQLITE_');
