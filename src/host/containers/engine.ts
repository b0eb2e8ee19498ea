import Docker from 'dockerode';

/** Where a Docker-compatible API is looked for, in order, when DOCKER_HOST is not set. */
export const DEFAULT_ENGINE_SOCKETS = ['/var/run/docker.sock', '/run/warren/podman.sock'] as const;

export class EngineUnavailableError extends Error {
  override name = 'EngineUnavailableError';
}

/**
 * Finds the socket of a running container engine: DOCKER_HOST when given (it must answer), else
 * the first default socket that answers /_ping. Throws with what to run when none does.
 */
export async function findEngineSocket(dockerHost: string | undefined): Promise<string> {
  if (dockerHost) {
    if (!dockerHost.startsWith('unix://')) {
      throw new EngineUnavailableError(`DOCKER_HOST must be a unix:// socket URL, got "${dockerHost}"`);
    }
    const path = dockerHost.slice('unix://'.length);
    if (await ping(path)) return path;
    throw new EngineUnavailableError(`no container engine answers on DOCKER_HOST=${dockerHost}`);
  }
  for (const path of DEFAULT_ENGINE_SOCKETS) if (await ping(path)) return path;
  throw new EngineUnavailableError(
    `no container engine answers on ${DEFAULT_ENGINE_SOCKETS.join(' or ')}; ` +
      'run `bash scripts/setup-container-engine.sh` (installs and starts Podman) or set DOCKER_HOST',
  );
}

/** Whether an engine answers /_ping on the socket within two seconds. */
async function ping(socketPath: string): Promise<boolean> {
  try {
    await new Docker({ socketPath, timeout: 2000 }).ping();
    return true;
  } catch {
    return false;
  }
}
