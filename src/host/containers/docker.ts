// ContainerRuntime over the Docker Engine API (dockerode), which Podman's compatible socket also serves.
// Every container is sealed the same way: no network, read-only root, no capabilities, hard limits.
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { createExitWatch, type ExitWatch } from './exits.ts';
import { createFrameDemuxer, createLineSplitter } from './log-lines.ts';
import {
  ContainerRuntimeError,
  DEFAULT_LIMITS,
  INSTALL_LABEL,
  silentLogger,
  type ContainerLogger,
  type ContainerRef,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerState,
} from './runtime.ts';
import { errorText } from '../../shared/error-text.ts';

/** After SIGKILL, how long to wait for the exit before removing anyway. */
const KILL_WAIT_MS = 5000;
/**
 * Podman's log follow polls the log file (about 250 ms behind) and loses what it has not read once the
 * container is removed: give open log streams this long after the exit to deliver the last lines.
 */
const LOG_DRAIN_MS = 2000;
/** The engine's log of one container is cut back once it reaches this size. */
export const ENGINE_LOG_MAX_SIZE = '8m';

export interface DockerRuntimeOptions {
  /** Labels every container, so start-up finds this install's orphans and leaves other installs alone. */
  installId: string;
  /** An existing client; otherwise one is made for socketPath, else from DOCKER_HOST. */
  docker?: Docker;
  socketPath?: string;
  log?: ContainerLogger;
  /** The engine's own log of one container is cut back at this size (default 8m; Docker's notation). */
  engineLogMaxSize?: string;
}

/** One engine as this install sees it, shared by every operation of the runtime. */
interface Engine {
  docker: Docker;
  installId: string;
  log: ContainerLogger;
  engineLogMaxSize?: string;
  /** Per container id: open log streams, each settling when the engine has sent its last byte. */
  followers: Map<string, Set<Promise<void>>>;
  exits: ExitWatch;
}

export function createDockerRuntime(options: DockerRuntimeOptions): ContainerRuntime {
  const docker =
    options.docker ?? new Docker(options.socketPath ? { socketPath: options.socketPath } : undefined);
  const log = options.log ?? silentLogger;
  const engine: Engine = {
    docker,
    installId: options.installId,
    log,
    engineLogMaxSize: options.engineLogMaxSize,
    followers: new Map(),
    exits: createExitWatch(docker, options.installId, log),
  };
  return {
    start: (spec) => startContainer(engine, spec),
    stop: (ref, graceMs) => stopContainer(engine, ref, graceMs),
    list: (labels) => listContainers(engine, labels),
    logs: (ref) => followLogLines(engine, ref),
    wait: (ref) => engine.exits.wait(ref.id, ref.name),
    remove: (ref) => removeAfterLogs(engine, ref),
  };
}

async function startContainer(
  { docker, installId, log, engineLogMaxSize }: Engine,
  spec: ContainerSpec,
): Promise<ContainerRef> {
  const name = spec.name ?? `warren-${randomBytes(6).toString('hex')}`;
  const createOptions = containerCreateOptions(spec, installId, name, engineLogMaxSize);
  let container: Docker.Container;
  try {
    container = await docker.createContainer(createOptions);
  } catch (err) {
    throw new ContainerRuntimeError(
      `container ${name} (image ${spec.image}) could not be created: ${errorText(err)}; nothing was started`,
      { cause: err },
    );
  }
  try {
    await container.start();
  } catch (err) {
    await removeQuietly(log, container);
    throw new ContainerRuntimeError(
      `container ${name} (image ${spec.image}) could not be started: ${errorText(err)}; it was removed`,
      { cause: err },
    );
  }
  log.debug({ container: name, id: container.id, image: spec.image }, 'container started');
  return { id: container.id, name, labels: createOptions.Labels ?? {}, state: 'running' };
}

async function stopContainer(engine: Engine, ref: ContainerRef, graceMs: number): Promise<void> {
  const container = engine.docker.getContainer(ref.id);
  // Ask for the exit before signalling, so a fast exit is not missed; a gone container just resolves.
  const exited = engine.exits.wait(ref.id, ref.name).catch(() => undefined);
  if ((await signal(container, 'SIGTERM')) && !(await settlesWithin(exited, graceMs))) {
    engine.log.warn(
      { container: ref.name, graceMs },
      'container did not exit on SIGTERM in time; killing it',
    );
    if (await signal(container, 'SIGKILL')) await settlesWithin(exited, KILL_WAIT_MS);
  }
  await removeContainer(engine, container, ref);
}

async function listContainers(
  { docker, installId }: Engine,
  labels: Record<string, string>,
): Promise<ContainerRef[]> {
  const other = labels[INSTALL_LABEL];
  if (other !== undefined && other !== installId) return [];
  const wanted = { ...labels, [INSTALL_LABEL]: installId };
  const query = {
    all: true,
    filters: { label: Object.entries(wanted).map(([key, value]) => `${key}=${value}`) },
  };
  // Podman fails a listing (500 "… does not exist in database", or "read /proc/<pid>/cgroup: no such
  // process") when any container on the engine, ours or not, is removed or its process exits while it
  // lists (containers/podman#10120); a second look succeeds.
  let infos: Docker.ContainerInfo[];
  for (let attempt = 1; ; attempt++) {
    try {
      infos = await docker.listContainers(query);
      break;
    } catch (err) {
      if (attempt >= 5 || !isRemovedMidCall(err)) throw err;
    }
  }
  // Checked here too: label filters are ANDed by Docker, and this must not depend on the engine.
  return infos
    .filter((info) => Object.entries(wanted).every(([key, value]) => info.Labels?.[key] === value))
    .map(refFromInfo);
}

/** The container's output (stdout and stderr) as lines, following it until the container ends. */
async function* followLogLines(engine: Engine, ref: ContainerRef): AsyncIterable<string> {
  let raw: NodeJS.ReadableStream & NodeJS.EventEmitter;
  try {
    raw = await engine.docker.getContainer(ref.id).logs({ follow: true, stdout: true, stderr: true });
  } catch (err) {
    throw new ContainerRuntimeError(`logs of container ${ref.name} cannot be read: ${errorText(err)}`, {
      cause: err,
    });
  }
  trackFollower(engine.followers, ref.id, raw);
  const lines = new PassThrough({ objectMode: true });
  const push = (line: string): void => {
    if (!lines.write(line)) raw.pause();
  };
  lines.on('drain', () => raw.resume());
  const stdout = createLineSplitter(push);
  const stderr = createLineSplitter(push);
  const demux = createFrameDemuxer(stdout.write, stderr.write);
  raw.on('data', (chunk: Buffer) => demux(chunk));
  // 'close' without 'end' happens when the engine drops the connection: end the lines either way.
  const finish = (): void => {
    if (lines.writableEnded) return;
    stdout.flush();
    stderr.flush();
    lines.end();
  };
  raw.on('end', finish);
  raw.on('close', finish);
  raw.on('error', (err: Error) => lines.destroy(err));
  try {
    for await (const line of lines) yield line as string;
  } finally {
    // The consumer may stop early: close the follow request so it does not hold the socket open.
    (raw as unknown as { destroy?: () => void }).destroy?.();
  }
}

/** Counts the log stream as open until the engine has sent its last byte, so removal can wait for it. */
function trackFollower(
  followers: Engine['followers'],
  id: string,
  raw: NodeJS.ReadableStream & NodeJS.EventEmitter,
): void {
  const drained = new Promise<void>((resolve) => {
    raw.on('end', resolve);
    raw.on('close', resolve);
    raw.on('error', () => resolve());
  });
  const open = followers.get(id) ?? new Set();
  followers.set(id, open.add(drained));
  void drained.then(() => {
    open.delete(drained);
    if (open.size === 0 && followers.get(id) === open) followers.delete(id);
  });
}

async function removeAfterLogs(engine: Engine, ref: ContainerRef): Promise<void> {
  const container = engine.docker.getContainer(ref.id);
  if (engine.followers.has(ref.id)) {
    // Killed before removal, so open log streams can deliver the last lines first.
    const exited = engine.exits.wait(ref.id, ref.name).catch(() => undefined);
    if (await signal(container, 'SIGKILL')) await settlesWithin(exited, KILL_WAIT_MS);
  }
  await removeContainer(engine, container, ref);
}

/** false when there was nothing to signal (gone or not running). */
async function signal(container: Docker.Container, name: 'SIGTERM' | 'SIGKILL'): Promise<boolean> {
  try {
    await container.kill({ signal: name });
    return true;
  } catch (err) {
    // Podman answers 500 ("container state improper") where Docker answers 409: ask instead of parsing.
    if (isGoneOrStopped(err) || !(await isRunning(container))) return false;
    throw new ContainerRuntimeError(`${name} to container ${container.id} failed: ${errorText(err)}`, {
      cause: err,
    });
  }
}

async function isRunning(container: Docker.Container): Promise<boolean> {
  try {
    return (await container.inspect()).State.Running;
  } catch (err) {
    if (isGoneOrStopped(err)) return false;
    throw err;
  }
}

async function removeContainer(
  { followers, log }: Engine,
  container: Docker.Container,
  ref: ContainerRef,
): Promise<void> {
  const open = followers.get(ref.id);
  if (open) await settlesWithin(Promise.all(open), LOG_DRAIN_MS);
  try {
    await container.remove({ force: true, v: true });
    log.debug({ container: ref.name }, 'container removed');
  } catch (err) {
    if (isGoneOrStopped(err)) return;
    throw new ContainerRuntimeError(
      `container ${ref.name} could not be removed: ${errorText(err)}; it is left for the next start-up cleanup`,
      { cause: err },
    );
  }
}

async function removeQuietly(log: ContainerLogger, container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (err) {
    log.warn({ id: container.id, err: errorText(err) }, 'container that failed to start was not removed');
  }
}

/** The engine request for one spec: the sealing settings are not negotiable, only limits are. */
export function containerCreateOptions(
  spec: ContainerSpec,
  installId: string,
  name: string,
  engineLogMaxSize: string = ENGINE_LOG_MAX_SIZE,
): Docker.ContainerCreateOptions {
  const limits = { ...DEFAULT_LIMITS, ...spec.limits };
  const memoryBytes = Math.round(limits.memoryMb * 1024 * 1024);
  return {
    name,
    Image: spec.image,
    Cmd: spec.cmd,
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...spec.labels, [INSTALL_LABEL]: installId },
    ...(spec.user === undefined ? {} : { User: spec.user }),
    ...(spec.workdir === undefined ? {} : { WorkingDir: spec.workdir }),
    // With a TTY, podman echoes the attach request into the output; logs are demuxed frames instead.
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,size=64m' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: memoryBytes,
      // Equal to Memory: no swap on top, so going over the limit is an OOM kill (exit 137), not a slowdown.
      MemorySwap: memoryBytes,
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: limits.pids,
      AutoRemove: false,
      // The engine keeps its own copy of the output (Podman: a k8s-file log, which json-file maps
      // to): capped, so a container printing without end cannot fill the engine's disk. The host
      // reads the output as it comes and keeps its own rotated log, so only a flood loses lines.
      LogConfig: { Type: 'json-file', Config: { 'max-size': engineLogMaxSize } },
      Mounts: spec.mounts.map((mount) => ({
        Type: 'bind' as const,
        Source: mount.hostPath,
        Target: mount.containerPath,
        ReadOnly: mount.readOnly,
      })),
    },
  };
}

function refFromInfo(info: Docker.ContainerInfo): ContainerRef {
  return {
    id: info.Id,
    name: (info.Names[0] ?? info.Id).replace(/^\//, ''),
    labels: info.Labels ?? {},
    state: info.State as ContainerState,
  };
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** 404: no such container; 409: not running, or removal already in progress. */
function isGoneOrStopped(err: unknown): boolean {
  const status = (err as { statusCode?: number } | null)?.statusCode;
  // Podman answers 500 "… does not exist in database: no such container" for one removed mid-call.
  return status === 404 || status === 409 || isRemovedMidCall(err);
}

/** Podman's 500s for a container removed, or whose process ended, while the call looked at it. */
function isRemovedMidCall(err: unknown): boolean {
  return /does not exist in database|\/proc\/\d+\/cgroup: no such process/.test(errorText(err));
}
