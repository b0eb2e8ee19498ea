// Cold starts in bulk: N new chats send their first message at the same moment, so N sessions are
// created and N containers started at once; then what an idle runner container costs in memory.
// (50 at once is the throughput phase's first round.)
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { expectEcho } from './chat-client.ts';
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
    memory = await idleRunnerMemory(bench.runners.pids()).catch((err: unknown) => ({
      error: err instanceof Error ? err.message : String(err),
    }));
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

async function idleRunnerMemory(pidsOf: Promise<Map<string, number>>): Promise<MemoryFigures> {
  const pids = [...(await pidsOf).values()];
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
    const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .map((line) => line.split(':'));
    const v1 = lines.find(([, controllers]) => controllers?.split(',').includes('memory'));
    const file = v1?.[2]
      ? join('/sys/fs/cgroup/memory', v1[2], 'memory.usage_in_bytes')
      : join(
          existsSync('/sys/fs/cgroup/unified') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup',
          lines.find(([id]) => id === '0')?.[2] ?? '',
          'memory.current',
        );
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
}
