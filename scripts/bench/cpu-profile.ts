// A CPU profile of this process (the host) over one stretch of a phase, taken
// with the inspector in-process (the same sampler as `node --cpu-prof`), and its self-time summary.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { round } from './stats.ts';

/** The parts of a V8 .cpuprofile the summary reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  /** µs since the previous sample (the first: since startTime). */
  timeDeltas?: number[];
}

export interface SelfTime {
  function: string;
  file: string;
  self_ms: number;
  /** Share of the profile's whole duration (idle included). */
  share: number;
}

export interface ProfileSummary {
  duration_ms: number;
  samples: number;
  /** Sampled time outside (idle), (program) and (garbage collector): JavaScript and native work. */
  busy_ms: number;
  top_self: SelfTime[];
}

/**
 * Pure: time spent in each function itself, summed by function name and file (a function with several
 * call paths has several nodes), largest first. A sample stands for the time until the next one.
 */
export function summarizeProfile(profile: CpuProfile, top = 15, root = ''): ProfileSummary {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const frameOf = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const selfUs = new Map<string, { function: string; file: string; us: number }>();
  for (let i = 0; i < samples.length; i++) {
    const frame = frameOf.get(samples[i]!);
    if (!frame) continue;
    const weight = deltas[i + 1] ?? 0;
    const file = shortFile(frame.url, root);
    const name = frame.functionName || '(anonymous)';
    const key = `${name}\0${file}`;
    const entry = selfUs.get(key) ?? { function: name, file, us: 0 };
    entry.us += weight;
    selfUs.set(key, entry);
  }
  const durationUs = profile.endTime - profile.startTime;
  const idle = new Set(['(idle)', '(program)', '(garbage collector)']);
  const all = [...selfUs.values()].sort((a, b) => b.us - a.us);
  const busyUs = all.filter((e) => !idle.has(e.function)).reduce((sum, e) => sum + e.us, 0);
  return {
    duration_ms: round(durationUs / 1000),
    samples: samples.length,
    busy_ms: round(busyUs / 1000),
    top_self: all.slice(0, top).map((e) => ({
      function: e.function,
      file: e.file,
      self_ms: round(e.us / 1000),
      share: durationUs > 0 ? round(e.us / durationUs, 3) : 0,
    })),
  };
}

/** `file:///repo/src/x.ts` → `src/x.ts`; a package's file → `node_modules/<pkg>/…`; built-ins stay. */
function shortFile(url: string, root: string): string {
  if (!url.startsWith('file://')) return url;
  const path = fileURLToPath(url);
  const inModules = path.lastIndexOf('/node_modules/');
  if (inModules >= 0) return path.slice(inModules + 1);
  return root ? relative(root, path) : path;
}

export interface Profiler {
  /** Stops sampling, writes `<dir>/<name>.cpuprofile` and returns its path and the profile. */
  stop(dir: string, name: string): Promise<{ file: string; profile: CpuProfile }>;
}

export async function startProfiler(): Promise<Profiler> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(dir, name) {
      const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
      session.disconnect();
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${name}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      return { file, profile };
    },
  };
}
