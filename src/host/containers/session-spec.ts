import { join } from 'node:path';
import type { McpServerSpec } from '../../shared/session-content.ts';
import type { ContainerLimits, ContainerMount, ContainerSpec } from './runtime.ts';

export const RUNNER_BUNDLE_DIR = 'container/agent-runner/dist';
/** The claude binary's package in node_modules (x64 glibc); mounted read-only at /app/claude. */
export const CLAUDE_BINARY_PACKAGE = 'node_modules/@anthropic-ai/claude-agent-sdk-linux-x64';
/** Inside the group folder: the agent's notes (MEMORY.md), the one part of it the agent may write. */
export const MEMORY_DIR = 'memory';
/** Inside the session folder: the agent's home (claude's config and transcripts, its working files). */
export const HOME_DIR = 'home';
/**
 * The runner's clients wait this much longer for an answer than the gateway waits for the provider,
 * so a slow provider ends in the gateway's clear 504 rather than in a client-side timeout.
 */
export const CLIENT_TIMEOUT_MARGIN_MS = 10_000;

export interface SessionSpecInput {
  image: string;
  repoRoot: string;
  sessionId: string;
  agentGroupId: string;
  provider: string;
  timezone: string;
  sessionRoot: string;
  groupDir: string;
  /** The session's model gateway folder (its socket, model.sock); mounted at /session/gateway. */
  gatewayDir?: string;
  /** The agent group's model (claude, openai); never a key: the gateway adds that. */
  model?: string | null;
  /** From the group's model settings: the tools the agent may use (unset: the runner's defaults). */
  allowedTools?: string[];
  /** From the group's model settings: the gateway's wait for the provider (the runner's clients wait a little longer). */
  modelTimeoutMs?: number;
  /**
   * The MCP servers an admin approved for the group (container_config.mcpServers, which only an
   * approval writes); the claude and openai runners start them. Never anything the agent wrote itself.
   */
  mcpServers?: McpServerSpec[];
  idleExitMs: number;
  pollOnly: boolean;
  limits: ContainerLimits;
  /**
   * uid:gid the runner runs as: the host's own, so the files it writes stay the host's, and the
   * session folders can stay 0700/0600 (the host's umask 0077) while the container reads in/ and
   * writes out/ and home/ through its mounts.
   */
  user: string;
}

/** Host folders the spec mounts that must exist before the container starts. */
export function sessionSpecDirs(
  input: Pick<SessionSpecInput, 'provider' | 'sessionRoot' | 'groupDir'>,
): string[] {
  return [
    join(input.groupDir, MEMORY_DIR),
    ...(input.provider === 'claude' ? [join(input.sessionRoot, HOME_DIR)] : []),
  ];
}

/** Pure: the one container a session runs in (DESIGN §3 mounts: in/ read-only, out/ read-write). */
export function sessionContainerSpec(input: SessionSpecInput): ContainerSpec {
  return {
    image: input.image,
    // No --enable-source-maps: loading the maps cost each runner 6 MB of private memory and about
    // 100 ms of start-up; its stack traces name lines of the unminified bundle (its .map is beside it).
    cmd: ['node', '/app/runner/runner.mjs'],
    env: {
      WARREN_SESSION_ID: input.sessionId,
      WARREN_PROVIDER: input.provider,
      WARREN_TIMEZONE: input.timezone,
      WARREN_IDLE_EXIT_MS: String(input.idleExitMs),
      ...(input.pollOnly ? { WARREN_WATCH: '0', WARREN_POLL_MS: '1000' } : {}),
      ...modelEnv(input),
    },
    mounts: [
      { hostPath: join(input.sessionRoot, 'in'), containerPath: '/session/in', readOnly: true },
      { hostPath: join(input.sessionRoot, 'out'), containerPath: '/session/out', readOnly: false },
      { hostPath: join(input.repoRoot, RUNNER_BUNDLE_DIR), containerPath: '/app/runner', readOnly: true },
      { hostPath: input.groupDir, containerPath: '/workspace/group', readOnly: true },
      { hostPath: join(input.groupDir, MEMORY_DIR), containerPath: '/workspace/memory', readOnly: false },
      ...modelMounts(input),
    ],
    labels: { 'warren.session': input.sessionId, 'warren.agent_group': input.agentGroupId },
    limits: input.limits,
    user: input.user,
  };
}

/** The runner's model settings and approved MCP servers (config.ts); the model key is never among them. */
function modelEnv(input: SessionSpecInput): Record<string, string> {
  if (input.provider !== 'claude' && input.provider !== 'openai') return {};
  return {
    ...(input.model ? { WARREN_MODEL: input.model } : {}),
    ...(input.allowedTools ? { WARREN_ALLOWED_TOOLS: JSON.stringify(input.allowedTools) } : {}),
    ...(input.modelTimeoutMs
      ? { WARREN_MODEL_TIMEOUT_MS: String(input.modelTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS) }
      : {}),
    ...(input.mcpServers?.length ? { WARREN_MCP_SERVERS: JSON.stringify(input.mcpServers) } : {}),
    ...(input.provider === 'claude' ? { HOME: '/home/agent' } : {}),
  };
}

function modelMounts(input: SessionSpecInput): ContainerMount[] {
  const mounts: ContainerMount[] = [];
  // Read-only is enough: connecting to a unix socket needs no write access to its file system.
  if (input.gatewayDir) {
    mounts.push({ hostPath: input.gatewayDir, containerPath: '/session/gateway', readOnly: true });
  }
  if (input.provider === 'claude') {
    mounts.push(
      { hostPath: join(input.sessionRoot, HOME_DIR), containerPath: '/home/agent', readOnly: false },
      { hostPath: join(input.repoRoot, CLAUDE_BINARY_PACKAGE), containerPath: '/app/claude', readOnly: true },
    );
  }
  return mounts;
}
