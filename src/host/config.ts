import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_WEBCHAT_LIMITS, type WebchatLimits } from './channels/index.ts';
import { DEFAULT_ATTACHMENT_LIMITS, type AttachmentLimits } from './sessions/index.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Settings an operator may put in <data-dir>/config.json; flags and environment override them. */
const fileSchema = z
  .object({
    port: z.number().int().min(1).max(65535),
    /** Where people reach this host from outside (a reverse proxy): approval links are made with it. */
    publicUrl: z.url({ protocol: /^https?$/ }),
    groupsDir: z.string().min(1),
    logLevel: z.enum(LOG_LEVELS),
    dockerHost: z.string().regex(/^unix:\/\//, 'dockerHost must be a unix:// socket URL'),
    containers: z
      .object({
        maxTotal: z.number().int().min(1).max(1000),
        maxPerAgentGroup: z.number().int().min(1).max(1000),
        maxStarting: z.number().int().min(1).max(1000),
        idleExitMs: z.number().int().min(1000),
        idleStopMs: z.number().int().min(1000),
        maxLifetimeMs: z.number().int().min(1000),
        diskQuotaMb: z.number().int().min(1),
        diskMaxEntries: z.number().int().min(100),
        diskCheckIntervalMs: z.number().int().min(100),
        memoryMb: z.number().int().min(32),
        cpus: z.number().positive().max(64),
        pids: z.number().int().min(16).max(32768),
      })
      .partial()
      .strict(),
    sweepIntervalMs: z.number().int().min(100),
    autoWire: z.boolean(),
    retention: z
      .object({ finishedRowsDays: z.number().min(0), closedSessionsDays: z.number().min(0) })
      .partial()
      .strict(),
    maxTries: z.number().int().min(1).max(100),
    scheduling: z
      .object({
        maxFailures: z.number().int().min(1).max(100),
        maxCatchUp: z.number().int().min(1).max(100),
        maxTasksPerSession: z.number().int().min(1).max(1000),
        missedGraceMs: z.number().int().min(0),
      })
      .partial()
      .strict(),
    approvals: z
      .object({
        ttlMinutes: z
          .number()
          .int()
          .min(1)
          .max(30 * 24 * 60),
      })
      .partial()
      .strict(),
    access: z
      .object({ bindingCodeMinutes: z.number().int().min(1).max(15) })
      .partial()
      .strict(),
    agentMessages: z
      .object({
        perPairPerMinute: z.number().int().min(1).max(10_000),
        maxHops: z.number().int().min(1).max(1000),
      })
      .partial()
      .strict(),
    channels: z
      .object({
        typingTimeoutSeconds: z.number().int().min(5).max(3600),
        watchdogCheckSeconds: z.number().int().min(1).max(300),
      })
      .partial()
      .strict(),
    attachments: z
      .object({ maxFileMb: z.number().positive().max(1024), maxMessageMb: z.number().positive().max(4096) })
      .partial()
      .strict(),
    webchat: z
      .object({
        maxStreamsPerChat: z.number().int().min(1).max(10_000),
        maxStreams: z.number().int().min(1).max(100_000),
        maxQueuedBytes: z
          .number()
          .int()
          .min(64 * 1024)
          .max(1024 * 1024 * 1024),
        postsPerMinutePerSender: z.number().int().min(1).max(1_000_000),
        postsPerMinutePerChat: z.number().int().min(1).max(1_000_000),
      })
      .partial()
      .strict(),
  })
  .partial()
  .strict();

export interface Config {
  dataDir: string;
  groupsDir: string;
  /** The host always binds loopback; the admin surface is never exposed by default. */
  host: '127.0.0.1';
  port: number;
  /**
   * The host's address as people outside reach it (a reverse proxy in front of the loopback port),
   * without a trailing slash: approval links in email point here. Undefined: the address it listens on.
   */
  publicUrl: string | undefined;
  logLevel: LogLevel;
  /** unix:// URL of a Docker-compatible API; undefined = look for one (see containers/engine.ts). */
  dockerHost: string | undefined;
  centralDbPath: string;
  /** Model API keys by name (docs/models.md): `<data-dir>/secrets.json` unless WARREN_SECRETS_FILE says. */
  secretsFile: string;
  containers: {
    /** At most this many session containers at once; more wakes wait in a queue. */
    maxTotal: number;
    maxPerAgentGroup: number;
    /** Containers being created and started at once; more wait their turn (the engine is serial). */
    maxStarting: number;
    /** A runner with nothing to do exits after this long. */
    idleExitMs: number;
    /**
     * The host stops a container that showed no life (heartbeat, outbound or inbound write) for this
     * long, whether or not its runner exits by itself (default: idleExitMs + 30 s).
     */
    idleStopMs: number;
    /** The host stops a container this old, busy or not; its unfinished work goes to the next one. */
    maxLifetimeMs: number;
    /** Bytes a session's out/ and home/ may hold; over it, the container is stopped and the session held. */
    diskQuotaBytes: number;
    /** Files and folders a session's out/ and home/ may hold (the measurement stops there). */
    diskMaxEntries: number;
    /** A running session's disk use is measured at most this often. */
    diskCheckIntervalMs: number;
    memoryMb: number;
    cpus: number;
    pids: number;
  };
  sweepIntervalMs: number;
  retention: {
    /** Answered messages, delivered replies and their acks are pruned from session files after this. */
    finishedRowsDays: number;
    /** Closed sessions are deleted with their folders after this. */
    closedSessionsDays: number;
  };
  /** New web chat and terminal chats are wired to the main agent group on first contact. */
  autoWire: boolean;
  /** Runs of one message (container crashes included) before it is failed and the user told. */
  maxTries: number;
  /** Scheduled tasks (docs/scheduling.md). */
  scheduling: {
    /** Failed runs in a row that pause a task (its owner is told). */
    maxFailures: number;
    /** Most missed runs a task with catch-up `all` runs after downtime (unless the task says). */
    maxCatchUp: number;
    /** Active or paused tasks one conversation may hold. */
    maxTasksPerSession: number;
    /** A run due this close before the host started still counts as on time. */
    missedGraceMs: number;
  };
  /** Approval requests (docs/approvals.md). */
  approvals: {
    /** How long a request waits for a decision when it names no time itself. */
    ttlMs: number;
  };
  /** Identity and access (docs/access.md). */
  access: {
    /** How long a `/link` or `warren users bind-code` code works (at most 15 minutes). */
    bindingCodeTtlMs: number;
  };
  /** Caps on agents messaging agents (docs/access.md). */
  agentMessages: {
    /** Messages one agent group may send another per minute; more are refused. */
    perPairPerMinute: number;
    /** Agent-to-agent messages in a row (A→B→A…) before the next one is refused. */
    maxHops: number;
  };
  /** Chat platforms (docs/channels.md). */
  channels: {
    /** Longest "typing…" shown while no reply comes. */
    typingTimeoutMs: number;
    /** How often each installation's liveness is checked. */
    watchdogCheckMs: number;
  };
  /** Files people send, on every channel: caps per file and per message (docs/channels.md#files-people-send). */
  attachments: AttachmentLimits;
  /** Limits of the web chat and terminal chat transport (docs/channels.md). */
  webchat: WebchatLimits;
  /** Benchmark baseline only: no file-change events, plain 1 s polling in host and runner. */
  pollOnly: boolean;
  /** Labels this install's containers, so start-up removes its own leftovers and nobody else's. */
  installId: string;
}

export interface ConfigSources {
  flags: { dataDir?: string; groupsDir?: string; port?: string };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Flags > environment > config file > defaults. Every value is validated; the first problem is reported. */
export function loadConfig({ flags, env, cwd }: ConfigSources): Config {
  const dataDir = resolve(cwd, flags.dataDir ?? env.WARREN_DATA_DIR ?? './data');
  const file = readConfigFile(join(dataDir, 'config.json'));
  const port = parsePort(flags.port ?? env.WARREN_PORT) ?? file.port ?? 7420;
  const logLevel = z.enum(LOG_LEVELS).safeParse(env.WARREN_LOG_LEVEL ?? file.logLevel ?? 'info');
  if (!logLevel.success) throw new ConfigError(`WARREN_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const idleExitMs = file.containers?.idleExitMs ?? 60_000;
  return {
    dataDir,
    groupsDir: resolve(cwd, flags.groupsDir ?? env.WARREN_GROUPS_DIR ?? file.groupsDir ?? './groups'),
    host: '127.0.0.1',
    port,
    publicUrl: (env.WARREN_PUBLIC_URL ? publicUrlOf(env.WARREN_PUBLIC_URL) : file.publicUrl)?.replace(
      /\/+$/,
      '',
    ),
    logLevel: logLevel.data,
    dockerHost: env.DOCKER_HOST ?? file.dockerHost,
    centralDbPath: join(dataDir, 'warren.db'),
    secretsFile: resolve(cwd, env.WARREN_SECRETS_FILE ?? join(dataDir, 'secrets.json')),
    containers: {
      maxTotal:
        parseCount('WARREN_MAX_CONTAINERS', env.WARREN_MAX_CONTAINERS) ?? file.containers?.maxTotal ?? 4,
      maxPerAgentGroup: file.containers?.maxPerAgentGroup ?? 4,
      maxStarting: file.containers?.maxStarting ?? 4,
      idleExitMs,
      idleStopMs: file.containers?.idleStopMs ?? idleExitMs + 30_000,
      maxLifetimeMs: file.containers?.maxLifetimeMs ?? 30 * 60_000,
      diskQuotaBytes: (file.containers?.diskQuotaMb ?? 1024) * 1024 * 1024,
      diskMaxEntries: file.containers?.diskMaxEntries ?? 100_000,
      diskCheckIntervalMs: file.containers?.diskCheckIntervalMs ?? 30_000,
      memoryMb: file.containers?.memoryMb ?? 512,
      cpus: file.containers?.cpus ?? 1,
      pids: file.containers?.pids ?? 256,
    },
    sweepIntervalMs: file.sweepIntervalMs ?? 2000,
    autoWire: file.autoWire ?? true,
    retention: {
      finishedRowsDays: file.retention?.finishedRowsDays ?? 7,
      closedSessionsDays: file.retention?.closedSessionsDays ?? 30,
    },
    maxTries: file.maxTries ?? 3,
    scheduling: {
      maxFailures: file.scheduling?.maxFailures ?? 3,
      maxCatchUp: file.scheduling?.maxCatchUp ?? 10,
      maxTasksPerSession: file.scheduling?.maxTasksPerSession ?? 50,
      missedGraceMs: file.scheduling?.missedGraceMs ?? 60_000,
    },
    approvals: { ttlMs: (file.approvals?.ttlMinutes ?? 24 * 60) * 60_000 },
    access: { bindingCodeTtlMs: (file.access?.bindingCodeMinutes ?? 10) * 60_000 },
    agentMessages: {
      perPairPerMinute: file.agentMessages?.perPairPerMinute ?? 20,
      maxHops: file.agentMessages?.maxHops ?? 8,
    },
    channels: {
      typingTimeoutMs: (file.channels?.typingTimeoutSeconds ?? 120) * 1000,
      watchdogCheckMs: (file.channels?.watchdogCheckSeconds ?? 5) * 1000,
    },
    attachments: {
      maxFileBytes: mebibytes(file.attachments?.maxFileMb) ?? DEFAULT_ATTACHMENT_LIMITS.maxFileBytes,
      maxMessageBytes: mebibytes(file.attachments?.maxMessageMb) ?? DEFAULT_ATTACHMENT_LIMITS.maxMessageBytes,
    },
    webchat: { ...DEFAULT_WEBCHAT_LIMITS, ...file.webchat },
    pollOnly: false,
    installId: createHash('sha256').update(dataDir).digest('hex').slice(0, 12),
  };
}

const mebibytes = (mb: number | undefined) =>
  mb === undefined ? undefined : Math.max(1, Math.floor(mb * 1024 * 1024));

function parseCount(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigError(`${name} must be a whole number of at least 1, got "${raw}"`);
  return n;
}

function publicUrlOf(raw: string): string {
  const url = z.url({ protocol: /^https?$/ }).safeParse(raw);
  if (!url.success) throw new ConfigError(`WARREN_PUBLIC_URL must be an http(s) URL, got "${raw}"`);
  return url.data;
}

function parsePort(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`port must be a whole number from 1 to 65535, got "${raw}"`);
  }
  return port;
}

function readConfigFile(path: string): z.infer<typeof fileSchema> {
  if (!existsSync(path)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
