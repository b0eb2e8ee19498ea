// Session containers on demand: at most `maxContainers` at once and `maxPerAgentGroup` per agent
// group; a wake beyond the caps waits in a queue (never dropped) and starts when a slot frees up.
// The host, not the runner, bounds each container's life: a runner that never exits (a bug, or a
// hostile one ignoring its idle timeout) is stopped at maxLifetimeMs, or after idleStopMs without
// a sign of life; its unfinished work goes to the next container through the normal exit path.
import type { ContainerRef, ContainerRuntime, ContainerSpec } from './runtime.ts';

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
}

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

interface Slot {
  agentGroupId: string;
  ref?: ContainerRef;
  /** A wake arrived while the container was already exiting: start it again afterwards. */
  rewake: boolean;
  exiting: boolean;
  /** Epoch ms the container started running. */
  startedAt?: number;
  /** Set once a limit has asked the container to stop. */
  limitStop?: LimitStop;
}

export function createSessionPool(deps: PoolDeps) {
  const slots = new Map<string, Slot>();
  const queue: string[] = [];
  const queued = new Set<string>();
  const exits = new Set<Promise<void>>();
  let closed = false;
  const now = deps.now ?? Date.now;
  let watchdog: NodeJS.Timeout | undefined;

  return { wake, isRunning, running, queuedSessions, stop, stopAll, containerOf, limitStopOf };

  /** Makes sure a container serves the session soon; cheap and idempotent. */
  function wake(sessionId: string): void {
    if (closed) {
      deps.onQueued?.(sessionId); // shutting down: recorded, so the next start picks it up
      return;
    }
    const slot = slots.get(sessionId);
    if (slot) {
      if (slot.exiting) slot.rewake = true;
      return;
    }
    if (!queued.has(sessionId)) {
      queued.add(sessionId);
      queue.push(sessionId);
      deps.onQueued?.(sessionId);
    }
    drain();
  }

  function drain(): void {
    for (let i = 0; i < queue.length && slots.size < deps.maxContainers;) {
      const sessionId = queue[i]!;
      const launch = deps.launch(sessionId);
      if (!launch) {
        queue.splice(i, 1);
        queued.delete(sessionId);
        continue;
      }
      if (countFor(launch.agentGroupId) >= deps.maxPerAgentGroup) {
        i++; // this group is full; a later session of another group may still start
        continue;
      }
      queue.splice(i, 1);
      queued.delete(sessionId);
      start(sessionId, launch);
    }
  }

  function start(sessionId: string, launch: Launch): void {
    const slot: Slot = { agentGroupId: launch.agentGroupId, rewake: false, exiting: false };
    slots.set(sessionId, slot);
    const done = run(sessionId, slot, launch.spec).finally(() => exits.delete(done));
    exits.add(done);
  }

  async function run(sessionId: string, slot: Slot, spec: ContainerSpec): Promise<void> {
    let exitCode = -1;
    try {
      await deps.beforeStart?.(sessionId);
      slot.ref = await deps.runtime.start(spec);
      slot.startedAt = now();
      armWatchdog();
      if (closed) await deps.runtime.stop(slot.ref, 0); // shut down while it was starting
      deps.onStarted?.(sessionId, slot.ref);
      // Caught at once: a container removed early (shutdown) must not leave a rejection unhandled.
      const logs = deps.captureLogs?.(sessionId, deps.runtime.logs(slot.ref)).catch((err: unknown) => {
        if (!closed) deps.log.warn({ sessionId, err }, 'container log capture failed');
      });
      exitCode = await deps.runtime.wait(slot.ref);
      slot.exiting = true;
      await logs;
      await deps.runtime.remove(slot.ref);
    } catch (err) {
      slot.exiting = true;
      if (!closed) deps.log.warn({ sessionId, err }, 'session container failed; its work is retried');
      if (slot.ref) await deps.runtime.remove(slot.ref).catch(() => {});
    }
    let again = slot.rewake;
    try {
      again = (await deps.onExited(sessionId, exitCode)) || again;
    } catch (err) {
      deps.log.warn({ sessionId, err }, 'handling a container exit failed');
    }
    slots.delete(sessionId);
    if (slots.size === 0) disarmWatchdog();
    if (again && !closed) wake(sessionId);
    drain();
  }

  /** One timer for all running containers, none while nothing runs (idle sessions cost nothing). */
  function armWatchdog(): void {
    const limits = deps.limits;
    if (!limits || watchdog) return;
    const every =
      limits.checkEveryMs ??
      Math.min(10_000, Math.max(1000, Math.min(limits.maxLifetimeMs, limits.idleStopMs) / 4));
    watchdog = setInterval(() => checkLimits(limits), every);
    watchdog.unref();
  }

  function disarmWatchdog(): void {
    clearInterval(watchdog);
    watchdog = undefined;
  }

  /** Stops every container past a limit; the exit path then retries what it left unfinished. */
  function checkLimits(limits: PoolLimits): void {
    const at = now();
    for (const [sessionId, slot] of slots) {
      if (!slot.ref || slot.startedAt === undefined || slot.exiting || slot.limitStop || closed) continue;
      const livedMs = at - slot.startedAt;
      let reason: LimitStop | undefined;
      let idleMs = 0;
      if (livedMs >= limits.maxLifetimeMs) reason = 'max_lifetime';
      else {
        let last: number | null = null;
        try {
          last = deps.lastActivity?.(sessionId) ?? null;
        } catch (err) {
          // Not counted as idle: a passing read error must not stop a busy container (the lifetime still applies).
          deps.log.warn(
            { sessionId, err },
            'cannot tell when the session was last active; checked again next tick',
          );
          continue;
        }
        idleMs = at - Math.max(slot.startedAt, last ?? 0);
        if (idleMs >= limits.idleStopMs) reason = 'idle';
      }
      if (!reason) continue;
      slot.limitStop = reason;
      const ref = slot.ref;
      deps.log.warn(
        reason === 'max_lifetime'
          ? { sessionId, container: ref.name, reason, livedMs, maxLifetimeMs: limits.maxLifetimeMs }
          : { sessionId, container: ref.name, reason, idleMs, idleStopMs: limits.idleStopMs },
        reason === 'max_lifetime'
          ? 'container reached its maximum lifetime; the host stops it (unfinished work goes to the next container)'
          : 'container idle past the host’s limit without exiting; the host stops it',
      );
      deps.runtime.stop(ref, limits.graceMs ?? 5000).catch((err: unknown) => {
        slot.limitStop = undefined; // tried again on the next tick
        deps.log.warn(
          { sessionId, container: ref.name, reason, err },
          'a container past its limit did not stop',
        );
      });
    }
  }

  function countFor(agentGroupId: string): number {
    let n = 0;
    for (const slot of slots.values()) if (slot.agentGroupId === agentGroupId) n++;
    return n;
  }

  function isRunning(sessionId: string): boolean {
    return slots.has(sessionId);
  }

  function running(): string[] {
    return [...slots.keys()];
  }

  function queuedSessions(): string[] {
    return [...queue];
  }

  /** Why a limit is stopping the session's container, if one is. */
  function limitStopOf(sessionId: string): LimitStop | undefined {
    return slots.get(sessionId)?.limitStop;
  }

  function containerOf(sessionId: string): ContainerRef | undefined {
    return slots.get(sessionId)?.ref;
  }

  /** Stops one session's container (stuck runner); the exit path then retries its work. */
  async function stop(sessionId: string, graceMs: number): Promise<void> {
    const ref = slots.get(sessionId)?.ref;
    if (ref) await deps.runtime.stop(ref, graceMs);
  }

  /** Shutdown: no new starts, every container stopped, every exit handled. */
  async function stopAll(graceMs: number): Promise<void> {
    closed = true;
    disarmWatchdog();
    queue.length = 0;
    queued.clear();
    const stops = [...slots.values()].map((s) => (s.ref ? deps.runtime.stop(s.ref, graceMs) : undefined));
    for (const result of await Promise.allSettled(stops)) {
      if (result.status === 'rejected') deps.log.warn({ err: result.reason }, 'a container did not stop');
    }
    await Promise.allSettled([...exits]);
  }
}

export type SessionPool = ReturnType<typeof createSessionPool>;
