// The gateway in a session's life: its socket listens before the container starts (so the runner's
// first model call finds it) and is gone once the container has exited. The container runtime is a
// stand-in here; test/e2e covers real containers.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { expect, test } from 'vitest';
import { getAgentGroupByFolder } from '../../src/db/agent-groups.ts';
import { createSession, getSession } from '../../src/db/sessions.ts';
import { loadConfig } from '../../src/host/config.ts';
import type { ContainerRef, ContainerRuntime, ContainerSpec } from '../../src/host/containers/index.ts';
import { initDataFolder } from '../../src/host/data-folder.ts';
import type { Delivery } from '../../src/host/delivery/index.ts';
import { createGateway, loadSecrets } from '../../src/host/gateway/index.ts';
import { createLifecycle } from '../../src/host/lifecycle.ts';
import { createSessionFiles, sessionPaths } from '../../src/host/sessions/index.ts';
import { callSocket, type SocketResponse } from '../harness/gateway-fixture.ts';

test('a session’s socket answers before its container starts and is removed after it exits', async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-gwlife-'));
  const config = loadConfig({
    flags: { dataDir: join(root, 'data'), groupsDir: join(root, 'groups') },
    env: {},
    cwd: root,
  });
  const { db } = await initDataFolder(config, () => new Date());
  const group = getAgentGroupByFolder(db, 'main')!;
  const session = createSession(
    db,
    { agentGroupId: group.id, messagingGroupId: null, threadId: null },
    new Date().toISOString(),
  );
  const paths = sessionPaths(config.dataDir, group.id, session.id);
  createSessionFiles(paths);
  const socket = join(paths.root, 'gateway', 'model.sock');
  const log = pino({ level: 'silent' });
  const gateway = createGateway({
    db,
    dataDir: config.dataDir,
    secrets: loadSecrets({ file: config.secretsFile, env: {} }),
    clock: () => new Date(),
    log,
  });

  let exit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (exit = resolve));
  let atStart: SocketResponse | undefined;
  let startedSpec: ContainerSpec | undefined;
  const ref: ContainerRef = { id: 'c1', name: 'c1', labels: {} };
  const runtime: ContainerRuntime = {
    async start(spec) {
      startedSpec = spec;
      // What the runner's first model call would see.
      atStart = await callSocket(socket, { path: '/v1/messages', body: { model: 'm', messages: [] } });
      return ref;
    },
    stop: async () => exit(137),
    list: async () => [],
    logs: async function* () {},
    wait: () => exited,
    remove: async () => {},
  };
  const delivery = {
    watchSession() {},
    unwatchSession() {},
    deliverSession: async () => {},
    stop: async () => {},
  } as unknown as Delivery;
  const pool = createLifecycle({
    db,
    config,
    runtime,
    image: 'img',
    repoRoot: root,
    delivery,
    notifyUser: async () => true,
    gateway,
    clock: () => new Date(),
    log,
  });

  pool.wake(session.id);
  await expect.poll(() => getSession(db, session.id)?.containerStatus).toBe('running');
  expect(startedSpec?.mounts).toContainEqual(
    expect.objectContaining({ hostPath: join(paths.root, 'gateway'), containerPath: '/session/gateway' }),
  );
  expect(atStart?.status).toBe(503); // the scripted group's socket answers, and says it makes no model calls
  expect(atStart?.json().error.message).toContain('uses the scripted provider');
  expect(existsSync(socket)).toBe(true);

  exit(0);
  await expect.poll(() => getSession(db, session.id)?.containerStatus).toBe('stopped');
  expect(existsSync(socket)).toBe(false);
  expect(existsSync(join(paths.root, 'gateway'))).toBe(true); // the mount point stays for the next start
  await pool.stopAll(0);
  await gateway.closeAll();
  db.close();
});
