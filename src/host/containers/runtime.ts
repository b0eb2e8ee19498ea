// The ContainerRuntime contract (DESIGN §5): what the host needs from a container engine, nothing more.
// The docker implementation lives in docker.ts; tests and other engines implement the same shape.

/** Label every container of one Warren install carries, so orphans are found and other installs left alone. */
export const INSTALL_LABEL = 'warren.install';

export interface ContainerMount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

export interface ContainerLimits {
  memoryMb: number;
  cpus: number;
  pids: number;
}

export interface ContainerSpec {
  /** Full image name, e.g. `localhost/warren-agent:0123456789ab`; never pulled. */
  image: string;
  cmd: string[];
  env: Record<string, string>;
  mounts: ContainerMount[];
  /** Added to the install label; a spec cannot override the install label. */
  labels: Record<string, string>;
  /** Missing fields fall back to DEFAULT_LIMITS. */
  limits?: Partial<ContainerLimits>;
  /** `uid:gid` or a name from the image's /etc/passwd; the image's default is root with no capabilities. */
  user?: string;
  workdir?: string;
  /** Engine-wide unique; generated when missing. */
  name?: string;
}

export const DEFAULT_LIMITS: ContainerLimits = { memoryMb: 512, cpus: 1, pids: 256 };

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'dead' | 'removing';

export interface ContainerRef {
  id: string;
  name: string;
  labels: Record<string, string>;
  state?: ContainerState;
}

export interface ContainerRuntime {
  /** Creates and starts the container; resolves once it is running. */
  start(spec: ContainerSpec): Promise<ContainerRef>;
  /** SIGTERM, SIGKILL after graceMs if still running, then remove. A container already gone is not an error. */
  stop(ref: ContainerRef, graceMs: number): Promise<void>;
  /** Containers of this runtime's install (running or not) carrying all of the given labels. */
  list(labels: Record<string, string>): Promise<ContainerRef[]>;
  /**
   * stdout and stderr lines from the container's start, following until it exits; a line longer than
   * MAX_LOG_LINE_BYTES (log-lines.ts) is cut and marked, so no output can hold the host's memory.
   */
  logs(ref: ContainerRef): AsyncIterable<string>;
  /** Resolves with the exit code once the container is no longer running. */
  wait(ref: ContainerRef): Promise<number>;
  /** Kills (if running) and removes; a container already gone is not an error. */
  remove(ref: ContainerRef): Promise<void>;
}

/** The subset of a pino logger the container code uses. */
export interface ContainerLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const silentLogger: ContainerLogger = { debug() {}, info() {}, warn() {} };

/** An engine call failed; says for which container or image and what was done about it. */
export class ContainerRuntimeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ContainerRuntimeError';
  }
}
