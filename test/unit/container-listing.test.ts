// Listing an install's containers while the engine removes or reaps others: Podman's 500s for that race
// are looked past, any other failure is not. The engine's client is a stand-in that fails as Podman does.
import type Docker from 'dockerode';
import { expect, test } from 'vitest';
import { createDockerRuntime } from '../../src/host/containers/docker.ts';
import { INSTALL_LABEL } from '../../src/host/containers/runtime.ts';

const ours: Docker.ContainerInfo = {
  Id: 'c1',
  Names: ['/warren-ses_1'],
  Labels: { [INSTALL_LABEL]: 'install-1' },
  State: 'running',
} as unknown as Docker.ContainerInfo;

/** An engine whose listing fails with `failures`, one per call, then answers. */
function engineFailing(...failures: string[]) {
  let calls = 0;
  const docker = {
    listContainers: async () => {
      const failure = failures[calls++];
      if (failure === undefined) return [ours];
      throw Object.assign(new Error(`(HTTP code 500) server error - ${failure}`), { statusCode: 500 });
    },
  } as unknown as Docker;
  return { runtime: createDockerRuntime({ installId: 'install-1', docker }), calls: () => calls };
}

test.each([
  ['removed', 'container 4f2a… does not exist in database: no such container'],
  ['whose process ended', 'read /proc/2055/cgroup: no such process'],
])('a container %s while the engine lists is looked past', async (_what, failure) => {
  const { runtime, calls } = engineFailing(failure, failure);
  expect((await runtime.list({})).map((c) => c.id)).toEqual(['c1']);
  expect(calls()).toBe(3);
});

test('any other failure of the listing is thrown, at once', async () => {
  const { runtime, calls } = engineFailing('database is locked');
  await expect(runtime.list({})).rejects.toThrow(/database is locked/);
  expect(calls()).toBe(1);
});
