// Cold starts in bulk: N new chats send their first message at the same moment, so N sessions are
// created and N containers started at once; then what an idle runner container costs in memory.
// (50 at once is the throughput phase's first round.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { expectEcho } from './chat-client.ts';
import { cgroupDirOf } from './container-cpu.ts';
import { startBenchHost, stopFigures } from './host.ts';
import { REPLY_TIMEOUT_MS, type PhaseContext } from './plan.ts';
import { progress } from './progress.ts';
import { round, summarize } from './stats.ts';

export async function startsPhase(ctx: PhaseContext) {
  const rounds = ctx.plan.starts.rounds;
  const cap = rounds.reduce((a, b) => a + b, 0);
  const bench = await startBenchHost({
    dataDir: ctx.dataDir,
    groupsDir: ctx.groupsDir,
    maxContainers: cap,
    idleExitMs: 10 * 60_000, // the runners stay up for the memory figures
  });
  progress(`host started in ${bench.startMs.toFixed(0)} ms; container cap ${cap}`);
  const results: Record<string, unknown> = {};
  let memory: MemoryFigures | { error: string };
  let stop;
  try {
    for (const n of rounds) {
      const chats = await Promise.all(Array.from({ length: n }, (_, i) => bench.chat(`start-${n}-${i}`)));
      const started = performance.now();
      const replies = await Promise.all(
        chats.map(async (chat) => expectEcho(await chat.send('hello', REPLY_TIMEOUT_MS), 'hello')),
      );
      const allS = (performance.now() - started) / 1000;
      progress(`  ${n} at once: all answered after ${allS.toFixed(2)} s`);
      results[`at_once_${n}`] = {
        all_answered_s: round(allS, 2),
        first_reply: summarize(replies.map((r) => r.deliveredMs)),
      };
      for (const chat of chats) chat.close();
    }
    const runners = await bench.runners.pids();
    try {
      memory = idleRunnerMemory(runners);
    } catch (err) {
      memory = { error: err instanceof Error ? err.message : String(err) };
    }
  } finally {
    stop = await bench.stop();
  }
  return {
    cold_starts: {
      measured:
        'client side: N first messages of N new chats sent at once -> every reply read; session creation and N container starts included',
      ...results,
      container_cap: cap,
      max_starting: bench.config.containers.maxStarting,
      ...stopFigures(stop),
    },
    runner_memory: memory,
  };
}

interface MemoryFigures {
  containers: number;
  /** Per idle scripted runner container, medians. */
  cgroup_mb: number | null;
  rss_mb: number;
  private_mb: number;
  measured: string;
}

function idleRunnerMemory(runners: Map<string, number>): MemoryFigures {
  const pids = [...runners.values()];
  if (pids.length === 0) throw new Error('no running runner containers');
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const status = pids.map((pid) => readFileSync(`/proc/${pid}/status`, 'utf8'));
  const kb = (text: string, field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const cgroups = pids.map(cgroupMemoryBytes).filter((b): b is number => b !== null);
  return {
    containers: pids.length,
    cgroup_mb: cgroups.length > 0 ? round(median(cgroups) / 2 ** 20, 1) : null,
    rss_mb: round(median(status.map((s) => kb(s, 'VmRSS'))) / 1024, 1),
    private_mb: round(median(status.map((s) => kb(s, 'RssAnon'))) / 1024, 1),
    measured:
      "idle scripted runners after one answered message: the container's memory cgroup usage (page cache of its files included), and its node process's RSS and anonymous (private) RSS; the rest of the RSS is the node binary and libraries, shared between containers",
  };
}

/** The memory cgroup usage (bytes) of the container holding `pid`: cgroup v1 or v2; null if unreadable. */
function cgroupMemoryBytes(pid: number): number | null {
  try {
    const at = cgroupDirOf(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), 'memory');
    if (!at) return null;
    const file = join(at.dir, at.version === 1 ? 'memory.usage_in_bytes' : 'memory.current');
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
}
