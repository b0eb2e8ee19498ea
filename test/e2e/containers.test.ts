// The container runtime against the real engine: what a session container can and cannot do.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from 'vitest';
import { buildRunner } from '../../scripts/build-runner.ts';
import {
  createDockerRuntime,
  removeOrphans,
  type ContainerRef,
  type ContainerRuntime,
  type ContainerSpec,
} from '../../src/host/containers/index.ts';
import { agentImageTag, agentImageTagFor, type AgentImageInputs } from '../../src/host/containers/image.ts';
import { waitUntil } from '../harness/wait-until.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const docker = new Docker({ socketPath: inject('dockerSocket') });
const image = inject('agentImage');
const installId = `test-containers-${randomBytes(4).toString('hex')}`;
const runtime = createDockerRuntime({ docker, installId });
const otherRuntime = createDockerRuntime({ docker, installId: `${installId}-other` });
const tempDirs: string[] = [];

const IDLE = ['node', '-e', "console.log('ready'); setInterval(() => {}, 1000)"];

function spec(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return { image, cmd: IDLE, env: {}, mounts: [], labels: { 'warren.test': 'containers' }, ...overrides };
}

async function tempDir(mode: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'warren-containers-test-'));
  await chmod(dir, mode);
  tempDirs.push(dir);
  return dir;
}

/** Follows a container's output from its start; until(text) resolves when that line has appeared. */
function follow(ref: ContainerRef, from: ContainerRuntime = runtime) {
  const lines: string[] = [];
  let notify = (): void => {};
  const done = (async () => {
    for await (const line of from.logs(ref)) {
      lines.push(line);
      notify();
    }
  })();
  async function until(text: string): Promise<void> {
    while (!lines.includes(text)) {
      const ended = await Promise.race([
        new Promise<false>((resolve) => (notify = () => resolve(false))),
        done.then(() => true),
      ]);
      if (ended && !lines.includes(text))
        throw new Error(`output ended without "${text}":\n${lines.join('\n')}`);
    }
  }
  return { lines, done, until };
}

async function removeEverythingStarted(): Promise<void> {
  await removeOrphans(runtime, installId);
  await removeOrphans(otherRuntime, `${installId}-other`);
}

afterEach(removeEverythingStarted);

afterAll(async () => {
  await removeEverythingStarted(); // also covers a failed beforeAll, after which no afterEach runs
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('a session container run as nobody with a read-only and a read-write mount', () => {
  let report: Record<string, unknown> & { sqlite: { ok: boolean; error?: string } };
  let exitCode: number;
  let dataDir: string;
  let hostServer: Server;
  let hostConnections = 0;
  let port: number;

  beforeAll(async () => {
    const bundleDir = await tempDir(0o755);
    await buildRunner(repoRoot, {
      entry: 'test/fixtures/container-probe.ts',
      outfile: join(bundleDir, 'probe.mjs'),
    });
    // Both folders are open to everyone, so only the mount flags can refuse a write.
    const inputDir = await tempDir(0o777);
    await writeFile(join(inputDir, 'hello.txt'), 'hello from the host');
    dataDir = await tempDir(0o777);
    hostServer = createServer((socket) => {
      hostConnections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => hostServer.listen(0, '127.0.0.1', resolve));
    port = (hostServer.address() as { port: number }).port;

    const ref = await runtime.start(
      spec({
        cmd: ['node', '/app/runner/probe.mjs'],
        env: { PROBE_PORT: String(port) },
        user: '65534:65534',
        mounts: [
          { hostPath: bundleDir, containerPath: '/app/runner', readOnly: true },
          { hostPath: inputDir, containerPath: '/input', readOnly: true },
          { hostPath: dataDir, containerPath: '/data', readOnly: false },
        ],
      }),
    );
    const output = follow(ref);
    exitCode = await runtime.wait(ref);
    await output.done;
    await runtime.stop(ref, 0);
    const json = output.lines.find((line) => line.startsWith('{'));
    if (!json) throw new Error(`the probe printed no report:\n${output.lines.join('\n')}`);
    report = JSON.parse(json);
  });

  afterAll(() => new Promise<void>((resolve) => hostServer.close(() => resolve())));

  test('the probe exits 0 as uid 65534', () => {
    expect(exitCode).toBe(0);
    expect(report.uid).toBe(65534);
  });

  test('it reads the read-only mount and writes the read-write mount', async () => {
    expect(report.input).toBe('hello from the host');
    expect(report.rwWrite).toBe('ok');
    expect(await readFile(join(dataDir, 'written.txt'), 'utf8')).toBe('probe');
  });

  test('writing to the read-only mount fails with EROFS', () => {
    expect(report.roWrite).toBe('EROFS');
  });

  test('the root filesystem is read-only and /tmp is writable', () => {
    expect(report.rootWrite).toBe('EROFS');
    expect(report.tmpWrite).toBe('ok');
  });

  test('it has no network interface but lo', () => {
    expect((report.interfaces as string[]).filter((name) => name !== 'lo')).toEqual([]);
    expect(report.procNetDev).toEqual(['lo']);
  });

  test("it cannot reach a server on the host's 127.0.0.1", async () => {
    expect(report.hostLoopback).toMatchObject({ connected: false });
    expect(hostConnections).toBe(0);
    // The server was there to be reached: a connection from the host side is counted.
    await new Promise<void>((resolve, reject) =>
      connect(port, '127.0.0.1').on('connect', resolve).on('error', reject),
    );
    await waitUntil(
      () => hostConnections === 1,
      5000,
      () => 'the host server counted no connection',
    );
  });

  test('it runs with no capabilities and no-new-privileges', () => {
    expect(report.capEff).toBe('0000000000000000');
    expect(report.noNewPrivs).toBe('1');
  });

  test('better-sqlite3 compiled on the host loads inside, and its row reaches the host', () => {
    expect(report.sqlite).toMatchObject({ ok: true });
    const db = new Database(join(dataDir, 'probe.db'), { readonly: true });
    const rows = db.prepare('SELECT text FROM notes').all() as { text: string }[];
    db.close();
    expect(rows).toEqual([{ text: `written in the container by node ${process.version}` }]);
  });

  test('the container is gone afterwards', async () => {
    expect(await runtime.list({ 'warren.test': 'containers' })).toEqual([]);
  });
});

describe('limits', () => {
  test('the engine holds the sealing settings and the limits of the spec', async () => {
    const ref = await runtime.start(spec({ limits: { memoryMb: 96, cpus: 0.5, pids: 64 } }));
    const { HostConfig, Config } = await docker.getContainer(ref.id).inspect();
    expect(HostConfig.Memory).toBe(96 * 1024 * 1024);
    expect(HostConfig.NanoCpus).toBe(500_000_000);
    expect(HostConfig.PidsLimit).toBe(64);
    expect(HostConfig.ReadonlyRootfs).toBe(true);
    expect(HostConfig.NetworkMode).toBe('none');
    // Docker keeps 'ALL'; podman expands it into its default set. The probe checks CapEff is empty.
    const dropped = ((HostConfig.CapDrop ?? []) as string[]).map((cap) => cap.replace(/^CAP_/, ''));
    expect(
      dropped.includes('ALL') ||
        ['CHOWN', 'DAC_OVERRIDE', 'NET_RAW', 'SETUID'].every((cap) => dropped.includes(cap)),
    ).toBe(true);
    expect(HostConfig.SecurityOpt).toEqual(expect.arrayContaining(['no-new-privileges']));
    expect(Config.Labels).toMatchObject({ 'warren.install': installId, 'warren.test': 'containers' });
  });

  test('a container that allocates past its memory limit is killed with exit code 137', async () => {
    const hog =
      "const held = []; for (let i = 0; i < 64; i++) held.push(Buffer.alloc(8 << 20, 1)); console.log('survived')";
    const ref = await runtime.start(spec({ cmd: ['node', '-e', hog], limits: { memoryMb: 64 } }));
    expect(await runtime.wait(ref)).toBe(137);
  });
});

describe('exits', () => {
  test('many containers exiting at once each report their own exit code', async () => {
    const refs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        runtime.start(spec({ cmd: ['node', '-e', `setTimeout(() => process.exit(${10 + i}), ${300 * i})`] })),
      ),
    );
    expect(await Promise.all(refs.map((ref) => runtime.wait(ref)))).toEqual([10, 11, 12, 13, 14, 15]);
    await Promise.all(refs.map((ref) => runtime.remove(ref)));
  });

  test('an exit before anyone waits is still reported', async () => {
    const ref = await runtime.start(spec({ cmd: ['node', '-e', 'process.exit(7)'] }));
    await waitUntil(
      async () => !(await docker.getContainer(ref.id).inspect()).State.Running,
      10_000,
      () => 'the container to exit',
    );
    expect(await runtime.wait(ref)).toBe(7);
    await runtime.remove(ref);
  });

  test('waiting for a container the engine no longer knows is an error naming it', async () => {
    const ref = await runtime.start(spec());
    await docker.getContainer(ref.id).remove({ force: true });
    await expect(runtime.wait(ref)).rejects.toThrow(new RegExp(`container ${ref.name}`));
  });
});

describe('stopping', () => {
  test('a container that ignores SIGTERM is killed once the grace period is over', async () => {
    const ref = await runtime.start(spec());
    await follow(ref).until('ready'); // node as PID 1 without a handler ignores SIGTERM
    const started = performance.now();
    await runtime.stop(ref, 1000);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(5000);
    expect(await runtime.list({})).toEqual([]);
  });

  test('a container that handles SIGTERM exits on its own before the grace period', async () => {
    const graceful = [
      'node',
      '-e',
      "process.on('SIGTERM', () => { console.log('bye'); process.exit(0); }); console.log('ready'); setInterval(() => {}, 1000)",
    ];
    const ref = await runtime.start(spec({ cmd: graceful }));
    const output = follow(ref);
    await output.until('ready');
    const started = performance.now();
    await runtime.stop(ref, 10_000);
    expect(performance.now() - started).toBeLessThan(3000);
    await output.done;
    expect(output.lines).toContain('bye');
    expect(await runtime.list({})).toEqual([]);
  });

  test('stopping a container that is already gone is not an error', async () => {
    const ref = await runtime.start(spec());
    await runtime.stop(ref, 0);
    await expect(runtime.stop(ref, 0)).resolves.toBeUndefined();
  });
});

describe('start-up cleanup', () => {
  test("removeOrphans removes this install's containers and leaves another install's alone", async () => {
    await runtime.start(spec());
    await runtime.start(spec());
    const other = await otherRuntime.start(spec());

    expect(await removeOrphans(runtime, installId)).toBe(2);

    expect(await runtime.list({})).toEqual([]);
    expect((await otherRuntime.list({})).map((ref) => ref.id)).toEqual([other.id]);
  });

  test('list returns only containers carrying every given label', async () => {
    const a = await runtime.start(spec({ labels: { 'warren.test': 'containers', 'warren.session': 'a' } }));
    await runtime.start(spec({ labels: { 'warren.test': 'containers', 'warren.session': 'b' } }));
    const listed = await runtime.list({ 'warren.session': 'a' });
    expect(listed.map((ref) => ref.id)).toEqual([a.id]);
    expect(listed[0]).toMatchObject({ name: a.name, state: 'running' });
  });

  test('a missing image is an error naming the image, and nothing is left behind', async () => {
    await expect(runtime.start(spec({ image: 'localhost/warren-agent:does-not-exist' }))).rejects.toThrow(
      /localhost\/warren-agent:does-not-exist/,
    );
    expect(await runtime.list({})).toEqual([]);
  });
});

describe('agent image tag', () => {
  const inputs: AgentImageInputs = {
    layoutVersion: 1,
    nodeVersion: 'v20.20.2',
    abi: '115',
    arch: 'x64',
    nativeModules: [
      { name: 'better-sqlite3', version: '12.11.1' },
      { name: 'bindings', version: '1.5.0' },
    ],
    recipeFiles: [{ path: 'native-modules.json', content: '{"modules":[]}' }],
  };

  test('is the same for the same inputs in any order', () => {
    const reordered = { ...inputs, nativeModules: [...inputs.nativeModules].reverse() };
    expect(agentImageTagFor(reordered)).toBe(agentImageTagFor(inputs));
    expect(agentImageTagFor(inputs)).toMatch(/^localhost\/warren-agent:[0-9a-f]{12}$/);
  });

  test('changes when a native module version, the ABI or a recipe file changes', () => {
    const tag = agentImageTagFor(inputs);
    const bumped = {
      ...inputs,
      nativeModules: [{ name: 'better-sqlite3', version: '12.11.2' }, inputs.nativeModules[1]!],
    };
    expect(agentImageTagFor(bumped)).not.toBe(tag);
    expect(agentImageTagFor({ ...inputs, abi: '127' })).not.toBe(tag);
    expect(
      agentImageTagFor({ ...inputs, recipeFiles: [{ path: 'native-modules.json', content: '{}' }] }),
    ).not.toBe(tag);
  });

  test('of this checkout is stable across calls and is the image the suite uses', async () => {
    expect(await agentImageTag(repoRoot)).toBe(await agentImageTag(repoRoot));
    expect(await agentImageTag(repoRoot)).toBe(image);
  });
});
