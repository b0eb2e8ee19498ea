// Runs once before the e2e tests (the e2e project in vitest.config.ts): a reachable container engine,
// the agent image and the runner bundle (what the host mounts at /app/runner), handed to tests through
// vitest's provide/inject (see provided.d.ts). Fast when they already exist; the bundle is rebuilt
// every run so it matches the code.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { TestProject } from 'vitest/node';
import { buildRunner } from '../../scripts/build-runner.ts';
import { ensureAgentImage, findEngineSocket } from '../../src/host/containers/index.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const execFileAsync = promisify(execFile);

export default async function setup(project: TestProject): Promise<void> {
  await buildRunner(repoRoot);
  const socketPath = await engineSocket();
  const image = await ensureAgentImage(new Docker({ socketPath }), repoRoot);
  if (image.built) console.log(`global-setup: built ${image.tag} in ${image.ms} ms`);
  project.provide('dockerSocket', socketPath);
  project.provide('agentImage', image.tag);
}

/** A running engine when there is one; otherwise whatever setup-container-engine.sh makes available. */
async function engineSocket(): Promise<string> {
  try {
    return await findEngineSocket(process.env.DOCKER_HOST);
  } catch {
    // fall through: install and start one
  }
  const script = `${repoRoot}scripts/setup-container-engine.sh`;
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('bash', [script], { maxBuffer: 16 << 20 }));
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`no container engine: ${script} failed; e2e tests cannot run.\n${stderr}`, {
      cause: err,
    });
  }
  const last = stdout.trim().split('\n').pop() ?? '';
  if (!last.startsWith('unix://')) {
    throw new Error(`no container engine: ${script} printed "${last}" instead of a unix:// socket URL`);
  }
  return last.slice('unix://'.length);
}
