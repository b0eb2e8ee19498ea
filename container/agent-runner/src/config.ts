// The runner's configuration: environment variables only (the host sets them when it starts the
// container). Documented in container/agent-runner/README.md; keep the two in step.
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';

export const PROVIDER_NAMES = ['scripted'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

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
  provider: ProviderName;
  timezone: string;
  idleExitMs: number;
  pollMs: number;
  watch: boolean;
  heartbeatMs: number;
}

const milliseconds = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .positive('must be above 0')
    .default(fallback);
const folder = (fallback: string) => z.string().min(1, 'must not be empty').default(fallback);

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
  WARREN_WATCH: z.enum(['0', '1'], 'must be 0 (poll only) or 1 (file-change events)').default('1'),
  WARREN_HEARTBEAT_MS: milliseconds(2000),
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
    provider: e.WARREN_PROVIDER,
    timezone: e.WARREN_TIMEZONE,
    idleExitMs: e.WARREN_IDLE_EXIT_MS,
    pollMs: e.WARREN_POLL_MS,
    watch: e.WARREN_WATCH === '1',
    heartbeatMs: e.WARREN_HEARTBEAT_MS,
  };
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
