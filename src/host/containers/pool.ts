// Session containers on demand: at most `maxContainers` at once and `maxPerAgentGroup` per agent
// group; a wake beyond the caps waits in a queue (never dropped) and starts when a slot frees up.
// The host, not the runner, bounds each container's life: a runner that never exits (a bug, or a
// hostile one ignoring its idle timeout) is stopped at maxLifetimeMs, or after idleStopMs without
// a sign of life (pool-limits.ts); its unfinished work goes to the next container through the normal
// exit path.
import {
  createLimitWatchdog,
  type LimitStop,
  type LimitWatchdog,
  type PoolLimits,
  type WatchedSlot,
} from './pool-limits.ts';
import type { Metrics } from '../metrics/index.ts';
import type { ContainerRef, ContainerRuntime, ContainerSpec } from './runtime.ts';

export type { LimitStop, PoolLimits } from './pool-limits.ts';

export interface Launch {
  agentGroupId: string;
  spec: ContainerSpec;
}

export interface PoolDeps {
  runtime: ContainerRuntime;
  /** The container to start for a session; undefined when the session no longer exists. */
  launch: (sessionId: string) => Launch | undefined;
  maxContainers: number;
  maxPerAgentGroup: number;
  /**
   * Containers being created and started at once (default: no limit beyond the caps). The engine does
   * much of a start one container at a time, so past a few at once more only makes each one wait.
   */
  maxStarting?: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** A session starts waiting for a container; record it, so a host that dies meanwhile wakes it again. */
  onQueued?: (sessionId: string) => void;
  /**
   * Runs before the container starts (e.g. the session's gateway socket must be listening). A failure
   * counts as a failed start: the exit path runs and the session's work is retried.
   */
  beforeStart?: (sessionId: string) => Promise<void>;
  onStarted?: (sessionId: string, ref: ContainerRef) => void;
  /** After the container ended and was removed: fold its work, retry what it left; true = wake it again. */
  onExited: (sessionId: string, exitCode: number) => Promise<boolean> | boolean;
  /** Where the container's output goes (e.g. a rotated log file); resolves when the output ends. */
  captureLogs?: (sessionId: string, lines: AsyncIterable<string>) => Promise<void>;
  /** Host-enforced bounds on each container's life; none when missing. */
  limits?: PoolLimits;
  /**
   * When (epoch ms) the session last showed life: a heartbeat, a write to outbound.db, new inbound
   * work. null = never. Read only for running containers, on the watchdog's tick.
   */
  lastActivity?: (sessionId: string) => number | null;
  /** Epoch ms; tests move time. */
  now?: () => number;
  /** Counts starts and how long they take (metrics/). */
  metrics?: Pick<Metrics, 'containerStarted'>;
}

interface Slot extends WatchedSlot {
  agentGroupId: string;
  /** A wake arrived while the container was already exiting: start it again afterwards. */
  rewake: boolean;
  /** The inbound message whose wake started this container, for its start line. */
  corr?: string;
}

/** Who waits, who runs, and whether the pool is shutting down. */
interface PoolState {
  slots: Map<string, Slot>;
  /** Sessions waiting for a container, oldest first; `queued` holds the same ids for lookups. */
  queue: string[];
  queued: Set<string>;
  /** The inbound message that first asked for each waiting container (src/shared/correlation.ts). */
  wokeBy: Map<string, string>;
  /** One per running container: settles once its exit is handled. */
  exits: Set<Promise<void>>;
  closed: boolean;
}

/** What one container's run needs of its pool. */
interface RunContext {
  deps: PoolDeps;
  state: PoolState;
  now: () => number;
  watchdog: LimitWatchdog;
  startGate: Gate;
}

export function createSessionPool(deps: PoolDeps) {
  const state: PoolState = {
    slots: new Map(),
    queue: [],
    queued: new Set(),
    wokeBy: new Map(),
    exits: new Set(),
    closed: false,
  };
  const { slots, queue, queued, wokeBy, exits } = state;
  const now = deps.now ?? Date.now;
  const watchdog = createLimitWatchdog({ ...deps, now, slots, isClosed: () => state.closed });
  const context: RunContext = { deps, state, now, watchdog, startGate: createGate(deps.maxStarting) };

  return {
    wake,
    isRunning: (sessionId: string): boolean => slots.has(sessionId),
    running: (): string[] => [...slots.keys()],
    queuedSessions: (): string[] => [...queue],
    stop: (sessionId: string, graceMs: number) => stopSession(context, sessionId, graceMs),
    stopAll: (graceMs: number) => stopAllSessions(context, graceMs),
    containerOf: (sessionId: string): ContainerRef | undefined => slots.get(sessionId)?.ref,
    /** Why a limit is stopping the session's container, if one is. */
    limitStopOf: (sessionId: string): LimitStop | undefined => slots.get(sessionId)?.limitStop,
  };

  /**
   * Makes sure a container serves the session soon; cheap and idempotent. `corr`: the inbound message
   * that asks, named on the start line of the container it gets (a running one just picks it up).
   */
  function wake(sessionId: string, corr?: string): void {
    if (state.closed) {
      deps.onQueued?.(sessionId); // shutting down: recorded, so the next start picks it up
      return;
    }
    const slot = slots.get(sessionId);
    if (slot && !slot.exiting) return;
    if (corr !== undefined && !wokeBy.has(sessionId)) wokeBy.set(sessionId, corr);
    if (slot) {
      slot.rewake = true;
      return;
    }
    if (!queued.has(sessionId)) {
      queued.add(sessionId);
      queue.push(sessionId);
      deps.onQueued?.(sessionId);
    }
    drain();
  }

  /** Starts queued sessions while the caps allow, in queue order. */
  function drain(): void {
    for (let i = 0; i < queue.length && slots.size < deps.maxContainers;) {
      const sessionId = queue[i]!;
      const launch = deps.launch(sessionId);
      if (!launch) {
        queue.splice(i, 1);
        queued.delete(sessionId);
        wokeBy.delete(sessionId);
        continue;
      }
      if (countInGroup(slots, launch.agentGroupId) >= deps.maxPerAgentGroup) {
        i++; // this group is full; a later session of another group may still start
        continue;
      }
      queue.splice(i, 1);
      queued.delete(sessionId);
      start(sessionId, launch);
    }
  }

  function start(sessionId: string, launch: Launch): void {
    const slot: Slot = {
      agentGroupId: launch.agentGroupId,
      rewake: false,
      exiting: false,
      corr: wokeBy.get(sessionId),
    };
    wokeBy.delete(sessionId);
    slots.set(sessionId, slot);
    const done = run(sessionId, slot, launch.spec).finally(() => exits.delete(done));
    exits.add(done);
  }

  async function run(sessionId: string, slot: Slot, spec: ContainerSpec): Promise<void> {
    const exitCode = await runContainer(context, sessionId, slot, spec);
    const again = await handleExit(deps, sessionId, exitCode, slot.rewake);
    slots.delete(sessionId);
    if (slots.size === 0) watchdog.disarm();
    if (again && !state.closed) wake(sessionId);
    drain();
  }
}

/** Starts the container, follows it to its exit and removes it; the exit code, -1 when it failed. */
async function runContainer(
  { deps, state, now, watchdog, startGate }: RunContext,
  sessionId: string,
  slot: Slot,
  spec: ContainerSpec,
): Promise<number> {
  let exitCode = -1;
  const began = performance.now(); // a duration: monotonic, whatever the tests do to `now`
  try {
    await deps.beforeStart?.(sessionId);
    slot.ref = await startGate.through(() => deps.runtime.start(spec));
    const ms = performance.now() - began;
    deps.metrics?.containerStarted(ms, true);
    deps.log.info({ sessionId, corr: slot.corr, ms: Math.round(ms) }, 'session container started');
    slot.startedAt = now();
    watchdog.arm();
    if (state.closed) await deps.runtime.stop(slot.ref, 0); // shut down while it was starting
    deps.onStarted?.(sessionId, slot.ref);
    // Caught at once: a container removed early (shutdown) must not leave a rejection unhandled.
    const logs = deps.captureLogs?.(sessionId, deps.runtime.logs(slot.ref)).catch((err: unknown) => {
      if (!state.closed) deps.log.warn({ sessionId, err }, 'container log capture failed');
    });
    exitCode = await deps.runtime.wait(slot.ref);
    slot.exiting = true;
    await logs;
    await deps.runtime.remove(slot.ref);
  } catch (err) {
    slot.exiting = true;
    if (!slot.ref) deps.metrics?.containerStarted(performance.now() - began, false);
    if (!state.closed) deps.log.warn({ sessionId, err }, 'session container failed; its work is retried');
    if (slot.ref) await deps.runtime.remove(slot.ref).catch(() => {});
  }
  return exitCode;
}

/** Runs the exit path (fold the work, retry what is left); true = the session wants a container again. */
async function handleExit(
  deps: PoolDeps,
  sessionId: string,
  exitCode: number,
  rewake: boolean,
): Promise<boolean> {
  try {
    return (await deps.onExited(sessionId, exitCode)) || rewake;
  } catch (err) {
    deps.log.warn({ sessionId, err }, 'handling a container exit failed');
    return rewake;
  }
}

function countInGroup(slots: ReadonlyMap<string, Slot>, agentGroupId: string): number {
  let n = 0;
  for (const slot of slots.values()) if (slot.agentGroupId === agentGroupId) n++;
  return n;
}

/** Stops one session's container (stuck runner); the exit path then retries its work. */
async function stopSession({ deps, state }: RunContext, sessionId: string, graceMs: number): Promise<void> {
  const ref = state.slots.get(sessionId)?.ref;
  if (ref) await deps.runtime.stop(ref, graceMs);
}

/** Shutdown: no new starts, every container stopped, every exit handled. */
async function stopAllSessions({ deps, state, watchdog }: RunContext, graceMs: number): Promise<void> {
  state.closed = true;
  watchdog.disarm();
  state.queue.length = 0;
  state.queued.clear();
  state.wokeBy.clear();
  const stops = [...state.slots.values()].map((s) => (s.ref ? deps.runtime.stop(s.ref, graceMs) : undefined));
  for (const result of await Promise.allSettled(stops)) {
    if (result.status === 'rejected') deps.log.warn({ err: result.reason }, 'a container did not stop');
  }
  await Promise.allSettled([...state.exits]);
}

export type SessionPool = ReturnType<typeof createSessionPool>;

interface Gate {
  /** Runs `work` once fewer than the limit are running through the gate, oldest caller first. */
  through<T>(work: () => Promise<T>): Promise<T>;
}

function createGate(limit = Infinity): Gate {
  let inside = 0;
  const waiting: (() => void)[] = [];
  return {
    async through(work) {
      // A caller that waits is handed the place of the one leaving, so `inside` never passes the limit.
      if (inside >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      else inside++;
      try {
        return await work();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else inside--;
      }
    },
  };
}
