// When containers exit, learned from one stream of the engine's events instead of one `wait` request
// per container. Podman 4.3 answers a `wait` by polling the container's state, each poll taking the
// container's lock and running the OCI runtime's `state`: 10 waits slowed 10 simultaneous starts
// threefold, and with 50 the first replies took 60-75 s (docs/benchmarks.md, "Halving the cost per
// message").
// The stream is open only while someone waits. An exit the stream may have missed (it was not open
// yet, or broke) is found by asking the engine once: when a wait begins, after each (re)connection,
// and every SAFETY_POLL_MS.
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { ContainerRuntimeError, INSTALL_LABEL, type ContainerLogger } from './runtime.ts';
import { errorText } from '../../shared/error-text.ts';

/** How often waiting containers are also asked for directly, in case an event went missing. */
export const SAFETY_POLL_MS = 30_000;
/** After the stream broke, the wait before opening it again. */
const RECONNECT_MS = 1000;
/** Bytes of one event line; a longer one is dropped (an event is a few hundred bytes). */
const MAX_EVENT_BYTES = 64 * 1024;

export interface ExitWatch {
  /** The container's exit code, once it has exited; rejects when the engine no longer knows it. */
  wait(id: string, name: string): Promise<number>;
}

interface Waiter {
  name: string;
  promise: Promise<number>;
  resolve(code: number): void;
  reject(err: Error): void;
}

export function createExitWatch(docker: Docker, installId: string, log: ContainerLogger): ExitWatch {
  const waiters = new Map<string, Waiter>();
  let stream: Readable | undefined;
  let opening: Promise<void> | undefined;
  let poll: NodeJS.Timeout | undefined;

  return {
    wait(id, name) {
      const known = waiters.get(id);
      if (known) return known.promise;
      const waiter = newWaiter(name);
      waiters.set(id, waiter);
      poll ??= setInterval(() => waiters.forEach((_, id) => void check(id)), SAFETY_POLL_MS).unref();
      void (stream ? check(id) : connect());
      return waiter.promise;
    },
  };

  function settle(id: string, outcome: { code: number } | { error: Error }): void {
    const waiter = waiters.get(id);
    if (!waiter) return;
    waiters.delete(id);
    if ('code' in outcome) waiter.resolve(outcome.code);
    else waiter.reject(outcome.error);
    if (waiters.size === 0) {
      clearInterval(poll);
      poll = undefined;
      stream?.destroy(); // nobody waits: the stream closes (and must not keep the host alive)
      stream = undefined;
    }
  }

  /** Opens the stream (once, however many waits ask), then asks about every waiting container. */
  function connect(): Promise<void> {
    opening ??= (async () => {
      try {
        const opened = (await docker.getEvents({
          filters: { type: ['container'], label: [`${INSTALL_LABEL}=${installId}`] },
        })) as unknown as Readable;
        if (waiters.size === 0) {
          opened.destroy();
          return;
        }
        stream = opened;
        follow(opened);
      } catch (err) {
        log.warn({ err: errorText(err) }, 'container events cannot be followed; asking each container');
        if (waiters.size > 0) setTimeout(() => void connect(), RECONNECT_MS).unref();
      } finally {
        opening = undefined;
      }
      await Promise.all([...waiters.keys()].map(check));
    })();
    return opening;
  }

  function follow(events: Readable): void {
    let pending = '';
    events.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (pending.length > MAX_EVENT_BYTES) pending = '';
      for (const line of lines) onEvent(line);
    });
    const ended = () => {
      if (stream !== events) return; // closed on purpose
      stream = undefined;
      if (waiters.size > 0) setTimeout(() => void connect(), RECONNECT_MS).unref();
    };
    events.on('end', ended);
    events.on('error', ended);
    events.on('close', ended);
  }

  function onEvent(line: string): void {
    const event = parseEvent(line);
    if (event && waiters.has(event.id)) settle(event.id, { code: event.exitCode });
  }

  /** Asks the engine about one container; an exited one settles its wait. */
  async function check(id: string): Promise<void> {
    try {
      const { State } = await docker.getContainer(id).inspect();
      if (!State.Running && ['exited', 'stopped', 'dead'].includes(State.Status)) {
        settle(id, { code: State.ExitCode });
      }
    } catch (err) {
      const name = waiters.get(id)?.name ?? id;
      if ((err as { statusCode?: number }).statusCode === 404) {
        settle(id, { error: new ContainerRuntimeError(`waiting for container ${name} failed: it is gone`) });
      } else {
        log.warn(
          { container: name, err: errorText(err) },
          'container state cannot be read; asked again later',
        );
      }
    }
  }
}

/** Pure: the container that died and its exit code, from one line of the engine's event stream. */
export function parseEvent(line: string): { id: string; exitCode: number } | undefined {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return undefined;
  }
  const e = event as {
    Type?: unknown;
    Action?: unknown;
    id?: unknown;
    Actor?: { ID?: unknown; Attributes?: Record<string, unknown> };
  };
  if (e.Type !== 'container' || e.Action !== 'die') return undefined;
  const id = typeof e.Actor?.ID === 'string' ? e.Actor.ID : e.id;
  // Docker names it exitCode; Podman adds containerExitCode.
  const code = Number(e.Actor?.Attributes?.exitCode ?? e.Actor?.Attributes?.containerExitCode);
  if (typeof id !== 'string' || !Number.isInteger(code)) return undefined;
  return { id, exitCode: code };
}

function newWaiter(name: string): Waiter {
  let resolve!: (code: number) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<number>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { name, promise, resolve, reject };
}
