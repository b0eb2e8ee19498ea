// The periodic sweep (DESIGN §4 step 6). Its cost follows the running sessions and the due ones,
// never the number of idle sessions on disk: it reads an index and the pool's in-memory set.
import { rm } from 'node:fs/promises';
import { pruneSentParts } from '../db/channel-sent-parts.ts';
import type { Db } from '../db/connection.ts';
import { deleteSession, getSession, listClosedBefore, listDueWakes, takeWakes } from '../db/sessions.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics/index.ts';
import {
  closeKeptFilesUnder,
  foldAcks,
  heartbeatAt,
  isStuck,
  nextTriggerDue,
  oldestClaimAt,
  sessionPaths,
  SessionBusyError,
  SessionUnsafeError,
  type SessionPaths,
} from './sessions/index.ts';

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
  /** Moves a woken session's due tasks forward before its work is looked at (scheduling/). */
  scheduler?: { settleSession(sessionId: string): unknown };
  /** Expires due approvals and questions, finishes owed follow-ups (approvals/): index reads when idle. */
  approvals?: { tick(): Promise<unknown> };
  /** Measures running sessions' disk use now and then, in the background (sessions/disk-usage.ts). */
  diskQuota?: { check(running: readonly string[]): void };
  /** A claim this old with no heartbeat for as long means the runner is stuck (default 120 s). */
  stuckAfterMs?: number;
  /** Closed sessions older than this are deleted with their folders. */
  closedRetentionMs: number;
  /** A session whose out/ cannot be trusted (sessions/quarantine.ts). */
  onUnsafe?: (sessionId: string, err: SessionUnsafeError) => void;
  /** Times each pass (metrics/). */
  metrics?: Pick<Metrics, 'swept'>;
  /** Told after each pass (the host's heartbeat). */
  onPass?: (report: SweepReport) => void;
}

export interface SweepReport {
  folded: number;
  stuck: string[];
  woken: string[];
  prunedSessions: number;
  ms: number;
}

/** Pieces of a delivery posted to a platform are remembered this long: no retry of it comes later. */
const SENT_PARTS_KEPT_MS = 7 * 24 * 3600_000;

/** Due sessions whose wakes are taken together; each one settles in its own event-loop turn. */
const WAKE_BATCH = 10;

export function createSweep(deps: SweepDeps) {
  const { log } = deps;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<SweepReport> | undefined;

  return { tick, start, stop };

  function start(intervalMs: number): void {
    timer = setInterval(() => {
      tick().catch((err: unknown) => log.error({ err }, 'sweep pass failed; the next one tries again'));
    }, intervalMs);
    timer.unref();
  }

  async function stop(): Promise<void> {
    clearInterval(timer);
    await ticking;
  }

  /** One pass; overlapping calls share the pass in flight. */
  function tick(): Promise<SweepReport> {
    ticking ??= sweepOnce(deps)
      .then((report) => {
        deps.metrics?.swept(report.ms);
        deps.onPass?.(report);
        return report;
      })
      .finally(() => (ticking = undefined));
    return ticking;
  }
}

/** One pass: running sessions, then due wakes, approvals and closed sessions. */
async function sweepOnce(deps: SweepDeps): Promise<SweepReport> {
  const { log } = deps;
  const started = performance.now();
  const now = deps.clock();
  const { folded, stuck } = foldRunning(deps, now.getTime());
  deps.diskQuota?.check(deps.pool.running());
  for (const sessionId of stuck) {
    log.warn({ sessionId }, 'runner stuck (old claim, no heartbeat); stopping it so its work is retried');
    deps.pool
      .stop(sessionId, 5000)
      .catch((err: unknown) =>
        log.warn({ sessionId, err }, 'stuck runner did not stop; tried again next tick'),
      );
  }
  const woken = await wakeDue(deps, now.toISOString());
  await deps.approvals
    ?.tick()
    .catch((err: unknown) => log.warn({ err }, 'approvals sweep failed; tried again next tick'));
  const prunedSessions = await pruneClosed(deps, now);
  pruneSentParts(deps.db, new Date(now.getTime() - SENT_PARTS_KEPT_MS).toISOString());
  return { folded, stuck, woken, prunedSessions, ms: performance.now() - started };
}

/** Folds the running sessions' acks and finds the runners that are stuck. */
function foldRunning(deps: SweepDeps, now: number): { folded: number; stuck: string[] } {
  let folded = 0;
  const stuck: string[] = [];
  for (const sessionId of deps.pool.running()) {
    const paths = pathsOf(deps, sessionId);
    if (!paths) continue;
    try {
      folded += foldAcks(paths);
      if (runnerIsStuck(paths, now, deps.stuckAfterMs ?? 120_000)) stuck.push(sessionId);
    } catch (err) {
      readFailed(deps, sessionId, err, 'sweep could not read the session; skipped this tick');
    }
  }
  return { folded, stuck };
}

function runnerIsStuck(paths: SessionPaths, now: number, stuckAfterMs: number): boolean {
  const oldestClaim = oldestClaimAt(paths);
  if (oldestClaim === null) return false;
  return isStuck(Date.parse(oldestClaim), heartbeatAt(paths), now, stuckAfterMs);
}

/** A locked outbound.db is read next tick; an unsafe one takes the session out of service. */
function readFailed(deps: SweepDeps, sessionId: string, err: unknown, message: string): void {
  if (err instanceof SessionBusyError) return;
  if (err instanceof SessionUnsafeError && deps.onUnsafe) return deps.onUnsafe(sessionId, err);
  deps.log.warn({ sessionId, err }, message);
}

/**
 * Sessions whose wake time has come, in small batches: their due tasks move forward first, then one
 * transaction takes the batch's wakes and arms each session's next one (a host that dies before it
 * finds them due again), then what is due is delivered and a turn started where work is due.
 */
async function wakeDue(deps: SweepDeps, now: string): Promise<string[]> {
  const woken: string[] = [];
  const dueSessions = listDueWakes(deps.db, now);
  for (let i = 0; i < dueSessions.length; i += WAKE_BATCH) {
    const { next, due } = await readDueWork(deps, dueSessions.slice(i, i + WAKE_BATCH), now);
    for (const sessionId of takeWakes(deps.db, now, next)) {
      deps.delivery
        .deliverSession(sessionId)
        .catch((err: unknown) => deps.log.warn({ sessionId, err }, 'delivery of a woken session failed'));
      if (due.has(sessionId)) {
        deps.pool.wake(sessionId);
        woken.push(sessionId);
      }
    }
  }
  return woken;
}

/** For one batch: each session's next wake time (null = none) and the sessions with work due now. */
async function readDueWork(
  deps: SweepDeps,
  batch: string[],
  now: string,
): Promise<{ next: Map<string, string | null>; due: Set<string> }> {
  const next = new Map<string, string | null>();
  const due = new Set<string>();
  for (const sessionId of batch) {
    const session = getSession(deps.db, sessionId);
    if (!session) continue;
    if (session.status !== 'active') {
      next.set(sessionId, null); // delivered once more below; a closed chat starts no turns
      continue;
    }
    const paths = sessionPaths(deps.dataDir, session.agentGroupId, session.id);
    try {
      deps.scheduler?.settleSession(sessionId);
      const work = nextTriggerDue(paths, now);
      next.set(sessionId, work.nextAt);
      if (work.due) due.add(sessionId);
    } catch (err) {
      readFailed(deps, sessionId, err, 'cannot read due work; the session is tried again in a minute');
      next.set(sessionId, new Date(Date.parse(now) + 60_000).toISOString());
    }
    // A burst of due sessions (everyone's 09:00) must not hold up routing and delivery.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { next, due };
}

async function pruneClosed(deps: SweepDeps, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - deps.closedRetentionMs).toISOString();
  const closed = listClosedBefore(deps.db, cutoff, 20);
  for (const session of closed) {
    const { root } = sessionPaths(deps.dataDir, session.agentGroupId, session.id);
    closeKeptFilesUnder(root);
    await rm(root, { recursive: true, force: true });
    deleteSession(deps.db, session.id);
  }
  return closed.length;
}

function pathsOf(deps: SweepDeps, sessionId: string): SessionPaths | undefined {
  const session = getSession(deps.db, sessionId);
  return session && sessionPaths(deps.dataDir, session.agentGroupId, session.id);
}

export type Sweep = ReturnType<typeof createSweep>;
