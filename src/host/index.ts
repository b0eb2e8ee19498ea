// Start-up and shut-down order of the host. No logic lives here: each step is one call.
import Docker from 'dockerode';
import type { Config } from './config.ts';
import { findEngineSocket } from './containers/engine.ts';
import { createDockerRuntime, ensureAgentImage, removeOrphans } from './containers/index.ts';
import { initDataFolder } from './data-folder.ts';
import { createLogger } from './logger.ts';
import { REPO_ROOT } from './repo.ts';

export interface RunningHost {
  /** Resolves once the host has shut down (SIGINT/SIGTERM or stop()). */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

export async function startHost(config: Config): Promise<RunningHost> {
  const log = createLogger(config.logLevel);
  const clock = () => new Date();

  const { db, changes } = await initDataFolder(config, clock);
  for (const change of changes) log.info(change);

  const socketPath = await findEngineSocket(config.dockerHost);
  const docker = new Docker({ socketPath });
  const image = await ensureAgentImage(docker, REPO_ROOT, log);
  log.info({ image: image.tag, built: image.built, ms: image.ms }, 'agent image ready');
  const runtime = createDockerRuntime({ docker, installId: config.installId, log });
  const orphans = await removeOrphans(runtime, config.installId);
  if (orphans > 0) log.warn({ removed: orphans }, 'removed containers left over from a previous run');

  log.info(
    { dataDir: config.dataDir, engine: socketPath },
    'Warren is running; nothing is wired to an agent yet',
  );

  // Nothing else holds the event loop open until the channels are served.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('shutting down');
      await removeOrphans(runtime, config.installId);
      db.close();
      clearInterval(keepAlive);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStopped();
    })());
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return { stopped, stop };
}
