// Session containers from start to exit: what to launch for a session, and what the host does when
// the container has ended (deliver the rest, retry or fail what the runner left, prune, wake again).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../db/connection.ts';
import { getAgentGroup, type AgentGroup } from '../db/agent-groups.ts';
import { getSession, scheduleWake, setContainerStatus } from '../db/sessions.ts';
import { approvedMcpServers } from './approvals/index.ts';
import type { Config } from './config.ts';
import {
  createSessionPool,
  type ContainerRuntime,
  type Launch,
  writeRotatedLog,
  sessionContainerSpec,
  sessionSpecDirs,
  type SessionSpecInput,
} from './containers/index.ts';
import type { Delivery, NotifyUser } from './delivery/index.ts';
import { GATEWAY_DIR, type Gateway } from './gateway/index.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics/index.ts';
import {
  foldAcks,
  isHeldForDiskQuota,
  lastSignOfLife,
  sessionLock,
  sessionPaths,
  settleOutbound,
  SessionUnsafeError,
  type DiskQuota,
  type SessionPaths,
  crashRetryDelayMs,
  nextTriggerDue,
  pruneSessionFiles,
  recoverAbandonedRows,
  projectDestinations,
} from './sessions/index.ts';

export interface LifecycleDeps {
  db: Db;
  config: Config;
  runtime: ContainerRuntime;
  image: string;
  repoRoot: string;
  delivery: Pick<Delivery, 'watchSession' | 'unwatchSession' | 'deliverSession'>;
  /** Tells a chat that its message failed for good (delivery's notices). */
  notifyUser: NotifyUser;
  /** The session's model socket: listening before its container starts, closed after it exits. */
  gateway: Pick<Gateway, 'open' | 'close'>;
  /** Moves the session's tasks forward once its runner has finished (scheduling/). */
  scheduler?: { settleSession(sessionId: string): unknown };
  /** Told when a wake finds the session held for its disk use (sessions/disk-usage.ts). */
  diskQuota?: Pick<DiskQuota, 'held'>;
  clock: () => Date;
  log: Logger;
  /** A session whose out/ cannot be trusted (sessions/quarantine.ts). */
  onUnsafe?: (sessionId: string, err: SessionUnsafeError) => void;
  metrics?: Pick<Metrics, 'containerStarted'>;
}

const LOG_MAX_BYTES = 1 << 20;
const LOCKED_RETRY_MS = 2_000;
const DAY_MS = 86_400_000;

export function createLifecycle(deps: LifecycleDeps) {
  const { db, config, log, delivery } = deps;
  const user = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;

  return createSessionPool({
    runtime: deps.runtime,
    maxContainers: config.containers.maxTotal,
    maxPerAgentGroup: config.containers.maxPerAgentGroup,
    maxStarting: config.containers.maxStarting,
    log,
    metrics: deps.metrics,
    limits: { maxLifetimeMs: config.containers.maxLifetimeMs, idleStopMs: config.containers.idleStopMs },
    lastActivity: (sessionId) => lastActivity(deps, sessionId),
    launch: (sessionId) => launchFor(deps, sessionId, user),
    beforeStart: (sessionId) => openGateway(deps, sessionId),
    // 'starting' from the moment a container is wanted: start-up wakes such sessions (wakeInterruptedSessions).
    onQueued: (sessionId) => setContainerStatus(db, sessionId, 'starting'),
    onStarted(sessionId) {
      setContainerStatus(db, sessionId, 'running');
      delivery.watchSession(sessionId);
    },
    captureLogs: (sessionId, lines) =>
      writeRotatedLog(lines, join(config.dataDir, 'logs', 'sessions', `${sessionId}.log`), LOG_MAX_BYTES),
    onExited: (sessionId, exitCode) =>
      settleAfterExit(deps, sessionId, exitCode).catch((err: unknown) => {
        if (err instanceof SessionUnsafeError && deps.onUnsafe) deps.onUnsafe(sessionId, err);
        else log.error({ sessionId, err }, 'could not settle the session after its container ended');
        setContainerStatus(db, sessionId, 'stopped');
        return false;
      }),
  });
}

/** What to start for a session, or undefined when it is closed, gone, or held back for now. */
function launchFor(deps: LifecycleDeps, sessionId: string, user: string): Launch | undefined {
  const { db, config } = deps;
  const session = getSession(db, sessionId);
  const group = session && getAgentGroup(db, session.agentGroupId);
  if (!session || !group || session.status !== 'active') return undefined;
  const paths = sessionPaths(config.dataDir, session.agentGroupId, session.id);
  if (isHeldBack(deps, sessionId, paths)) return undefined;
  projectDestinations(db, paths, group.id); // the agent sees its current destinations on every wake
  const input = specInputFor(deps, sessionId, group, paths, user);
  for (const dir of sessionSpecDirs(input)) mkdirSync(dir, { recursive: true }); // memory/, home/
  return { agentGroupId: group.id, spec: sessionContainerSpec(input) };
}

/** A session held by an operator's command or for its disk use starts no container yet. */
function isHeldBack(deps: LifecycleDeps, sessionId: string, paths: SessionPaths): boolean {
  const { db, clock, log } = deps;
  // Held by an operator's command (warren users delete): no container until it lets go; the
  // sweep tries again shortly. Marked stopped: nothing runs for it, and the command waits on that.
  const held = sessionLock(paths.root, clock());
  if (held) {
    setContainerStatus(db, sessionId, 'stopped');
    scheduleWake(db, sessionId, new Date(clock().getTime() + LOCKED_RETRY_MS).toISOString());
    log.info({ sessionId, lock: held }, 'session is held by an operator command; its container waits');
    return true;
  }
  if (isHeldForDiskQuota(paths)) {
    deps.diskQuota?.held(sessionId); // its messages stay pending until it is under its quota again
    return true;
  }
  return false;
}

/** The container's inputs from the group's settings and the host's config; creates the folders it mounts. */
function specInputFor(
  deps: LifecycleDeps,
  sessionId: string,
  group: AgentGroup,
  paths: SessionPaths,
  user: string,
): SessionSpecInput {
  const { config, log } = deps;
  const groupDir = join(config.groupsDir, group.folder);
  mkdirSync(groupDir, { recursive: true });
  // Where beforeStart's gateway.open(sessionId) listens; mounted at /session/gateway.
  const gatewayDir = join(paths.root, GATEWAY_DIR);
  mkdirSync(gatewayDir, { recursive: true, mode: 0o700 }); // the mount needs it even if open fails
  const mcp = approvedMcpServers(group);
  for (const { name, problem } of mcp.invalid) {
    log.warn(
      { sessionId, agentGroupId: group.id, server: name, problem },
      'an approved MCP server in container_config cannot be used; the agent starts without it',
    );
  }
  return {
    image: groupImage(group.containerConfig, deps.image),
    repoRoot: deps.repoRoot,
    sessionId,
    agentGroupId: group.id,
    provider: group.provider,
    timezone: group.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    sessionRoot: paths.root,
    groupDir,
    gatewayDir,
    // The model and the tools the runner allows; the key stays with the gateway.
    model: group.model,
    allowedTools: group.modelConfig.allowedTools,
    modelTimeoutMs: group.modelConfig.timeoutMs,
    mcpServers: mcp.servers,
    idleExitMs: config.containers.idleExitMs,
    pollOnly: config.pollOnly,
    limits: {
      memoryMb: config.containers.memoryMb,
      cpus: config.containers.cpus,
      pids: config.containers.pids,
    },
    user,
  };
}

/**
 * The session's last sign of life: the runner's heartbeat and outbound.db writes, the host's
 * inbound.db writes (new work). mtimes only: nothing under out/ is opened (DESIGN §10).
 */
function lastActivity(deps: LifecycleDeps, sessionId: string): number | null {
  const session = getSession(deps.db, sessionId);
  return session ? lastSignOfLife(sessionPaths(deps.config.dataDir, session.agentGroupId, session.id)) : null;
}

/**
 * A socket that cannot be opened must not stop the session (scripted agents make no model calls,
 * and a failed start would be retried at once, forever): the runner's model calls fail instead.
 */
async function openGateway(deps: LifecycleDeps, sessionId: string): Promise<void> {
  try {
    await deps.gateway.open(sessionId);
  } catch (err) {
    deps.log.error(
      { sessionId, err },
      'model gateway socket could not be opened; this session’s model calls fail',
    );
  }
}

/** After the container has ended; true when work is due at once (the pool starts it again). */
async function settleAfterExit(deps: LifecycleDeps, sessionId: string, exitCode: number): Promise<boolean> {
  const { db, config, log, delivery } = deps;
  delivery.unwatchSession(sessionId);
  await deps.gateway
    .close(sessionId)
    .catch((err: unknown) => log.warn({ sessionId, err }, 'model gateway socket could not be closed'));
  const session = getSession(db, sessionId);
  if (!session) return false;
  if (session.closedReason) {
    setContainerStatus(db, sessionId, 'stopped'); // out of service: its files are not read again
    return false;
  }
  const paths = sessionPaths(config.dataDir, session.agentGroupId, session.id);
  // No runner is alive: a journal its crash left behind is rolled back before anything is read.
  settleOutbound(paths);
  await delivery.deliverSession(sessionId); // what it wrote last
  foldAcks(paths);
  const now = deps.clock();
  await retryOrFailAbandoned(deps, sessionId, exitCode, paths, now);
  try {
    deps.scheduler?.settleSession(sessionId);
  } catch (err) {
    log.warn({ sessionId, err }, 'could not move the session’s tasks forward; the next wake tries again');
  }
  const cutoff = new Date(now.getTime() - config.retention.finishedRowsDays * DAY_MS).toISOString();
  pruneSessionFiles(paths, cutoff);
  const { due, nextAt } = nextTriggerDue(paths, now.toISOString());
  if (nextAt) scheduleWake(db, sessionId, nextAt);
  // Only now: a host that dies before this point still sees the session as interrupted at start-up.
  setContainerStatus(db, sessionId, 'stopped');
  return due;
}

/** Work the dead runner had claimed is tried again later, or failed for good and the chat told. */
async function retryOrFailAbandoned(
  deps: LifecycleDeps,
  sessionId: string,
  exitCode: number,
  paths: SessionPaths,
  now: Date,
): Promise<void> {
  const { retried, failed } = recoverAbandonedRows(paths, deps.config.maxTries, (tries) =>
    new Date(now.getTime() + crashRetryDelayMs(tries)).toISOString(),
  );
  if (retried + failed.length > 0) {
    deps.log.warn({ sessionId, exitCode, retried, failed: failed.length }, 'runner left unfinished work');
  }
  for (const row of failed) {
    await deps.notifyUser(
      sessionId,
      row.id,
      `Sorry, your message could not be processed (tried ${row.tries} times). Please try again later.`,
      row.platformMessageId,
    );
  }
}

/**
 * The group's own image (the agent image plus packages an admin approved), if it was built on the
 * current agent image; otherwise the agent image (the approvals engine rebuilds stale ones).
 */
export function groupImage(containerConfig: Record<string, unknown>, agentImage: string): string {
  const { image, imageBase } = containerConfig;
  return typeof image === 'string' && imageBase === agentImage ? image : agentImage;
}

export type Lifecycle = ReturnType<typeof createLifecycle>;
