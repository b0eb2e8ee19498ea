// Disk quota per session (DESIGN §10: limits on what a container can make the host spend). What a
// session's container can write (out/, and home/ with the agent's work folder) is measured without
// following symlinks, asynchronously, with a bounded number of entries; only running sessions are
// measured, each at most once per interval, so idle sessions cost nothing. A session over its quota
// is stopped and held: a host-owned marker file in the session folder (outside every mount) keeps
// it from starting again, until a new measurement finds it back under the quota.
import type { Dir } from 'node:fs';
import { lstat, opendir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sessionPaths, type SessionPaths } from './files.ts';

export interface DiskUsage {
  bytes: number;
  entries: number;
  /** false: the walk stopped at maxEntries, so bytes is a lower bound. */
  complete: boolean;
  /** Folders that could not be read (their contents are not counted). */
  unreadable: number;
}

/** Host-owned: in the session root, which no container mounts. */
const MARKER = 'disk-quota-exceeded.json';
/** lstat calls in flight per walk: enough to keep the disk busy, few enough to leave the threadpool to others. */
const PARALLEL_LSTATS = 16;

/** The session folders its container can write: out/ and home/ (which holds the agent's work folder). */
export function writableSessionDirs(paths: SessionPaths): string[] {
  return [paths.outDir, paths.home];
}

/**
 * Bytes under `roots`: every entry's lstat (symlinks are counted, never followed), a file as the larger
 * of its size and its allocated blocks (a sparse file counts as big as it claims to be). Stops after
 * maxEntries entries. A root that does not exist counts as empty.
 */
export async function measureDiskUsage(roots: string[], maxEntries: number): Promise<DiskUsage> {
  const usage: DiskUsage = { bytes: 0, entries: 0, complete: true, unreadable: 0 };
  const pending = [...roots];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let handle: Dir;
    try {
      handle = await opendir(dir, { bufferSize: 64 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') usage.unreadable++;
      continue;
    }
    let batch: string[] = [];
    try {
      for await (const entry of handle) {
        batch.push(join(dir, entry.name));
        if (batch.length === PARALLEL_LSTATS) {
          await count(batch);
          batch = [];
        }
        if (usage.entries + batch.length >= maxEntries) break; // leaving the loop closes the handle
      }
      await count(batch);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') usage.unreadable++;
    }
    if (usage.entries >= maxEntries) {
      usage.complete = false;
      break;
    }
  }
  return usage;

  async function count(paths: string[]): Promise<void> {
    const stats = await Promise.all(paths.map((path) => lstat(path).catch(() => undefined)));
    stats.forEach((stat, i) => {
      if (!stat) return; // removed meanwhile
      usage.entries++;
      usage.bytes += Math.max(stat.size, stat.blocks * 512);
      if (stat.isDirectory()) pending.push(paths[i]!);
    });
  }
}

/** Pure: whether a measurement puts the session over its quota, and how to say so. */
export function quotaVerdict(
  usage: DiskUsage,
  quotaBytes: number,
): { over: false } | { over: true; why: string } {
  if (usage.bytes > quotaBytes) {
    return { over: true, why: `uses ${usage.bytes} bytes, more than its quota of ${quotaBytes}` };
  }
  if (!usage.complete) {
    return { over: true, why: `holds more than ${usage.entries} files and folders, the most a session may` };
  }
  return { over: false };
}

/** Whether the session was stopped for its disk use and not found back under its quota since. */
export function isHeldForDiskQuota(paths: SessionPaths): boolean {
  return existsSync(join(paths.root, MARKER));
}

export interface DiskQuotaDeps {
  dataDir: string;
  quotaBytes: number;
  maxEntries: number;
  /** A running session is measured at most this often. */
  checkEveryMs: number;
  /** The session's agent group, to find its folder; undefined when it no longer exists. */
  agentGroupOf: (sessionId: string) => string | undefined;
  /** Stops the session's container (the exit path keeps its unfinished work pending). */
  stop: (sessionId: string) => Promise<void>;
  /** Starts the session again once it is back under its quota (held work is waiting). */
  wake: (sessionId: string) => void;
  /** Tells the session's chat, once per hold. */
  notify?: (sessionId: string, key: string, text: string) => Promise<unknown>;
  now: () => number;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
}

/**
 * The sweep's disk quota check. `check(running)` never rejects and never waits for a walk: one walk
 * runs at a time in the background. Held sessions the host knows of are measured again at the same
 * pace; `held(id)` (a wake found the marker) makes a session known after a restart.
 */
export function createDiskQuota(deps: DiskQuotaDeps) {
  const lastMeasured = new Map<string, number>();
  const heldSessions = new Set<string>();
  let walking: Promise<void> | undefined;

  return { check, held, idle: () => walking ?? Promise.resolve() };

  function check(running: readonly string[]): void {
    if (walking) return;
    const at = deps.now();
    const live = new Set(running);
    // Only running and held sessions are remembered: the map's size follows them, not all sessions.
    for (const id of lastMeasured.keys()) if (!live.has(id) && !heldSessions.has(id)) lastMeasured.delete(id);
    const due = [...new Set([...live, ...heldSessions])].filter(
      (id) => at - (lastMeasured.get(id) ?? -Infinity) >= deps.checkEveryMs,
    );
    if (due.length === 0) return;
    walking = measureAll(due).finally(() => (walking = undefined));
  }

  /** A wake found the session held: it is measured again on the next check. */
  function held(sessionId: string): void {
    if (heldSessions.has(sessionId)) return;
    heldSessions.add(sessionId);
    deps.log.warn(
      { sessionId },
      'session is held for its disk use; its messages wait until space is freed or the quota raised',
    );
  }

  async function measureAll(sessionIds: string[]): Promise<void> {
    for (const sessionId of sessionIds) {
      try {
        await measureOne(sessionId);
      } catch (err) {
        deps.log.warn({ sessionId, err }, 'disk quota check failed; tried again next interval');
      }
    }
  }

  async function measureOne(sessionId: string): Promise<void> {
    lastMeasured.set(sessionId, deps.now());
    const agentGroupId = deps.agentGroupOf(sessionId);
    if (!agentGroupId) {
      heldSessions.delete(sessionId);
      return;
    }
    const paths = sessionPaths(deps.dataDir, agentGroupId, sessionId);
    const dirs = writableSessionDirs(paths);
    const usage = await measureDiskUsage(dirs, deps.maxEntries);
    const verdict = quotaVerdict(usage, deps.quotaBytes);
    const marker = join(paths.root, MARKER);
    if (verdict.over) {
      if (!heldSessions.has(sessionId) || !existsSync(marker))
        await hold(sessionId, paths, usage, verdict.why);
      return;
    }
    if (heldSessions.has(sessionId) || existsSync(marker)) {
      const since = await readFile(marker, 'utf8').catch(() => '');
      await rm(marker, { force: true });
      heldSessions.delete(sessionId);
      deps.log.info(
        { sessionId, bytes: usage.bytes, quotaBytes: deps.quotaBytes, heldSince: since || undefined },
        'session is back under its disk quota; its held messages are processed',
      );
      deps.wake(sessionId);
    }
  }

  async function hold(sessionId: string, paths: SessionPaths, usage: DiskUsage, why: string): Promise<void> {
    const at = new Date(deps.now()).toISOString();
    await writeFile(
      join(paths.root, MARKER),
      JSON.stringify({ at, bytes: usage.bytes, entries: usage.entries, quotaBytes: deps.quotaBytes, why }),
      { mode: 0o600 },
    );
    heldSessions.add(sessionId);
    await stopAndTellOfHold(deps, { sessionId, paths, usage, why, at });
  }
}

/** A session just put on hold: what was measured, why it is over, and when (ISO time). */
interface Hold {
  sessionId: string;
  paths: SessionPaths;
  usage: DiskUsage;
  why: string;
  at: string;
}

/** Tells the operator (an error line naming the folders to free), stops the container, then tells the chat. */
async function stopAndTellOfHold(
  deps: DiskQuotaDeps,
  { sessionId, paths, usage, why, at }: Hold,
): Promise<void> {
  deps.log.error(
    {
      sessionId,
      bytes: usage.bytes,
      entries: usage.entries,
      quotaBytes: deps.quotaBytes,
      unreadable: usage.unreadable,
      folders: writableSessionDirs(paths),
    },
    `session over its disk quota (${why}): its container is stopped and the session held; ` +
      'free space in the folders listed or raise containers.diskQuotaMb, and it resumes within a check interval',
  );
  await deps
    .stop(sessionId)
    .catch((err: unknown) =>
      deps.log.warn({ sessionId, err }, 'the container of a session over its disk quota did not stop'),
    );
  await deps
    .notify?.(
      sessionId,
      `disk-quota:${at}`,
      'This conversation has used all the disk space it may use, so it is paused. An operator has been told; ' +
        'your messages are kept and answered once space is freed.',
    )
    .catch((err: unknown) =>
      deps.log.warn({ sessionId, err }, 'could not tell the chat about the disk quota'),
    );
}

export type DiskQuota = ReturnType<typeof createDiskQuota>;
