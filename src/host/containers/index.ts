// Front door of the containers subsystem: other subsystems import from here only.
export {
  ContainerRuntimeError,
  DEFAULT_LIMITS,
  INSTALL_LABEL,
  type ContainerLimits,
  type ContainerLogger,
  type ContainerMount,
  type ContainerRef,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerState,
} from './runtime.ts';
export { createDockerRuntime, type DockerRuntimeOptions } from './docker.ts';
export { removeOrphans } from './orphans.ts';
export {
  AGENT_IMAGE_REPO,
  agentImageTag,
  ensureAgentImage,
  imageExists,
  type EnsuredImage,
} from './image.ts';
export {
  ensurePackageImage,
  packageImageTag,
  PACKAGE_IMAGE_REPO,
  NPM_PREFIX,
  type PackageSet,
} from './package-image.ts';
export { findEngineSocket, EngineUnavailableError, DEFAULT_ENGINE_SOCKETS } from './engine.ts';
export { createSessionPool, type SessionPool, type Launch, type LimitStop, type PoolLimits } from './pool.ts';
export {
  createFrameDemuxer,
  createLineSplitter,
  MAX_LOG_LINE_BYTES,
  type LineSplitter,
} from './log-lines.ts';
export { writeRotatedLog } from './session-log.ts';
export { sessionContainerSpec, sessionSpecDirs, type SessionSpecInput } from './session-spec.ts';
