// Latency: one chat answered message by message (warm, also with a long history and on plain polling),
// and the first messages of new chats (cold).
import { performance } from 'node:perf_hooks';
import { breakdownOf, readMarks, serverLatencies, toChannelLatencies } from './breakdown.ts';
import { expectEcho, expectEchoes, type ChatClient, type ReplyTiming } from './chat-client.ts';
import { cpuDelta } from './container-cpu.ts';
import { startProfiler, summarizeProfile, type ProfileSummary } from './cpu-profile.ts';
import { seedLongHistory } from './history.ts';
import { startBenchHost, stopFigures, type BenchHost, type StopReport } from './host.ts';
import { REPLY_TIMEOUT_MS, type PhaseContext } from './plan.ts';
import { REPO_ROOT } from '../../src/host/repo.ts';
import { progress } from './progress.ts';
import { measureSqliteIo } from './sqlite-io.ts';
import { median, round, summarize } from './stats.ts';

const SERVER_SIDE =
  'server side, as the target defines it: the web chat channel accepted the POST (message timestamp) -> ' +
  'the reply handed to the channel and accepted by it (delivered_at); host clock, 1 ms resolution. ' +
  'through_record adds recording the delivery (onDelivered)';

/** Warm, cold and long-history latency against one host with file-change events (the normal set-up). */
export async function latencyPhase(ctx: PhaseContext) {
  const { exchanges } = ctx.plan.history;
  await seedLongHistory(ctx.dataDir, ctx.groupsDir, 'history', exchanges);
  const bench = await startBenchHost({ dataDir: ctx.dataDir, groupsDir: ctx.groupsDir, maxContainers: 16 });
  progress(`host started in ${bench.startMs.toFixed(0)} ms`);
  let warm: WarmRun;
  let cold: ReplyTiming[];
  let history: WarmRun;
  let stop: StopReport;
  try {
    const { warmup, samples } = ctx.plan.warm;
    progress(`warm: one chat, ${warmup} warm-up messages, then ${samples} measured one at a time`);
    warm = await runWarm(bench, 'warm', {
      ...ctx.plan.warm,
      timeoutMs: REPLY_TIMEOUT_MS,
      io: { messages: ctx.plan.warm.ioMessages },
      ...(ctx.profileDir ? { profileDir: ctx.profileDir } : {}),
    });
    progress(`cold: ${ctx.plan.cold.chats} new chats one after another`);
    cold = await runCold(bench, 'cold', ctx.plan.cold.chats, REPLY_TIMEOUT_MS);
    progress(`long history: the same warm workload in a chat with ${exchanges} past exchanges`);
    history = await runWarm(bench, 'history', {
      ...ctx.plan.history,
      pauseMs: ctx.plan.warm.pauseMs,
      timeoutMs: REPLY_TIMEOUT_MS,
    });
  } finally {
    stop = await bench.stop();
  }
  const warmMarks = readMarks(ctx.dataDir, warm.samples);
  const coldMarks = readMarks(ctx.dataDir, cold);
  const historyMarks = readMarks(ctx.dataDir, history.samples);
  return {
    host_start_ms: round(bench.startMs),
    ...stopFigures(stop),
    warm: {
      ...summarize(toChannelLatencies(warmMarks.marks)),
      through_record: summarize(serverLatencies(warmMarks.marks)),
      measured: SERVER_SIDE,
      unmatched: warmMarks.unmatched,
      client: summarize(warm.samples.map((s) => s.deliveredMs)),
      sse: summarize(warm.samples.map((s) => s.sseMs)),
      accept_p50_ms: summarize(warm.samples.map((s) => s.acceptedMs)).p50_ms,
      first_message_ms: round(warm.first.deliveredMs),
      host_process_cpu_ms_per_message: warm.cpuMsPerMessage,
      host_process_cpu_split: warm.cpuSplitMsPerMessage,
      runner_cpu_ms_per_msg: warm.runnerCpuMsPerMessage,
      host_event_loop_utilization: warm.eventLoopUtilization,
      breakdown: breakdownOf(warmMarks.marks),
      sqlite_per_msg: warm.sqlite ?? null,
      ...(warm.profile ? { host_cpu_profile: warm.profile } : {}),
    },
    cold: {
      ...summarize(toChannelLatencies(coldMarks.marks)),
      through_record: summarize(serverLatencies(coldMarks.marks)),
      measured: `${SERVER_SIDE}; a new chat each, so session creation and the container start are included`,
      unmatched: coldMarks.unmatched,
      client: summarize(cold.map((s) => s.deliveredMs)),
      breakdown: breakdownOf(coldMarks.marks),
    },
    warm_long_history: {
      ...summarize(toChannelLatencies(historyMarks.marks)),
      through_record: summarize(serverLatencies(historyMarks.marks)),
      measured: `as warm, in a chat whose session files already hold ${exchanges} answered and delivered exchanges`,
      exchanges,
      unmatched: historyMarks.unmatched,
      host_process_cpu_ms_per_message: history.cpuMsPerMessage,
      runner_cpu_ms_per_msg: history.runnerCpuMsPerMessage,
      host_event_loop_utilization: history.eventLoopUtilization,
      breakdown: breakdownOf(historyMarks.marks),
    },
  };
}

/** The same warm workload on a host and runners forced to plain 1 s polling (config.pollOnly). */
export async function pollPhase(ctx: PhaseContext) {
  const bench = await startBenchHost({
    dataDir: ctx.dataDir,
    groupsDir: ctx.groupsDir,
    maxContainers: 4,
    pollOnly: true,
  });
  progress(`poll-only host started in ${bench.startMs.toFixed(0)} ms`);
  let warm: WarmRun;
  let stop: StopReport;
  try {
    const { warmup, samples } = ctx.plan.poll;
    progress(`poll baseline: one chat, ${warmup} warm-up messages, then ${samples} measured`);
    warm = await runWarm(bench, 'poll', {
      ...ctx.plan.poll,
      pauseMs: ctx.plan.warm.pauseMs,
      timeoutMs: REPLY_TIMEOUT_MS,
    });
  } finally {
    stop = await bench.stop();
  }
  const marks = readMarks(ctx.dataDir, warm.samples);
  return {
    poll_baseline: {
      ...summarize(toChannelLatencies(marks.marks)),
      through_record: summarize(serverLatencies(marks.marks)),
      ...stopFigures(stop),
      measured: `${SERVER_SIDE}; host and runner without file-change events, polling every 1 s`,
      unmatched: marks.unmatched,
      client: summarize(warm.samples.map((s) => s.deliveredMs)),
      breakdown: breakdownOf(marks.marks),
    },
  };
}

export interface WarmOptions {
  /** Messages before the measured ones (the first also starts the container). */
  warmup: number;
  samples: number;
  /** Pause after each reply, so every message finds an idle, waiting runner (as a person's would). */
  pauseMs: number;
  timeoutMs: number;
  /** After the timed messages: this many more, untimed, counting SQLite opens, commits and fsyncs. */
  io?: { messages: number };
  /** Profile the host over the measured messages and write the profile here (`--profile`). */
  profileDir?: string;
}

export interface WarmRun {
  /** The chat's first message: container start included, not counted as warm. */
  first: ReplyTiming;
  samples: ReplyTiming[];
  /** CPU time of the host's process per measured message, and its event loop's busy share. */
  cpuMsPerMessage: number;
  /** The same CPU split into user and kernel (system) time. */
  cpuSplitMsPerMessage: { user: number; system: number };
  /** The chat's container's cgroup CPU per measured message; null when its cgroup was unreadable. */
  runnerCpuMsPerMessage: number | null;
  eventLoopUtilization: number;
  sqlite?: Awaited<ReturnType<typeof measureSqliteIo>> | { error: string };
  profile?: { file: string } & ProfileSummary;
}

/** One chat, one message at a time: each waits for the previous reply. */
export async function runWarm(bench: BenchHost, chatName: string, opts: WarmOptions): Promise<WarmRun> {
  const chat = await bench.chat(chatName);
  const first = await chat.send('hello', opts.timeoutMs);
  const series = { pauseMs: opts.pauseMs, timeoutMs: opts.timeoutMs };
  await chat.sendSeries(
    Array.from({ length: opts.warmup }, (_, i) => `warm-up ${i}`),
    series,
  );
  const runnerPids = await bench.runners.pids(first.sessionId);
  const runnerCpu = bench.runners.read(runnerPids);
  const profiler = opts.profileDir ? await startProfiler() : undefined;
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  // One request to the client process for the whole series: the host process does nothing per message
  // for the benchmark while it is measured.
  const texts = Array.from({ length: opts.samples }, (_, i) => `message ${i}`);
  const samples = expectEchoes(await chat.sendSeries(texts, series), texts);
  const used = process.cpuUsage(cpu);
  const utilization = performance.eventLoopUtilization(loop).utilization;
  const runner = cpuDelta(runnerCpu, bench.runners.read(runnerPids));
  progress(
    `  ${chatName}: ${opts.samples} messages, median ${median(samples.map((r) => r.deliveredMs))?.toFixed(1)} ms`,
  );
  const profile =
    profiler && opts.profileDir ? await profiler.stop(opts.profileDir, `${chatName}-${stamp()}`) : undefined;
  const sqlite = opts.io ? await countSqliteIo(bench, chat, first.sessionId, opts, opts.io) : undefined;
  chat.close();
  return {
    first,
    samples,
    cpuMsPerMessage: round((used.user + used.system) / 1000 / opts.samples, 2),
    cpuSplitMsPerMessage: {
      user: round(used.user / 1000 / opts.samples, 2),
      system: round(used.system / 1000 / opts.samples, 2),
    },
    runnerCpuMsPerMessage: runner.containers > 0 ? round(runner.ms / opts.samples, 2) : null,
    eventLoopUtilization: round(utilization, 3),
    ...(sqlite ? { sqlite } : {}),
    ...(profile
      ? { profile: { file: profile.file, ...summarizeProfile(profile.profile, 15, REPO_ROOT) } }
      : {}),
  };
}

const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

/** strace may be missing or refused: the rest of the run's figures still count. */
async function countSqliteIo(
  bench: BenchHost,
  chat: ChatClient,
  sessionId: string,
  opts: WarmOptions,
  io: NonNullable<WarmOptions['io']>,
) {
  progress(`  SQLite opens, commits and fsyncs: ${io.messages} more messages under strace (untimed)`);
  try {
    return await measureSqliteIo(bench, chat, { ...opts, ...io, sessionId });
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    progress(`  SQLite counts not taken: ${error}`);
    return { error };
  }
}

/** New chats one after another: each first message creates a session and starts its container. */
export async function runCold(
  bench: BenchHost,
  prefix: string,
  count: number,
  timeoutMs: number,
): Promise<ReplyTiming[]> {
  const samples: ReplyTiming[] = [];
  for (let i = 0; i < count; i++) {
    const chat = await bench.chat(`${prefix}-${i}`);
    samples.push(expectEcho(await chat.send('hello', timeoutMs), 'hello'));
    chat.close();
    progress(`  ${prefix}-${i}: ${samples.at(-1)!.deliveredMs.toFixed(0)} ms`);
  }
  return samples;
}
