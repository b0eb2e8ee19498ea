import { join } from 'node:path';
import type { ContainerLimits, ContainerSpec } from './runtime.ts';

export const RUNNER_BUNDLE_DIR = 'container/agent-runner/dist';

export interface SessionSpecInput {
  image: string;
  repoRoot: string;
  sessionId: string;
  agentGroupId: string;
  provider: string;
  timezone: string;
  sessionRoot: string;
  groupDir: string;
  idleExitMs: number;
  pollOnly: boolean;
  limits: ContainerLimits;
  /** uid:gid the runner runs as: the host's own, so the files it writes stay the host's. */
  user: string;
}

/** Pure: the one container a session runs in (DESIGN §3 mounts: in/ read-only, out/ read-write). */
export function sessionContainerSpec(input: SessionSpecInput): ContainerSpec {
  return {
    image: input.image,
    cmd: ['node', '--enable-source-maps', '/app/runner/runner.mjs'],
    env: {
      WARREN_SESSION_ID: input.sessionId,
      WARREN_PROVIDER: input.provider,
      WARREN_TIMEZONE: input.timezone,
      WARREN_IDLE_EXIT_MS: String(input.idleExitMs),
      ...(input.pollOnly ? { WARREN_WATCH: '0', WARREN_POLL_MS: '1000' } : {}),
    },
    mounts: [
      { hostPath: join(input.sessionRoot, 'in'), containerPath: '/session/in', readOnly: true },
      { hostPath: join(input.sessionRoot, 'out'), containerPath: '/session/out', readOnly: false },
      { hostPath: join(input.repoRoot, RUNNER_BUNDLE_DIR), containerPath: '/app/runner', readOnly: true },
      { hostPath: input.groupDir, containerPath: '/workspace/group', readOnly: true },
    ],
    labels: { 'warren.session': input.sessionId, 'warren.agent_group': input.agentGroupId },
    limits: input.limits,
    user: input.user,
  };
}
