// SQLite file opens, journal commits and fsyncs of a set of processes, counted by strace from the
// outside: the same method for the host (this process) and for a runner (its container's process,
// visible to a rootful engine's host). Only the syscalls named below stop the tracee.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export type SqliteFile = 'inbound' | 'outbound' | 'central' | 'other';

export interface FileCounts {
  inbound: number;
  outbound: number;
  central: number;
  other: number;
}

export interface SqliteSyscalls {
  /** openat of a database file itself (`*.db`): one per connection opened. */
  opens: FileCounts;
  /**
   * Rollback journals deleted (`*.db-journal` unlinked): one per write transaction committed in a
   * DELETE-journal file (the session files). WAL files (the central DB) commit without this.
   */
  journal_commits: FileCounts;
  /** fsync and fdatasync calls on a database, its journal or WAL, or the folder holding them. */
  fsyncs: FileCounts;
}

const zero = (): FileCounts => ({ inbound: 0, outbound: 0, central: 0, other: 0 });

/** Pure: which database a path belongs to (the file, its journal, WAL or shared memory). */
export function sqliteFileOf(path: string): SqliteFile {
  const name = path.slice(path.lastIndexOf('/') + 1).replace(/-(journal|wal|shm)$/, '');
  if (name === 'inbound.db') return 'inbound';
  if (name === 'outbound.db') return 'outbound';
  if (name === 'warren.db' || name === 'central.db') return 'central';
  return 'other';
}

/**
 * Pure: counts from strace output written with `-f -y` (fds shown as `12</path>`). A call split by
 * another thread's (`<unfinished ...>` … `<... resumed>`) is counted once, on its first line.
 * A folder's fsync (SQLite syncs the folder after creating a journal) counts for the database whose
 * files the folder holds: `in/` → inbound, `out/` → outbound, else other.
 */
export function countSqliteSyscalls(strace: string): SqliteSyscalls {
  const counts: SqliteSyscalls = { opens: zero(), journal_commits: zero(), fsyncs: zero() };
  for (const line of strace.split('\n')) {
    if (line.includes('resumed>')) continue;
    const open = /\bopenat\([^,]+, "([^"]+)"/.exec(line);
    if (open && open[1]!.endsWith('.db') && !/= -1 /.test(line)) {
      counts.opens[sqliteFileOf(open[1]!)]++;
      continue;
    }
    const unlink = /\bunlink(?:at)?\((?:[^,]+, )?"([^"]+-journal)"/.exec(line);
    if (unlink) {
      counts.journal_commits[sqliteFileOf(unlink[1]!)]++;
      continue;
    }
    const sync = /\bf(?:data)?sync\(\d+<([^>]+)>/.exec(line);
    if (sync) counts.fsyncs[syncedFileOf(sync[1]!)]++;
  }
  return counts;
}

function syncedFileOf(path: string): SqliteFile {
  if (/\.db(-journal|-wal)?$/.test(path)) return sqliteFileOf(path);
  if (path.endsWith('/in')) return 'inbound';
  if (path.endsWith('/out')) return 'outbound';
  return 'other';
}

export interface SyscallTrace {
  /** Detaches strace and returns what it counted. */
  stop(): Promise<SqliteSyscalls>;
}

/** Attaches strace to `pids` (all their threads); resolves once every one is traced. */
export async function traceSqliteSyscalls(pids: readonly number[], outFile: string): Promise<SyscallTrace> {
  const args = ['-f', '-qq', '-y', '-e', 'trace=openat,unlink,unlinkat,fsync,fdatasync', '-o', outFile];
  const strace = spawn('strace', [...args, ...pids.flatMap((pid) => ['-p', String(pid)])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let exited = false;
  strace.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const ended = new Promise<void>((resolve) => {
    const done = () => {
      exited = true;
      resolve();
    };
    strace.on('close', done);
    strace.on('error', (err) => {
      stderr += String(err);
      done();
    });
  });
  for (let waited = 0; !pids.every(isTraced); waited += 20) {
    if (exited || waited > 5000) {
      strace.kill('SIGINT');
      throw new Error(`strace did not attach to ${pids.join(', ')}: ${stderr.trim() || 'timed out'}`);
    }
    await sleep(20);
  }
  return {
    async stop() {
      strace.kill('SIGINT');
      await ended;
      return countSqliteSyscalls(readFileSync(outFile, 'utf8'));
    },
  };
}

function isTraced(pid: number): boolean {
  try {
    return /^TracerPid:\s*[1-9]/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
