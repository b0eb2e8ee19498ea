// CPU time of the session containers, read from their cgroups (the kernel's own count of every
// process in the container), so a runner's CPU per message can be set beside the host's.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { findEngineSocket } from '../../src/host/containers/index.ts';
import { INSTALL_LABEL } from '../../src/host/containers/runtime.ts';

/** Where a process's CPU usage is counted: cgroup v1 `cpuacct.usage` (ns) or v2 `cpu.stat` (µs). */
export interface CpuCounter {
  version: 1 | 2;
  file: string;
}

/**
 * Pure: the folder of a process's cgroup for one controller, from its /proc/<pid>/cgroup text. A
 * cgroup v1 line naming the controller wins over the v2 line a hybrid host also lists, because v1
 * controllers own the counts.
 */
export function cgroupDirOf(
  procCgroup: string,
  controller: string,
  root = '/sys/fs/cgroup',
): { version: 1 | 2; dir: string } | null {
  const lines = procCgroup.split('\n').map((line) => line.split(':'));
  const v1 = lines.find(([, controllers]) => controllers?.split(',').includes(controller));
  if (v1?.[2]) {
    // Mounted under the line's own controller list (`cpu,cpuacct`) or the controller's name.
    const mount = [join(root, v1[1]!), join(root, controller)].find((dir) => existsSync(dir));
    return { version: 1, dir: join(mount ?? join(root, controller), v1[2]) };
  }
  const v2 = lines.find(([id, controllers]) => id === '0' && controllers === '');
  if (v2?.[2] !== undefined) {
    const mount = existsSync(join(root, 'unified')) ? join(root, 'unified') : root;
    return { version: 2, dir: join(mount, v2[2]) };
  }
  return null;
}

/** Pure: the CPU counter file of a process, from its /proc/<pid>/cgroup text. */
export function cpuCounterOf(procCgroup: string, root = '/sys/fs/cgroup'): CpuCounter | null {
  const at = cgroupDirOf(procCgroup, 'cpuacct', root);
  if (!at) return null;
  return { version: at.version, file: join(at.dir, at.version === 1 ? 'cpuacct.usage' : 'cpu.stat') };
}

/** Pure: a counter file's text → CPU time in ms. */
export function cpuMsOf(counter: CpuCounter, text: string): number {
  if (counter.version === 1) return Number(text.trim()) / 1e6;
  const usage = /^usage_usec (\d+)$/m.exec(text);
  if (!usage) throw new Error(`${counter.file} has no usage_usec line`);
  return Number(usage[1]) / 1000;
}

/** CPU ms of each running container (by id) of one install at one moment. */
export type CpuSnapshot = Map<string, number>;

export interface ContainerCpu {
  /**
   * The main process (the runner's node: the image has no init) of each running container of the
   * install, by container id; only the given session's container when `sessionId` is set.
   */
  pids(sessionId?: string): Promise<Map<string, number>>;
  /** Reads the containers' cgroup counters now: no engine call, so it can bracket a timed stretch. */
  read(pids: Map<string, number>): CpuSnapshot;
}

export async function containerCpu(dockerHost: string | undefined, installId: string): Promise<ContainerCpu> {
  const docker = new Docker({ socketPath: await findEngineSocket(dockerHost) });
  return {
    async pids(sessionId) {
      const labels = [`${INSTALL_LABEL}=${installId}`, ...(sessionId ? [`warren.session=${sessionId}`] : [])];
      const listed = await docker.listContainers({ filters: { label: labels, status: ['running'] } });
      const found = new Map<string, number>();
      for (const { Id } of listed) {
        // A runner idle for idleExitMs exits: one listed a moment ago may be gone already.
        const pid = await docker
          .getContainer(Id)
          .inspect()
          .then((info) => info.State.Pid)
          .catch(() => 0);
        if (pid > 0) found.set(Id, pid);
      }
      return found;
    },
    read(pids) {
      const snapshot: CpuSnapshot = new Map();
      for (const [id, pid] of pids) {
        const ms = processCgroupCpuMs(pid);
        if (ms !== null) snapshot.set(id, ms);
      }
      return snapshot;
    },
  };
}

/** The cgroup CPU time of the container holding `pid`; null when it ended or cgroups are unreadable. */
function processCgroupCpuMs(pid: number): number | null {
  try {
    const counter = cpuCounterOf(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    return counter ? cpuMsOf(counter, readFileSync(counter.file, 'utf8')) : null;
  } catch {
    return null;
  }
}

/** Pure: CPU used between two snapshots, by the containers present in both (one that ended is left out). */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): { ms: number; containers: number } {
  let ms = 0;
  let containers = 0;
  for (const [id, end] of after) {
    const start = before.get(id);
    if (start === undefined) continue;
    ms += end - start;
    containers++;
  }
  return { ms, containers };
}

/**
 * Pure: busy CPU ms of the whole machine (every core) from /proc/stat's first line: everything but
 * idle and iowait, in USER_HZ ticks (100 a second on Linux).
 */
export function machineBusyMsOf(procStat: string): number {
  const fields = procStat.split('\n', 1)[0]!.trim().split(/\s+/);
  if (fields[0] !== 'cpu') throw new Error('/proc/stat does not start with the cpu line');
  const ticks = fields.slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
  const busy = ticks.reduce((sum, t) => sum + t, 0) - ticks[3]! - ticks[4]!;
  return busy * 10;
}

export const machineBusyMs = (): number => machineBusyMsOf(readFileSync('/proc/stat', 'utf8'));
