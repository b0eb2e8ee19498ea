// The host's open session files. Opening one costs more than most units of work done with it: the
// native open, the contract's pragmas, the schema check, and compiling every statement afresh
// (docs/benchmarks.md, "Cost per message"). So a file stays open between units of work while it is
// in use, with its compiled statements, and closes after IDLE_MS without use: idle sessions hold
// nothing. On Linux the runner sees the host's commits through the same kernel page cache whether
// the host's handle is kept or not; SQLite re-reads its cache whenever another process committed.
//
// A kept handle must never outlive what it was opened on: every use first compares the inode the
// path names now with the one that was opened (a folder removed and made again, a file the container
// swapped), and the caller's own check runs on every use too (outbound.db's schema, output.ts).
import { lstatSync } from 'node:fs';
import { isLocked } from '../../shared/commit-tail.ts';
import { cacheStatements } from '../../shared/statement-cache.ts';
import type { SessionDb } from '../../shared/session-contract.ts';

/** A handle unused this long is closed. */
export const IDLE_MS = 30_000;
/** At most this many handles are kept; the least recently used goes first. */
export const MAX_KEPT = 256;
/** Page cache of a kept handle (KiB): the host reads a session's recent rows, not its history. */
const CACHE_KIB = 512;

interface Kept {
  db: SessionDb;
  dev: number;
  ino: number;
  lastUsed: number;
  /** Units of work running on it now (more than one when one calls another on the same file). */
  depth: number;
  /** Opened on a path that changed right away: used once and closed, never kept. */
  transient?: boolean;
  /** Anything the opener wants to remember about this handle (outbound.db: its checked schema version). */
  verified?: unknown;
  /** The busy timeout last set on the handle, so a use sets it only when it wants another. */
  lockWaitMs?: number;
}

const kept = new Map<string, Kept>();
let idleTimer: NodeJS.Timeout | undefined;

/**
 * The handle open on `path`, opened by `open` when none is kept or the kept one names another inode
 * than the path does now. `work` runs with it; a transaction it left open is rolled back, and a
 * handle whose work threw is closed.
 */
export function withKeptFile<T>(
  path: string,
  open: () => SessionDb,
  work: (db: SessionDb, entry: { verified?: unknown; lockWaitMs?: number }) => T,
): T {
  const entry = current(path) ?? keep(path, open());
  entry.lastUsed = Date.now();
  entry.depth++;
  try {
    return work(entry.db, entry);
  } catch (err) {
    // Whatever else went wrong (a damaged file, a changed schema), the next use opens afresh; a
    // lock held by the other side is no reason to.
    if (entry.depth === 1 && kept.get(path) === entry && !isLocked(err)) drop(path);
    throw err;
  } finally {
    // Only the outermost use ends what it began: a nested use shares the handle and its transaction.
    if (--entry.depth === 0) {
      if (entry.transient || kept.get(path) !== entry) {
        if (entry.db.open) entry.db.close();
      } else if (entry.db.inTransaction) entry.db.exec('ROLLBACK');
    }
  }
}

/** Closes the handles kept on files under `folder` (a session folder about to be removed). */
export function closeKeptFilesUnder(folder: string): void {
  for (const path of [...kept.keys()]) if (path.startsWith(folder + '/')) drop(path);
}

/** Closes the handle kept on `path`, if any: its next use opens the file afresh. */
export function closeKeptFile(path: string): void {
  drop(path);
}

/** How many handles are open now (for tests). */
export const keptFileCount = (): number => kept.size;

function current(path: string): Kept | undefined {
  const entry = kept.get(path);
  if (!entry) return undefined;
  const now = lstatSync(path, { throwIfNoEntry: false });
  if (entry.db.open && now?.isFile() && now.ino === entry.ino && now.dev === entry.dev) {
    // Most recently used last, so eviction takes the first.
    kept.delete(path);
    kept.set(path, entry);
    return entry;
  }
  drop(path);
  return undefined;
}

function keep(path: string, db: SessionDb): Kept {
  const stats = lstatSync(path, { throwIfNoEntry: false });
  if (!stats?.isFile()) {
    // Gone or swapped right after opening: use the handle once, keep nothing.
    return { db, dev: 0, ino: 0, lastUsed: 0, depth: 0, transient: true };
  }
  // Bounds the memory of MAX_KEPT handles (SQLite's default is 2 MiB each).
  db.pragma(`cache_size = -${CACHE_KIB}`);
  const entry: Kept = { db: cacheStatements(db), dev: stats.dev, ino: stats.ino, lastUsed: 0, depth: 0 };
  kept.set(path, entry);
  while (kept.size > MAX_KEPT) drop(kept.keys().next().value!);
  idleTimer ??= setInterval(closeIdle, IDLE_MS / 3).unref();
  return entry;
}

function drop(path: string): void {
  const entry = kept.get(path);
  kept.delete(path);
  // One in use is closed by its outermost use when that ends (withKeptFile).
  if (entry?.db.open && entry.depth === 0) entry.db.close();
  if (kept.size === 0 && idleTimer) {
    clearInterval(idleTimer);
    idleTimer = undefined;
  }
}

function closeIdle(): void {
  const before = Date.now() - IDLE_MS;
  for (const [path, entry] of [...kept]) if (entry.lastUsed < before) drop(path);
}
