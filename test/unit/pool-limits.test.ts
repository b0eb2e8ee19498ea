// The pool's host-side limits with a fake engine and a moved clock: a container is stopped at its
// maximum lifetime even while busy, and after idleStopMs without a sign of life, and the normal exit
// path runs afterwards.
import { expect, test, vi } from 'vitest';
import {
  createSessionPool,
  type ContainerRef,
  type ContainerRuntime,
} from '../../src/host/containers/index.ts';

function fakeEngine() {
  const exits = new Map<string, (code: number) => void>();
  const stops: string[] = [];
  const runtime: ContainerRuntime = {
    start: async (spec) => ({ id: spec.name!, name: spec.name!, labels: {} }),
    stop: async (ref: ContainerRef) => {
      stops.push(ref.name);
      exits.get(ref.id)?.(143);
    },
    list: async () => [],
    logs: async function* () {},
    wait: (ref) => new Promise<number>((resolve) => exits.set(ref.id, resolve)),
    remove: async () => {},
  };
  return { runtime, stops };
}

function pool(options: { lastActivity: (id: string) => number | null; now: () => number }) {
  const engine = fakeEngine();
  const log = { info: vi.fn(), warn: vi.fn() };
  const exited: [string, number][] = [];
  const p = createSessionPool({
    runtime: engine.runtime,
    launch: (id) => ({
      agentGroupId: 'g',
      spec: { image: 'i', cmd: [], env: {}, mounts: [], labels: {}, name: id },
    }),
    maxContainers: 4,
    maxPerAgentGroup: 4,
    log,
    onExited: (id, code) => {
      exited.push([id, code]);
      return false;
    },
    limits: { maxLifetimeMs: 60_000, idleStopMs: 10_000, checkEveryMs: 5 },
    ...options,
  });
  return { pool: p, stops: engine.stops, log, exited };
}

test('a busy container is stopped at its maximum lifetime and its exit handled', async () => {
  let now = 1_000_000;
  // The watchdog asks for the last activity only of a container within its lifetime: the clock
  // values it asked at are the checks that let the container run.
  const checkedAt: number[] = [];
  const lastActivity = () => {
    checkedAt.push(now);
    return now;
  };
  const { pool: p, stops, log, exited } = pool({ now: () => now, lastActivity });
  p.wake('s1');
  await vi.waitFor(() => expect(p.containerOf('s1')).toBeDefined());
  now += 59_000;
  await vi.waitFor(() => expect(checkedAt).toContain(now));
  expect(stops).toEqual([]);
  now += 1_000;
  await vi.waitFor(() => expect(exited).toEqual([['s1', 143]]));
  expect(stops).toEqual(['s1']);
  expect(log.warn.mock.calls[0]![0]).toMatchObject({
    sessionId: 's1',
    reason: 'max_lifetime',
    livedMs: 60_000,
  });
  expect(p.running()).toEqual([]);
});

test('a container without a sign of life for idleStopMs is stopped; one with recent activity is not', async () => {
  let now = 1_000_000;
  const activity = new Map<string, number>();
  const { pool: p, stops, log } = pool({ now: () => now, lastActivity: (id) => activity.get(id) ?? null });
  p.wake('quiet');
  p.wake('busy');
  await vi.waitFor(() => expect(p.running()).toHaveLength(2));
  await vi.waitFor(() => expect(p.containerOf('busy')).toBeDefined());
  now += 10_000;
  activity.set('busy', now - 1_000);
  await vi.waitFor(() => expect(stops).toEqual(['quiet']));
  expect(log.warn.mock.calls[0]![0]).toMatchObject({ sessionId: 'quiet', reason: 'idle', idleMs: 10_000 });
  expect(p.running()).toEqual(['busy']);
  await p.stopAll(0);
});
