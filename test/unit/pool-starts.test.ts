// The pool starts at most maxStarting containers at once (the engine is serial; more at once only
// makes each start wait), and every queued start still happens, in order.
import { expect, test, vi } from 'vitest';
import { createSessionPool, type ContainerRuntime } from '../../src/host/containers/index.ts';

test('no more than maxStarting starts run at once, and every session gets its container', async () => {
  let starting = 0;
  let most = 0;
  const started: string[] = [];
  const release: (() => void)[] = [];
  const runtime: ContainerRuntime = {
    start: async (spec) => {
      most = Math.max(most, ++starting);
      await new Promise<void>((resolve) => release.push(resolve));
      starting--;
      started.push(spec.name!);
      return { id: spec.name!, name: spec.name!, labels: {} };
    },
    stop: async () => {},
    list: async () => [],
    logs: async function* () {},
    wait: () => new Promise<number>(() => {}),
    remove: async () => {},
  };
  const pool = createSessionPool({
    runtime,
    launch: (id) => ({
      agentGroupId: 'g',
      spec: { image: 'i', cmd: [], env: {}, mounts: [], labels: {}, name: id },
    }),
    maxContainers: 10,
    maxPerAgentGroup: 10,
    maxStarting: 3,
    log: { info: vi.fn(), warn: vi.fn() },
    onExited: () => false,
  });
  const ids = Array.from({ length: 8 }, (_, i) => `s${i}`);
  for (const id of ids) pool.wake(id);
  // Let the engine finish one start at a time; each frees a place for the next waiting one.
  while (started.length < ids.length) {
    await vi.waitFor(() => expect(release.length).toBeGreaterThan(0));
    expect(starting).toBeLessThanOrEqual(3);
    release.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(most).toBe(3);
  expect(started).toEqual(ids);
  expect(pool.running().sort()).toEqual([...ids].sort());
});
