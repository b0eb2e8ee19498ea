// The sweep as tests run it: no container pool, so nothing is ever running and a wake is only recorded.
import { createSweep, type Sweep, type SweepDeps } from '../../src/host/sweep.ts';

export function createSweepWithoutContainers(
  deps: Omit<SweepDeps, 'pool'> & { wake: (sessionId: string) => void },
): Sweep {
  const { wake, ...rest } = deps;
  return createSweep({ ...rest, pool: { running: () => [], wake, stop: async () => {} } });
}
