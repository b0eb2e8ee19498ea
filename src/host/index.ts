// Start-up and shut-down order of the host. No logic lives here: each step is one call.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { listAgentGroups } from '../db/agent-groups.ts';
import { countPendingApprovals } from '../db/approvals.ts';
import { releaseAbandonedClaims } from '../db/inbound-dedup.ts';
import type { Db } from '../db/connection.ts';
import {
  createCliChannel,
  createWebchatChannel,
  createChannelRegistry,
  createInstalledChannels,
  type ChannelRegistry,
} from './channels/index.ts';
import { createAgentMessages, createWebSignIn } from './access/index.ts';
import type { Config } from './config.ts';
import {
  createDockerRuntime,
  ensureAgentImage,
  ensurePackageImage,
  findEngineSocket,
  removeOrphans,
  type ContainerRuntime,
} from './containers/index.ts';
import { initDataFolder, DATA_SECRETS, readDataSecret, restrictNewFileModes } from './data-folder.ts';
import { createAdminApi } from './api/index.ts';
import { dashboardApp } from './dashboard/index.ts';
import { approvalLinkPage, createApprovals } from './approvals/index.ts';
import { createHeartbeat } from './heartbeat.ts';
import { combineActions, createDelivery, createNotices, type DeliveryDeps } from './delivery/index.ts';
import { createHostEvents, type HostEvents } from './events.ts';
import { createGateway, describeGroupModel, loadSecrets, type Secrets } from './gateway/index.ts';
import { startHttpServer, type RunningHttpServer } from './http.ts';
import { createLifecycle } from './lifecycle.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, metricsApp, type HostMetrics } from './metrics/index.ts';
import { REPO_ROOT } from './repo.ts';
import { createRouter } from './router.ts';
import { getSession, resetContainerStatuses, wakeInterruptedSessions } from '../db/sessions.ts';
import { createScheduler } from './scheduling/index.ts';
import { closeKeptFilesUnder, createDiskQuota, createQuarantine } from './sessions/index.ts';
import { createSweep } from './sweep.ts';

export interface HostOptions {
  log?: Logger;
  clock?: () => Date;
  /** Where model API keys are looked up besides the secrets file; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Observers for tests and the benchmark. */
  onDelivered?: DeliveryDeps['onDelivered'];
}

export interface RunningHost {
  url: string;
  /** Resolves once the host has shut down (SIGINT/SIGTERM or stop()). */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

export async function startHost(config: Config, options: HostOptions = {}): Promise<RunningHost> {
  const log = options.log ?? createLogger(config.logLevel);
  const clock = options.clock ?? (() => new Date());
  // Before any file is made: the data folder's files are the host's alone (docs/security.md).
  const restoreFileModes = restrictNewFileModes();
  const { db, secrets } = await openDataFolder(config, clock, log, options.env ?? process.env);
  const engine = await prepareEngine(config, log);
  // Work their runners had claimed is picked up again (a due task runs once, not at its next slot).
  wakeInterruptedSessions(db, clock().toISOString());
  resetContainerStatuses(db);

  const { channels, webchat, cli, platformRoutes } = await createChannels(config, db, clock, log, secrets);
  const metrics = createMetrics();
  const linkKey = readDataSecret(config.dataDir, DATA_SECRETS.links);
  // Approval links name the host as people reach it: publicUrl, else where it listens (once it does).
  const listening = { url: config.publicUrl };
  const publicUrl = () => listening.url ?? `http://${config.host}:${config.port}`;
  const base: Base = { config, db, clock, log, channels, metrics, linkKey, publicUrl };
  const parts = buildParts(base, { ...engine, secrets, onDelivered: options.onDelivered });
  const { approvals, router, pool } = parts;
  metrics.readFrom({
    containers: () => ({ running: pool.running().length, queued: pool.queuedSessions().length }),
    approvalsPending: () => countPendingApprovals(db),
  });
  parts.sweep.start(config.sweepIntervalMs);
  await channels.connectAll(async (message) => {
    const outcome = await router.route(message);
    // Someone is about to be answered: show it where the platform can ("typing…", stops by itself).
    if (outcome.status === 'routed' && outcome.sessions.some((s) => s.trigger))
      channels.get(message.channelType).startTyping?.(message.chat.id, message.threadId);
  });
  approvals.rebuildStaleImages();

  const http = await startHttpServer({
    port: config.port,
    host: config.host,
    mounts: [
      { path: '/webchat', app: webchat.app },
      { path: '/cli', app: cli.app },
      {
        path: '/api',
        app: createAdminApi({
          db,
          clock,
          log,
          dataDir: config.dataDir,
          approvals,
          channelHealth: () => channels.health(),
          engineProblem: () =>
            findEngineSocket(config.dockerHost).then(
              () => null,
              (err: unknown) => (err instanceof Error ? err.message : String(err)),
            ),
          hasSecret: (name) => secrets.get(name) !== undefined,
        }),
      },
      { path: '/admin', app: dashboardApp({ db, clock, log }) },
      { path: '/metrics', app: metricsApp({ db, clock, metrics }) },
      {
        path: '/approve',
        app: approvalLinkPage({
          db,
          clock,
          key: linkKey,
          submitDecision: (input) => approvals.submitDecision(input),
        }),
      },
      ...platformRoutes,
    ],
    log,
  });
  listening.url ??= http.url;
  log.info(
    { url: `${http.url}/webchat/`, dataDir: config.dataDir, engine: engine.socketPath },
    'Warren is running',
  );
  return stoppable(base, { ...parts, http, runtime: engine.runtime, restoreFileModes });
}

interface Base {
  config: Config;
  db: Db;
  clock: () => Date;
  log: Logger;
  channels: ChannelRegistry;
  /** The host's Prometheus registry and the hooks each part calls (metrics/). */
  metrics: HostMetrics;
  /** Signs approval links (data folder `link-key`); the /approve page checks them with it. */
  linkKey: string;
  /** The host's address as people reach it (config publicUrl, else where it listens). */
  publicUrl: () => string;
}

/** The data folder made or checked, and what the host must warn about before it starts. */
async function openDataFolder(config: Config, clock: () => Date, log: Logger, env: NodeJS.ProcessEnv) {
  // Before anything changes: a secrets file others can read stops the start.
  const secrets = loadSecrets({ file: config.secretsFile, env });
  const { db, changes } = await initDataFolder(config, clock, { secrets });
  for (const change of changes) log.info(change);
  for (const group of listAgentGroups(db)) {
    const status = describeGroupModel(group, (name) => secrets.get(name));
    log[status.level](status.message);
  }
  const released = releaseAbandonedClaims(db);
  if (released > 0) log.warn({ released }, 'released inbound claims of a host that stopped mid-route');
  return { db, secrets };
}

/** The container engine, the agent image, and no containers left over from a previous run. */
async function prepareEngine(config: Config, log: Logger) {
  const socketPath = await findEngineSocket(config.dockerHost);
  const docker = new Docker({ socketPath });
  const image = await ensureAgentImage(docker, REPO_ROOT, log);
  log.info({ image: image.tag, built: image.built, ms: image.ms }, 'agent image ready');
  const runtime = createDockerRuntime({ docker, installId: config.installId, log });
  const orphans = await removeOrphans(runtime, config.installId);
  if (orphans > 0) log.warn({ removed: orphans }, 'removed containers left over from a previous run');
  return { socketPath, docker, image, runtime };
}

async function createChannels(config: Config, db: Db, clock: () => Date, log: Logger, secrets: Secrets) {
  const channels = createChannelRegistry();
  const filesDir = join(config.dataDir, 'files');
  const webchat = createWebchatChannel({
    clock,
    log,
    filesDir: join(filesDir, 'webchat'),
    auth: createWebSignIn({ db, clock }),
    limits: config.webchat,
    attachments: config.attachments,
  });
  const cli = createCliChannel({
    clock,
    log,
    filesDir: join(filesDir, 'cli'),
    operatorSecret: readDataSecret(config.dataDir, DATA_SECRETS.cli),
    limits: config.webchat,
    attachments: config.attachments,
  });
  channels.register(webchat);
  channels.register(cli);
  const platformRoutes = [];
  for (const channel of await createInstalledChannels({
    db,
    clock,
    log,
    secrets,
    settings: config.channels,
    maxInboundFileBytes: config.attachments.maxFileBytes,
  })) {
    channels.register(channel);
    if (channel.http) platformRoutes.push({ path: `/channels/${channel.type}`, app: channel.http });
  }
  return { channels, webchat, cli, platformRoutes };
}

/** What the parts are built with besides the base: the agent image, model keys, observers. */
interface Supplies {
  docker: Docker;
  image: { tag: string };
  runtime: ContainerRuntime;
  secrets: Secrets;
  onDelivered: DeliveryDeps['onDelivered'];
}

/**
 * The host's parts in dependency order. Where two talk both ways an event carries it (events.ts):
 * the pool wakes for everyone, quarantine closes unsafe sessions, the router replays admitted messages.
 */
function buildParts(base: Base, supplies: Supplies) {
  const events = createHostEvents();
  const messaging = buildMessaging(base, supplies, events);
  const sessions = buildSessions(base, supplies, events, messaging);
  return { ...messaging, ...sessions };
}

/** What turns agents' rows into effects: notices, tasks, approvals, agent messages, delivery, models. */
function buildMessaging(base: Base, supplies: Supplies, events: HostEvents) {
  const { config, db, clock, log, channels, metrics } = base;
  const { docker, image, secrets } = supplies;
  const wake = events.wake.emit;
  const notices = createNotices({ db, dataDir: config.dataDir, channels, clock, log });
  const notifyUser = (sessionId: string, key: string, text: string) =>
    notices.notifyUser(sessionId, key, text, null);
  const scheduler = createScheduler({
    db,
    dataDir: config.dataDir,
    clock,
    log,
    settings: config.scheduling,
    notifyUser,
    wake,
  });
  const approvals = createApprovals({
    db,
    dataDir: config.dataDir,
    groupsDir: config.groupsDir,
    channels,
    send: notices.send,
    clock,
    log,
    wake,
    replay: events.admitted.emit,
    images: {
      baseTag: image.tag,
      build: (packages) => ensurePackageImage(docker, image.tag, packages, { log }),
    },
    settings: { ttlMs: config.approvals.ttlMs },
    links: { key: base.linkKey, publicUrl: base.publicUrl },
    metrics,
  });
  const agentMessages = createAgentMessages({
    db,
    dataDir: config.dataDir,
    clock,
    log,
    caps: config.agentMessages,
    wake,
  });
  const delivery = createDelivery({
    db,
    dataDir: config.dataDir,
    channels,
    clock,
    log,
    wake,
    watchFiles: !config.pollOnly,
    onDelivered: supplies.onDelivered,
    actions: combineActions(scheduler, approvals.actions),
    questions: approvals.questions,
    agentMessages,
    onUnsafe: events.unsafe.emit,
    metrics,
  });
  const gateway = createGateway({ db, dataDir: config.dataDir, secrets, clock, log, metrics });
  const diskQuota = createDiskQuota({
    dataDir: config.dataDir,
    quotaBytes: config.containers.diskQuotaBytes,
    maxEntries: config.containers.diskMaxEntries,
    checkEveryMs: config.containers.diskCheckIntervalMs,
    agentGroupOf: (id) => getSession(db, id)?.agentGroupId,
    stop: events.overQuota.emit,
    wake,
    notify: notifyUser,
    now: () => clock().getTime(),
    log,
  });
  return { notices, notifyUser, scheduler, approvals, delivery, gateway, diskQuota };
}

/** Containers and what watches over them, and the router that starts their work. */
function buildSessions(
  base: Base,
  supplies: Supplies,
  events: HostEvents,
  messaging: ReturnType<typeof buildMessaging>,
) {
  const { config, db, clock, log, metrics } = base;
  const { notices, notifyUser, scheduler, approvals, delivery, gateway, diskQuota } = messaging;
  const wake = events.wake.emit;
  const onUnsafe = events.unsafe.emit;
  const pool = createLifecycle({
    db,
    config,
    runtime: supplies.runtime,
    image: supplies.image.tag,
    repoRoot: REPO_ROOT,
    delivery,
    notifyUser: notices.notifyUser,
    gateway,
    scheduler,
    diskQuota,
    clock,
    log,
    onUnsafe,
    metrics,
  });
  events.wake.on(pool.wake);
  events.overQuota.on((id) => pool.stop(id, 5000));
  const quarantine = createQuarantine({
    db,
    clock,
    log,
    stopContainer: (id) => pool.stop(id, 0),
    notifyChat: (id, text) => notifyUser(id, `unsafe:${id}`, text),
  });
  events.unsafe.on(quarantine);
  const heartbeat = createHeartbeat({
    db,
    clock,
    sweepIntervalMs: config.sweepIntervalMs,
    containers: () => ({ running: pool.running().length, queued: pool.queuedSessions().length }),
    channels: () => base.channels.health(),
  });
  const sweep = createSweep({
    db,
    dataDir: config.dataDir,
    clock,
    log,
    pool,
    delivery,
    scheduler,
    approvals,
    diskQuota,
    closedRetentionMs: config.retention.closedSessionsDays * 86_400_000,
    onUnsafe,
    metrics,
    onPass: (report) => heartbeat.beat(report.ms),
  });

  const router = createRouter({
    db,
    dataDir: config.dataDir,
    clock,
    log,
    wake,
    autoWire: config.autoWire,
    say: notices.say,
    bindingCodeTtlMs: config.access.bindingCodeTtlMs,
    attachments: config.attachments,
    approvals,
    intercept: (message) => approvals.intercept(message),
    metrics,
  });
  events.admitted.on(router.replay);
  return { pool, sweep, router };
}

/** stop() and the signals: each part stops in order, the database is always closed. */
function stoppable(
  base: Base,
  parts: ReturnType<typeof buildParts> & {
    http: RunningHttpServer;
    runtime: ContainerRuntime;
    restoreFileModes: () => void;
  },
): RunningHost {
  const { config, db, log, channels } = base;
  const { sweep, pool, approvals, gateway, delivery, http, runtime, restoreFileModes } = parts;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('shutting down');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // Containers first, while channels still deliver what their runners write last; each step
      // runs even when an earlier one failed, so the database is always closed cleanly.
      const steps: [string, () => Promise<unknown>][] = [
        ['sweep', () => sweep.stop()],
        ['containers', () => pool.stopAll(5000)],
        // Card updates and replays finish; an image build is not waited for (the next start redoes it).
        ['approvals', () => Promise.race([approvals.settled(), sleep(2000)])],
        // After the containers: a runner stopping mid-turn may still finish its model call.
        ['gateway', () => gateway.closeAll()],
        ['delivery', () => delivery.stop()],
        ['http', () => http.close()],
        ['channels', () => channels.disconnectAll()],
        ['orphans', () => removeOrphans(runtime, config.installId)],
      ];
      for (const [name, step] of steps) {
        await step().catch((err: unknown) => log.warn({ err, step: name }, 'shutdown step failed'));
      }
      closeKeptFilesUnder(config.dataDir);
      db.close();
      restoreFileModes();
      resolveStopped();
    })());
  const onSignal = (): void => {
    stop().catch((err: unknown) => log.error({ err }, 'shutdown failed'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { url: http.url, stopped, stop };
}
