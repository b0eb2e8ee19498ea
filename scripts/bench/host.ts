// A real host started in-process for the benchmark: its own data folder, a free port, raised
// container caps, quiet logs on stderr, and a record of when each reply was handed to the channel.
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/host/config.ts';
import { createDockerRuntime, findEngineSocket, removeOrphans } from '../../src/host/containers/index.ts';
import { startHost, type RunningHost } from '../../src/host/index.ts';
import { createLogger } from '../../src/host/logger.ts';
import { startLoadGenerator, type ChatClient } from './chat-client.ts';
import { containerCpu, type ContainerCpu } from './container-cpu.ts';
import { withTimeout } from './deadline.ts';
import { progress } from './progress.ts';
import { round } from './stats.ts';

export interface BenchHostOptions {
  dataDir: string;
  groupsDir: string;
  /** Containers at once, in total and per agent group (every benchmark chat talks to `main`). */
  maxContainers: number;
  /** The baseline: no file-change events in host and runner, plain 1 s polling. */
  pollOnly?: boolean;
  /** A runner idle this long exits (default: the config's, 60 s). */
  idleExitMs?: number;
}

export interface BenchHost {
  host: RunningHost;
  config: Config;
  startMs: number;
  /** The CPU time of this host's session containers (their cgroups). */
  runners: ContainerCpu;
  /** Resolves once the host has reported the reply `key` delivered, with when it did. */
  deliveredAt(key: string, timeoutMs: number): Promise<DeliveredAt>;
  chat(name: string): Promise<ChatClient>;
  /** CPU ms the chat clients' process has used so far. */
  loadGeneratorCpuMs(): Promise<number>;
  /** host.stop(); if that fails, the failure is reported and the host's containers removed directly. */
  stop(): Promise<StopReport>;
}

export interface StopReport {
  ms: number;
  error?: string;
}

/** The config `warren start --data-dir … --groups-dir …` would use, with the benchmark's overrides. */
export function benchConfig(opts: BenchHostOptions): Config {
  const config = loadConfig({
    flags: { dataDir: opts.dataDir, groupsDir: opts.groupsDir },
    env: { DOCKER_HOST: process.env.DOCKER_HOST },
    cwd: process.cwd(),
  });
  return {
    ...config,
    port: 0,
    logLevel: 'warn',
    pollOnly: opts.pollOnly ?? false,
    containers: {
      ...config.containers,
      maxTotal: opts.maxContainers,
      maxPerAgentGroup: opts.maxContainers,
      ...(opts.idleExitMs ? { idleExitMs: opts.idleExitMs, idleStopMs: opts.idleExitMs + 30_000 } : {}),
    },
    // The benchmark measures the pipeline, not the web chat's per-sender flood limit (60 a minute),
    // which stopped the warm phase at its 66th message.
    webchat: { ...config.webchat, postsPerMinutePerSender: 1_000_000, postsPerMinutePerChat: 1_000_000 },
  };
}

export interface DeliveredAt {
  /** performance.now(): for intervals measured in this process. */
  at: number;
  /** Date.now(): to line up with the timestamps the host writes into session files. */
  epochMs: number;
}

export async function startBenchHost(opts: BenchHostOptions): Promise<BenchHost> {
  const config = benchConfig(opts);
  // Delivery keys are `${sessionId}:${messageOutId}`: the same string the web chat uses as event id.
  const delivered = new Map<string, DeliveredAt>();
  const waiters = new Map<string, (at: DeliveredAt) => void>();
  const started = performance.now();
  const host = await startHost(config, {
    log: createLogger(config.logLevel, pino.destination({ fd: 2, sync: true })),
    onDelivered: ({ sessionId, messageOutId }) => {
      const key = `${sessionId}:${messageOutId}`;
      const at = { at: performance.now(), epochMs: Date.now() };
      delivered.set(key, at);
      waiters.get(key)?.(at);
    },
  });
  const startMs = performance.now() - started;
  const runners = await containerCpu(config.dockerHost, config.installId);
  const load = startLoadGenerator(host.url, deliveredAt);

  return {
    host,
    config,
    startMs,
    runners,
    deliveredAt,
    chat: (name) => load.chat(name),
    loadGeneratorCpuMs: () => load.cpuMs(),
    async stop() {
      load.stop();
      const stopping = performance.now();
      try {
        await host.stop();
        return { ms: performance.now() - stopping };
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        progress(`host.stop() failed: ${error}; removing the host's containers directly`);
        const docker = new Docker({ socketPath: await findEngineSocket(config.dockerHost) });
        await removeOrphans(createDockerRuntime({ docker, installId: config.installId }), config.installId);
        return { ms: performance.now() - stopping, error };
      }
    },
  };

  function deliveredAt(key: string, timeoutMs: number): Promise<DeliveredAt> {
    const at = delivered.get(key);
    if (at !== undefined) return Promise.resolve(at);
    return withTimeout(
      new Promise<DeliveredAt>((resolve) => waiters.set(key, resolve)),
      timeoutMs,
      `reply ${key} was shown to the chat but not reported delivered within ${timeoutMs} ms`,
    ).finally(() => waiters.delete(key));
  }
}

/** How long the host took to shut down (stopping its containers), and how it failed if it did. */
export function stopFigures(stop: StopReport) {
  return { host_stop_ms: round(stop.ms), ...(stop.error ? { host_stop_error: stop.error } : {}) };
}
