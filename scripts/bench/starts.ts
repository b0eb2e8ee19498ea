// Cold starts in bulk: N new chats send their first message at the same moment, so N sessions are
// created and N containers started at once; then what an idle runner container costs in memory, a
// scripted one and a claude one (the real Claude Agent SDK, answered by a fake Anthropic API on
// loopback through the host's model gateway). (50 at once is the throughput phase's first round.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeAnthropic, type FakeAnthropic } from '../../test/harness/fake-anthropic.ts';
import { getAgentGroupByFolder, updateAgentGroup } from '../../src/db/agent-groups.ts';
import { openCentralDb } from '../../src/db/connection.ts';
import { DEFAULT_GROUP_FOLDER } from '../../src/host/data-folder.ts';
import { expectEcho } from './chat-client.ts';
import { cgroupDirOf } from './container-cpu.ts';
import { startBenchHost, stopFigures, type BenchHost } from './host.ts';
import { REPLY_TIMEOUT_MS, type PhaseContext } from './plan.ts';
import { progress } from './progress.ts';
import { round, summarize } from './stats.ts';

/** The key the fake Anthropic API takes; the host's gateway finds it in its environment. */
const FAKE_ANTHROPIC_KEY = 'sk-ant-bench-fake-key';
/** Long enough for the claude process of the turn to exit and the runner to settle. */
const CLAUDE_SETTLE_MS = 10_000;

export async function startsPhase(ctx: PhaseContext) {
  const rounds = ctx.plan.starts.rounds;
  const cap = rounds.reduce((a, b) => a + b, 0) + 1;
  const anthropic = await startFakeAnthropic({
    apiKey: FAKE_ANTHROPIC_KEY,
    fallback: () => ({ text: 'hello from the fake Claude' }),
  });
  const bench = await startBenchHost({
    dataDir: ctx.dataDir,
    groupsDir: ctx.groupsDir,
    maxContainers: cap,
    idleExitMs: 10 * 60_000, // the runners stay up for the memory figures
  });
  progress(`host started in ${bench.startMs.toFixed(0)} ms; container cap ${cap}`);
  const results: Record<string, unknown> = {};
  let memory: MemoryFigures | { error: string };
  let claudeMemory: MemoryFigures | { error: string };
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
      memory = idleRunnerMemory(runners, 'scripted');
    } catch (err) {
      memory = { error: errorOf(err) };
    }
    claudeMemory = await idleClaudeRunnerMemory(bench, anthropic).catch((err: unknown) => ({
      error: errorOf(err),
    }));
  } finally {
    stop = await bench.stop();
    await anthropic.close();
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
    claude_runner_memory: claudeMemory,
  };
}

const errorOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The main agent group becomes a claude one; a new chat's first message starts its container, whose
 * runner asks the SDK, which runs the `claude` binary for the turn. Measured once that has exited.
 */
async function idleClaudeRunnerMemory(bench: BenchHost, anthropic: FakeAnthropic): Promise<MemoryFigures> {
  // Only now: the gateway looks keys up when it forwards, while a key present at the host's start
  // would have made the new data folder's main group a claude one for the scripted rounds too.
  process.env.ANTHROPIC_API_KEY = FAKE_ANTHROPIC_KEY;
  const db = openCentralDb(bench.config.centralDbPath);
  try {
    const main = getAgentGroupByFolder(db, DEFAULT_GROUP_FOLDER);
    if (!main) throw new Error('no main agent group');
    const modelConfig = { baseUrl: anthropic.url };
    updateAgentGroup(
      db,
      main.id,
      { provider: 'claude', model: 'claude-bench', modelConfig },
      new Date().toISOString(),
    );
  } finally {
    db.close();
  }
  const chat = await bench.chat('claude-memory');
  try {
    const reply = await chat.send('hello', REPLY_TIMEOUT_MS);
    if (reply.text !== 'hello from the fake Claude') throw new Error(`unexpected reply: ${reply.text}`);
    await sleep(CLAUDE_SETTLE_MS);
    return idleRunnerMemory(await bench.runners.pids(reply.sessionId), 'claude');
  } finally {
    chat.close();
  }
}

interface MemoryFigures {
  containers: number;
  /** Per idle runner container, medians. */
  cgroup_mb: number | null;
  rss_mb: number;
  private_mb: number;
  measured: string;
}

function idleRunnerMemory(runners: Map<string, number>, provider: 'scripted' | 'claude'): MemoryFigures {
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
    measured: `idle ${provider} runners after one answered message: the container's memory cgroup usage (page cache of its files included), and its node process's RSS and anonymous (private) RSS; the rest of the RSS is the node binary and libraries, shared between containers${provider === 'claude' ? '. The claude process of a turn has exited by then' : ''}`,
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
