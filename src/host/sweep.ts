// The periodic sweep (DESIGN §4 step 6). Its cost follows the running sessions and the due ones,
// never the number of idle sessions on disk: it reads an index and the pool's in-memory set.
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Db } from '../db/connection.ts';
import { deleteSession, getSession, listClosedBefore, takeDueWakes } from '../db/sessions.ts';
import type { Logger } from './logger.ts';
import { foldAcks, readAcks, sessionPaths, type SessionPaths } from './sessions/index.ts';
import { isStuck, nextTriggerDue } from './sessions/recovery.ts';

export interface SweepDeps {
  db: Db;
  dataDir: string;
  clock: () => Date;
  log: Logger;
  pool: {
    running(): string[];
    wake(sessionId: string): void;
    stop(sessionId: string, graceMs: number): Promise<void>;
  };
  delivery: { deliverSession(sessionId: string): Promise<void> };
  /** A claim this old with no heartbeat for as long means the runner is stuck (default 120 s). */
  stuckAfterMs?: number;
  /** Closed sessions older than this are deleted with their folders. */
  closedRetentionMs: number;
}

export interface SweepReport {
  folded: number;
  stuck: string[];
  woken: string[];
  prunedSessions: number;
  ms: number;
}

export function createSweep(deps: SweepDeps) {
  const { db, clock, log } = deps;
  const stuckAfterMs = deps.stuckAfterMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<SweepReport> | undefined;

  return { tick, start, stop };

  function start(intervalMs: number): void {
    timer = setInterval(() => void tick(), intervalMs);
    timer.unref();
  }

  async function stop(): Promise<void> {
    clearInterval(timer);
    await ticking;
  }

  /** One pass; overlapping calls share the pass in flight. */
  function tick(): Promise<SweepReport> {
    ticking ??= run().finally(() => (ticking = undefined));
    return ticking;
  }

  async function run(): Promise<SweepReport> {
    const started = performance.now();
    const now = clock();
    let folded = 0;
    const stuck: string[] = [];
    for (const sessionId of deps.pool.running()) {
      const paths = pathsOf(sessionId);
      if (!paths) continue;
      try {
        folded += foldAcks(paths);
        if (runnerIsStuck(paths, now.getTime())) stuck.push(sessionId);
      } catch (err) {
        log.warn({ sessionId, err }, 'sweep could not read the session; skipped this tick');
      }
    }
    for (const sessionId of stuck) {
      log.warn({ sessionId }, 'runner stuck (old claim, no heartbeat); stopping it so its work is retried');
      void deps.pool.stop(sessionId, 5000);
    }
    const woken = wakeDue(now.toISOString());
    const prunedSessions = await pruneClosed(now);
    return { folded, stuck, woken, prunedSessions, ms: performance.now() - started };
  }

  function runnerIsStuck(paths: SessionPaths, now: number): boolean {
    const claims = readAcks(paths).filter((a) => a.status === 'processing');
    if (claims.length === 0) return false;
    const oldest = Math.min(...claims.map((a) => Date.parse(a.status_changed)));
    return isStuck(oldest, heartbeatOf(paths), now, stuckAfterMs);
  }

  /** Sessions whose wake time has come: deliver what is due and start a turn if work is due. */
  function wakeDue(now: string): string[] {
    const woken: string[] = [];
    for (const sessionId of takeDueWakes(db, now)) {
      const paths = pathsOf(sessionId);
      if (!paths) continue;
      void deps.delivery.deliverSession(sessionId);
      try {
        const { due } = nextTriggerDue(paths, now);
        if (due) {
          deps.pool.wake(sessionId);
          woken.push(sessionId);
        }
      } catch (err) {
        log.warn({ sessionId, err }, 'cannot read due work; the session is skipped');
      }
    }
    return woken;
  }

  async function pruneClosed(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - deps.closedRetentionMs).toISOString();
    const closed = listClosedBefore(db, cutoff, 20);
    for (const session of closed) {
      await rm(sessionPaths(deps.dataDir, session.agentGroupId, session.id).root, {
        recursive: true,
        force: true,
      });
      deleteSession(db, session.id);
    }
    return closed.length;
  }

  function pathsOf(sessionId: string): SessionPaths | undefined {
    const session = getSession(db, sessionId);
    return session && sessionPaths(deps.dataDir, session.agentGroupId, session.id);
  }
}

function heartbeatOf(paths: SessionPaths): number | null {
  try {
    return statSync(paths.heartbeat).mtimeMs;
  } catch {
    return null;
  }
}

export type Sweep = ReturnType<typeof createSweep>;
