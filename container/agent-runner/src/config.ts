// The runner's configuration: environment variables only (the host sets them when it starts the
// container). Documented in container/agent-runner/README.md; keep the two in step.
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { mcpServerSpecSchema, type McpServerSpec } from '../../../src/shared/session-content.ts';
import { isTimeZone } from '../../../src/shared/time-zone.ts';

export const PROVIDER_NAMES = ['scripted', 'claude', 'openai'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/**
 * Built-in tools an agent may use when its group names none (claude; openai has no built-ins): its
 * own files only. Bash and the rest need the group's allowedTools (docs/models.md).
 */
export const DEFAULT_ALLOWED_TOOLS = ['Read', 'Write', 'Edit'];

/** What the real-model providers need; null for `scripted`. No key: the host's gateway adds it. */
export interface ModelConfig {
  /** The model every call uses (the gateway refuses others). */
  model: string;
  /** The host's model gateway (a unix socket); the runner forwards loopback HTTP into it. */
  gatewaySocket: string;
  /** Tools the agent may use besides the runner's own (claude: built-ins such as Bash, Write). */
  allowedTools: string[];
  /** Longest wait for one model response to start, and between two parts of it. */
  timeoutMs: number;
  /** Retries of one model call that failed in a way that may pass (429, 5xx, timeout). */
  retries: number;
  /** Most model calls in one turn (openai's tool loop). */
  maxSteps: number;
  /** Writable home of the agent (claude keeps its config and transcripts here). */
  homeDir: string;
  /** The `claude` binary (the host mounts it read-only). */
  claudePath: string;
}

export interface RunnerConfig {
  sessionId: string;
  sessionDir: string;
  inDir: string;
  outDir: string;
  inboundPath: string;
  outboundPath: string;
  outboxDir: string;
  heartbeatPath: string;
  groupDir: string;
  /** claude's working directory (WARREN_HOME/work), where its file tools write; null for the others. */
  workDir: string | null;
  provider: ProviderName;
  /** Set for claude and openai. */
  model: ModelConfig | null;
  /** The MCP servers an admin approved for the agent group (claude and openai start them). */
  mcpServers: McpServerSpec[];
  /** The agent group's notes (MEMORY.md), shared by its sessions; used only when the folder exists. */
  memoryDir: string;
  timezone: string;
  idleExitMs: number;
  /** The fallback poll while file events are off, failed, or not yet heard. */
  pollMs: number;
  /** The fallback poll once the host's bell has been heard: it covers only a lost ring. */
  eventPollMs: number;
  watch: boolean;
  heartbeatMs: number;
}

const milliseconds = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .positive('must be above 0')
    // Node's timers take at most this; a longer one fires at once, and the loop would spin.
    .max(2_147_483_647, 'must be at most 2147483647 (about 24.8 days)')
    .default(fallback);
const folder = (fallback: string) => z.string().min(1, 'must not be empty').default(fallback);
const count = (fallback: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must not be negative')
    .max(max, `must be at most ${max}`)
    .default(fallback);
const toolList = z
  .string()
  .optional()
  .transform((text) => text ?? JSON.stringify(DEFAULT_ALLOWED_TOOLS))
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of tool names, e.g. ["Bash","Write"]' });
      return z.NEVER;
    }
  })
  .pipe(z.array(z.string().min(1), 'must be a JSON array of tool names, e.g. ["Bash","Write"]'));

const MCP_SERVERS_SHAPE = 'must be a JSON array of {"name","command","args","env"}';
const mcpServerList = z
  .string()
  .optional()
  .transform((text, ctx) => {
    if (text === undefined || text.trim() === '') return [];
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: MCP_SERVERS_SHAPE });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .array(mcpServerSpecSchema, MCP_SERVERS_SHAPE)
      .refine((servers) => new Set(servers.map((s) => s.name)).size === servers.length, {
        message: 'must name each server once',
      }),
  );

const envSchema = z.object({
  WARREN_SESSION_ID: z.string().min(1, 'must not be empty').optional(),
  WARREN_SESSION_DIR: folder('/session'),
  WARREN_GROUP_DIR: folder('/workspace/group'),
  WARREN_PROVIDER: z.enum(PROVIDER_NAMES, `must be one of: ${PROVIDER_NAMES.join(', ')}`).default('scripted'),
  WARREN_TIMEZONE: z
    .string()
    .default('UTC')
    .refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin or UTC'),
  WARREN_IDLE_EXIT_MS: milliseconds(60_000),
  WARREN_POLL_MS: milliseconds(1000),
  WARREN_EVENT_POLL_MS: milliseconds(10_000),
  WARREN_WATCH: z.enum(['0', '1'], 'must be 0 (poll only) or 1 (file-change events)').default('1'),
  WARREN_HEARTBEAT_MS: milliseconds(2000),
  WARREN_MODEL: z.string().trim().min(1, 'must not be empty').optional(),
  WARREN_GATEWAY_SOCKET: folder('/session/gateway/model.sock'),
  WARREN_ALLOWED_TOOLS: toolList,
  // A little over the gateway's default wait (120 s), so the gateway's 504 says what happened.
  WARREN_MODEL_TIMEOUT_MS: milliseconds(130_000),
  WARREN_MODEL_RETRIES: count(2, 10),
  WARREN_MAX_STEPS: count(20, 200).refine((n) => n > 0, 'must be above 0'),
  WARREN_MEMORY_DIR: folder('/workspace/memory'),
  WARREN_HOME: folder('/home/agent'),
  WARREN_CLAUDE_PATH: folder('/app/claude/claude'),
  WARREN_MCP_SERVERS: mcpServerList,
});

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment → validated config. Throws a ConfigError naming every bad variable. */
export function readConfig(env: Record<string, string | undefined>): RunnerConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new ConfigError(`invalid runner environment: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.WARREN_PROVIDER !== 'scripted' && !e.WARREN_MODEL) {
    throw new ConfigError(
      `invalid runner environment: WARREN_MODEL must name the model for provider ${e.WARREN_PROVIDER}`,
    );
  }
  const sessionDir = resolve(e.WARREN_SESSION_DIR);
  const inDir = join(sessionDir, 'in');
  const outDir = join(sessionDir, 'out');
  return {
    sessionId: e.WARREN_SESSION_ID ?? basename(sessionDir),
    sessionDir,
    inDir,
    outDir,
    inboundPath: join(inDir, 'inbound.db'),
    outboundPath: join(outDir, 'outbound.db'),
    outboxDir: join(outDir, 'outbox'),
    heartbeatPath: join(outDir, 'heartbeat'),
    groupDir: resolve(e.WARREN_GROUP_DIR),
    workDir: e.WARREN_PROVIDER === 'claude' ? workDirIn(resolve(e.WARREN_HOME)) : null,
    provider: e.WARREN_PROVIDER,
    model:
      e.WARREN_PROVIDER === 'scripted' || !e.WARREN_MODEL
        ? null
        : {
            model: e.WARREN_MODEL,
            gatewaySocket: resolve(e.WARREN_GATEWAY_SOCKET),
            allowedTools: e.WARREN_ALLOWED_TOOLS,
            timeoutMs: e.WARREN_MODEL_TIMEOUT_MS,
            retries: e.WARREN_MODEL_RETRIES,
            maxSteps: e.WARREN_MAX_STEPS,
            homeDir: resolve(e.WARREN_HOME),
            claudePath: resolve(e.WARREN_CLAUDE_PATH),
          },
    mcpServers: e.WARREN_MCP_SERVERS,
    memoryDir: resolve(e.WARREN_MEMORY_DIR),
    timezone: e.WARREN_TIMEZONE,
    idleExitMs: e.WARREN_IDLE_EXIT_MS,
    pollMs: e.WARREN_POLL_MS,
    eventPollMs: e.WARREN_EVENT_POLL_MS,
    watch: e.WARREN_WATCH === '1',
    heartbeatMs: e.WARREN_HEARTBEAT_MS,
  };
}

/** The agent's working directory inside its home: claude's cwd, and a folder send_file may send from. */
export function workDirIn(homeDir: string): string {
  return join(homeDir, 'work');
}
