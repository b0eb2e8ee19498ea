// Many conversations at once: every chat sends its messages one at a time (waiting for each reply),
// all chats in parallel, with the container cap raised so each chat gets its own container.
import { performance } from 'node:perf_hooks';
import { breakdownOf, readMarks, type Marks } from './breakdown.ts';
import { expectEcho, expectEchoes, type ChatClient, type ReplyTiming } from './chat-client.ts';
import { cpuDelta, machineBusyMs, type CpuSnapshot } from './container-cpu.ts';
import { startProfiler, summarizeProfile, type ProfileSummary } from './cpu-profile.ts';
import { startBenchHost, stopFigures, type BenchHost, type StopReport } from './host.ts';
import { rssAfterGcMb } from './memory.ts';
import { REPLY_TIMEOUT_MS, type PhaseContext } from './plan.ts';
import { REPO_ROOT } from '../../src/host/repo.ts';
import { progress } from './progress.ts';
import { round, summarize } from './stats.ts';

export async function throughputPhase(ctx: PhaseContext) {
  const { chats: chatCount, messagesPerChat } = ctx.plan.throughput;
  const cap = chatCount;
  // Runners outlive the first round, however long it takes: the later messages measure warm sessions.
  const bench = await startBenchHost({
    dataDir: ctx.dataDir,
    groupsDir: ctx.groupsDir,
    maxContainers: cap,
    idleExitMs: 10 * 60_000,
  });
  progress(`host started in ${bench.startMs.toFixed(0)} ms; container cap ${cap}`);
  let run: Awaited<ReturnType<typeof runChats>>;
  let rssMb: number;
  let stop: StopReport;
  let profile: { file: string; summary: ProfileSummary } | undefined;
  try {
    const chats = await Promise.all(Array.from({ length: chatCount }, (_, i) => bench.chat(`tp-${i}`)));
    progress(`throughput: ${chatCount} chats x ${messagesPerChat} messages, chats in parallel`);
    const profiler = ctx.profileDir ? await startProfiler() : undefined;
    run = await runChats(bench, chats, messagesPerChat);
    if (profiler && ctx.profileDir) {
      const name = `throughput-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      const { file, profile: taken } = await profiler.stop(ctx.profileDir, name);
      profile = { file, summary: summarizeProfile(taken, 15, REPO_ROOT) };
      progress(`  CPU profile of the host written to ${file}`);
    }
    rssMb = await rssAfterGcMb();
    progress(`  host process RSS with ${chatCount} sessions running: ${rssMb} MB; stopping the host`);
  } finally {
    stop = await bench.stop();
  }
  progress(`  host stopped in ${(stop.ms / 1000).toFixed(1)} s`);
  const total = chatCount * messagesPerChat;
  const totalS = (run.finished - run.started) / 1000;
  const firstRoundS = (run.opened - run.started) / 1000;
  const warmS = (run.finished - run.warmStarted) / 1000;
  const warmMarks = run.rest.length > 0 ? readMarks(ctx.dataDir, run.rest) : null;
  return {
    throughput: {
      msgs_per_s: round(total / totalS),
      measured:
        'first POST sent -> last reply delivered (onDelivered); each chat sends one message at a time, ' +
        'all chats in parallel, so the container start of every chat is included',
      sessions: chatCount,
      messages_per_session: messagesPerChat,
      total_messages: total,
      container_cap: cap,
      total_s: round(totalS, 2),
      first_round_s: round(firstRoundS, 2),
      first_round: summarize(run.first.map((r) => r.deliveredMs)),
      first_round_breakdown: breakdownOf(readMarks(ctx.dataDir, run.first).marks),
      ...(run.rest.length > 0
        ? {
            warm_msgs_per_s: round(run.rest.length / warmS),
            warm_latency: summarize(run.rest.map((r) => r.deliveredMs)),
            // Should stay 0: the phase's runners idle-exit only after 10 minutes. A later message that
            // found its runner gone (a crash, a host restart) waited for a cold start.
            warm_restarted: warmMarks ? restarted(warmMarks.marks).length : null,
            warm_breakdown: warmMarks ? breakdownOf(warmMarks.marks.filter((m) => !startedFor(m))) : null,
            warm_unmatched: warmMarks?.unmatched ?? null,
            // Per later message: CPU of this process and of all session containers' cgroups.
            warm_host_cpu_ms_per_msg: round(run.warmHostCpuMs / run.rest.length, 2),
            warm_runner_cpu_ms_per_msg:
              run.warmRunnerCpu.containers > 0 ? round(run.warmRunnerCpu.ms / run.rest.length, 2) : null,
            warm_runner_containers: run.warmRunnerCpu.containers,
            // The benchmark's own chat clients (their process), and every core of the machine: what is
            // left beside host, runners and clients is the engine (podman, conmon) and the kernel.
            warm_load_generator_cpu_ms_per_msg: round(run.warmLoadCpuMs / run.rest.length, 2),
            warm_machine_cpu_ms_per_msg: round(run.warmMachineCpuMs / run.rest.length, 2),
          }
        : {}),
      host_process_cpu_share: round(run.cpuShare, 3),
      ...(profile ? { host_cpu_profile: { file: profile.file, ...profile.summary } } : {}),
      ...stopFigures(stop),
    },
    memory: {
      host_rss_mb: rssMb,
      measured: `RSS after a GC of the host process, ${chatCount} sessions running`,
    },
  };
}

/**
 * First message of every chat together (every container starts), then the rest chat by chat. Between
 * the two, the containers' processes are looked up (engine calls, not counted in the later messages'
 * time) so their cgroup CPU can bracket the later messages.
 */
async function runChats(bench: BenchHost, chats: ChatClient[], messagesPerChat: number) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const first = await Promise.all(chats.map((chat) => send(chat, 0)));
  const opened = performance.now();
  progress(`  every chat answered its first message after ${((opened - started) / 1000).toFixed(1)} s`);
  const runnerPids = await bench.runners.pids();
  const runnerCpu: CpuSnapshot = bench.runners.read(runnerPids);
  const loadCpu = await bench.loadGeneratorCpuMs();
  const machineCpu = machineBusyMs();
  const warmCpu = process.cpuUsage();
  const warmStarted = performance.now();
  const rest = (
    await Promise.all(
      chats.map(async (chat) => {
        const texts = Array.from({ length: messagesPerChat - 1 }, (_, j) => `message ${j + 1}`);
        return expectEchoes(await chat.sendSeries(texts, { pauseMs: 0, timeoutMs: REPLY_TIMEOUT_MS }), texts);
      }),
    )
  ).flat();
  const finished = performance.now();
  const warmUsed = process.cpuUsage(warmCpu);
  const warmRunnerCpu = cpuDelta(runnerCpu, bench.runners.read(runnerPids));
  const warmMachineCpuMs = machineBusyMs() - machineCpu;
  const warmLoadCpuMs = (await bench.loadGeneratorCpuMs()) - loadCpu;
  progress(`  ${chats.length * messagesPerChat} replies in ${((finished - started) / 1000).toFixed(1)} s`);
  const used = process.cpuUsage(cpu);
  const cpuShare = (used.user + used.system) / 1000 / (finished - started);
  return {
    started,
    opened,
    warmStarted,
    finished,
    first,
    rest,
    cpuShare,
    warmHostCpuMs: (warmUsed.user + warmUsed.system) / 1000,
    warmRunnerCpu,
    warmLoadCpuMs,
    warmMachineCpuMs,
  };
}

/** The message waited for its runner to start (a container started after it arrived). */
const startedFor = (m: Marks) => m.runnerReady !== null && m.runnerReady >= m.inbound;
const restarted = (marks: readonly Marks[]) => marks.filter(startedFor);

async function send(chat: ChatClient, j: number): Promise<ReplyTiming> {
  return expectEcho(await chat.send(`message ${j}`, REPLY_TIMEOUT_MS), `message ${j}`);
}
