// The host-enforced bounds on a session container's life: one watchdog timer for all running
// containers stops each one past its maximum lifetime, or idle past idleStopMs; the pool's normal
// exit path then hands its unfinished work to the next container.
import type { ContainerRef, ContainerRuntime } from './runtime.ts';

export interface PoolLimits {
  /** A container running this long is stopped, busy or not. */
  maxLifetimeMs: number;
  /** A container with no sign of life (lastActivity) for this long is stopped. */
  idleStopMs: number;
  /** How often running containers are checked; default: a quarter of the smaller limit, 1 to 10 s. */
  checkEveryMs?: number;
  /** SIGTERM to SIGKILL when a limit stops a container. */
  graceMs?: number;
}

export type LimitStop = 'max_lifetime' | 'idle';

/** What the watchdog reads of a pool slot, and marks once a limit stops its container. */
export interface WatchedSlot {
  ref?: ContainerRef;
  exiting: boolean;
  /** Epoch ms the container started running. */
  startedAt?: number;
  /** Set once a limit has asked the container to stop. */
  limitStop?: LimitStop;
}

export interface LimitWatchdogDeps {
  runtime: ContainerRuntime;
  /** None: the watchdog never runs. */
  limits?: PoolLimits;
  /** When (epoch ms) the session last showed life; null = never. */
  lastActivity?: (sessionId: string) => number | null;
  log: { warn(obj: object, msg: string): void };
  now: () => number;
  /** The pool's slots by session id, read on every tick. */
  slots: ReadonlyMap<string, WatchedSlot>;
  /** True once the pool shuts down: nothing more is stopped for a limit. */
  isClosed: () => boolean;
}

/** A limit a container has reached, with the measure that reached it. */
type Breach = { reason: 'max_lifetime'; livedMs: number } | { reason: 'idle'; idleMs: number };

export interface LimitWatchdog {
  /** Starts the timer if it is not running (and limits are set). */
  arm(): void;
  /** Stops the timer: nothing runs, so nothing is checked. */
  disarm(): void;
}

/** One timer for all running containers, none while nothing runs (idle sessions cost nothing). */
export function createLimitWatchdog(deps: LimitWatchdogDeps): LimitWatchdog {
  let timer: NodeJS.Timeout | undefined;
  return {
    arm() {
      const limits = deps.limits;
      if (!limits || timer) return;
      timer = setInterval(() => stopContainersPastLimits(deps, limits), checkInterval(limits));
      timer.unref();
    },
    disarm() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}

function checkInterval(limits: PoolLimits): number {
  return (
    limits.checkEveryMs ??
    Math.min(10_000, Math.max(1000, Math.min(limits.maxLifetimeMs, limits.idleStopMs) / 4))
  );
}

/** Stops every container past a limit; the exit path then retries what it left unfinished. */
function stopContainersPastLimits(deps: LimitWatchdogDeps, limits: PoolLimits): void {
  const at = deps.now();
  for (const [sessionId, slot] of deps.slots) {
    if (!slot.ref || slot.startedAt === undefined || slot.exiting || slot.limitStop || deps.isClosed())
      continue;
    const breach = limitReached(deps, sessionId, slot.startedAt, limits, at);
    if (breach) stopForLimit(deps, sessionId, slot, slot.ref, limits, breach);
  }
}

/** The limit the session's container has reached at `at`, if any. */
function limitReached(
  deps: LimitWatchdogDeps,
  sessionId: string,
  startedAt: number,
  limits: PoolLimits,
  at: number,
): Breach | undefined {
  const livedMs = at - startedAt;
  if (livedMs >= limits.maxLifetimeMs) return { reason: 'max_lifetime', livedMs };
  let last: number | null = null;
  try {
    last = deps.lastActivity?.(sessionId) ?? null;
  } catch (err) {
    // Not counted as idle: a passing read error must not stop a busy container (the lifetime still applies).
    deps.log.warn(
      { sessionId, err },
      'cannot tell when the session was last active; checked again next tick',
    );
    return undefined;
  }
  const idleMs = at - Math.max(startedAt, last ?? 0);
  return idleMs >= limits.idleStopMs ? { reason: 'idle', idleMs } : undefined;
}

function stopForLimit(
  deps: LimitWatchdogDeps,
  sessionId: string,
  slot: WatchedSlot,
  ref: ContainerRef,
  limits: PoolLimits,
  breach: Breach,
): void {
  const { reason } = breach;
  slot.limitStop = reason;
  deps.log.warn(
    breach.reason === 'max_lifetime'
      ? {
          sessionId,
          container: ref.name,
          reason,
          livedMs: breach.livedMs,
          maxLifetimeMs: limits.maxLifetimeMs,
        }
      : { sessionId, container: ref.name, reason, idleMs: breach.idleMs, idleStopMs: limits.idleStopMs },
    breach.reason === 'max_lifetime'
      ? 'container reached its maximum lifetime; the host stops it (unfinished work goes to the next container)'
      : 'container idle past the host’s limit without exiting; the host stops it',
  );
  deps.runtime.stop(ref, limits.graceMs ?? 5000).catch((err: unknown) => {
    slot.limitStop = undefined; // tried again on the next tick
    deps.log.warn({ sessionId, container: ref.name, reason, err }, 'a container past its limit did not stop');
  });
}
