// `npm run bench [-- --quick]`: Warren's latency, throughput and idle-cost figures, measured with real
// containers and the scripted provider. Progress goes to stderr; stdout ends with one JSON object.
// Each phase runs in a fresh process (its own host, data folder and install id), so one phase's
// memory and containers never leak into another's figures. See docs/benchmarks.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { createDockerRuntime, findEngineSocket, removeOrphans } from '../src/host/containers/index.ts';
import { REPO_ROOT } from '../src/host/repo.ts';
import { benchConfig } from './bench/host.ts';
import {
  copySessionFiles,
  createSessionFilesShard,
  idlePhase,
  seedSessionRows,
  type SeedReport,
} from './bench/idle-sessions.ts';
import { latencyPhase, pollPhase } from './bench/latency.ts';
import { PLANS, type PhaseContext, type Plan } from './bench/plan.ts';
import { progress, runOrigin } from './bench/progress.ts';
import { round } from './bench/stats.ts';
import { startsPhase } from './bench/starts.ts';
import { throughputPhase } from './bench/throughput.ts';
import { watcherPhase } from './bench/watchers.ts';

const SCRIPT = fileURLToPath(import.meta.url);
/** Processes writing idle session folders with createSessionFiles at once (full runs). */
const CREATE_SHARDS = 8;
/** Where --profile puts its .cpuprofile files (gitignored). */
const PROFILE_DIR = join(REPO_ROOT, '.bench', 'profiles');
/** A phase process that has not finished by then is stopped and the run fails. */
const PHASE_TIMEOUT_MS = 15 * 60_000;

const USAGE = `usage: npm run bench [-- --quick] [-- --profile]
  (tsx scripts/bench.ts [--quick])   every phase, then one JSON object on the last line of stdout
  --quick                            fewer samples: about 3 minutes on 2 cores (more when the machine is busy)
  --profile (or --cpu-prof)          CPU profile of the host over the warm and throughput messages, written to
                                     .bench/profiles/; its top 15 functions by self time go in the JSON
See docs/benchmarks.md for what each figure means.
`;

const { values } = parseArgs({
  options: {
    help: { type: 'boolean', short: 'h', default: false },
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    'profile-dir': { type: 'string' },
    phase: { type: 'string' },
    'data-dir': { type: 'string' },
    'groups-dir': { type: 'string' },
    shard: { type: 'string' },
    shards: { type: 'string' },
  },
});
const plan = PLANS[values.quick ? 'quick' : 'full'];

if (values.help) process.stdout.write(USAGE);
else if (values.phase) void runPhaseHere(values.phase);
else void orchestrate();

/** Inside a phase process: run one phase and print its JSON as the last line of stdout. */
async function runPhaseHere(phase: string): Promise<void> {
  // The host stops itself on these signals (startHost); give it time to remove its containers.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => setTimeout(() => process.exit(130), 8000));
  }
  const ctx: PhaseContext = {
    dataDir: values['data-dir']!,
    groupsDir: values['groups-dir']!,
    plan,
    ...(values['profile-dir'] ? { profileDir: values['profile-dir'] } : {}),
  };
  try {
    const result = await runPhase(phase, ctx);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  } catch (err) {
    process.stderr.write(`bench phase ${phase} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  }
}

async function runPhase(phase: string, ctx: PhaseContext): Promise<unknown> {
  switch (phase) {
    case 'latency':
      return latencyPhase(ctx);
    case 'poll':
      return pollPhase(ctx);
    case 'throughput':
      return throughputPhase(ctx);
    case 'starts':
      return startsPhase(ctx);
    case 'idle':
      return idlePhase(ctx);
    case 'watchers':
      return watcherPhase(ctx.plan.watchers.samples);
    case 'seed-files': {
      const shard = { index: Number(values.shard), of: Number(values.shards) };
      return { created: createSessionFilesShard(ctx.dataDir, shard) };
    }
    default:
      throw new Error(`unknown phase "${phase}"`);
  }
}

async function orchestrate(): Promise<void> {
  const mode = values.quick ? 'quick' : 'full';
  const started = performance.now();
  const workDir = await mkdtemp(join(tmpdir(), 'warren-bench-'));
  const roots = [workDir];
  const groupsDir = join(workDir, 'groups');
  const dataDirs: string[] = [];
  const children = new Set<ChildProcess>();
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      interrupted = true;
      progress(`${signal}: stopping the current phase, then cleaning up`);
      for (const child of children) child.kill('SIGTERM');
    });
  }

  const stopIfInterrupted = () => {
    if (interrupted) throw new Error('interrupted');
  };

  /** Runs a phase in a fresh process with its own data folder; resolves with its JSON. */
  const phase: RunPhase = (name, dataDir = join(workDir, name), extra = []) => {
    if (interrupted) return Promise.reject(new Error('interrupted'));
    if (!dataDirs.includes(dataDir)) dataDirs.push(dataDir);
    const args = ['--phase', name, '--data-dir', dataDir, '--groups-dir', groupsDir, ...extra];
    return runProcess(name, [...args, ...(values.quick ? ['--quick'] : [])], children);
  };

  progress(`${mode} run; work folder ${workDir}`);
  // The figures depend on what else the machine does: say so in the result.
  const loadAtStart = loadavg().map((x) => round(x, 2));
  const othersAtStart = await runningContainers().catch(() => null);
  if (othersAtStart) progress(`note: ${othersAtStart} other container(s) running on the engine`);
  let exitCode = 0;
  try {
    const profiling = values.profile || values['cpu-prof'];
    const profileArgs = profiling ? ['--profile-dir', PROFILE_DIR] : [];
    progress('phase 1/6: warm and cold latency');
    const latency = await phase('latency', undefined, profileArgs);
    stopIfInterrupted();
    progress('phase 2/6: poll-only baseline');
    const poll = await phase('poll');
    stopIfInterrupted();
    progress('phase 3/6: throughput');
    const throughput = await phase('throughput', undefined, profileArgs);
    stopIfInterrupted();
    progress('phase 4/6: cold starts at once (1, 10) and idle runner memory');
    const starts = await phase('starts');
    stopIfInterrupted();
    progress('phase 5/6: idle sessions');
    // Writing 10,000 session folders is slow disk work: it runs beside the empty-folder comparison
    // (memory and a sweep over an empty DB), never beside a latency measurement. Quick runs write
    // them to tmpfs: the figures taken from them never read session files (that is the point).
    const idleRoot =
      values.quick && existsSync('/dev/shm') ? await mkdtemp('/dev/shm/warren-bench-') : workDir;
    roots.push(idleRoot);
    const idleDir = join(idleRoot, 'idle');
    // Both settle before going on, so nothing writes into a folder that cleanup is removing.
    const [seed, idleEmpty] = await settleBoth(
      seedIdleSessions(idleDir, groupsDir, idleRoot, plan, phase),
      phase('idle', join(workDir, 'idle-empty')),
    );
    const idle = await phase('idle', idleDir);
    stopIfInterrupted();
    progress('phase 6/6: file watchers (fs.watch against chokidar)');
    const watchers = await phase('watchers');

    const warm = latency.warm as { p50_ms: number; p99_ms: number };
    const cold = latency.cold as { p50_ms: number };
    const pollBaseline = poll.poll_baseline as { p50_ms: number };
    const ratio = round(warm.p50_ms / pollBaseline.p50_ms, 4);
    const idleFigures = idle as { sweep_tick_ms: number; host_rss_mb: number };
    const firstRoundS = (throughput.throughput as { first_round_s: number }).first_round_s;
    const result = {
      mode,
      duration_s: 0,
      machine: {
        cpus: cpus().length,
        memory_gb: round(totalmem() / 2 ** 30),
        node: process.version,
        loadavg_at_start: loadAtStart,
        loadavg_at_end: loadavg().map((x) => round(x, 2)),
        other_containers_at_start: othersAtStart,
      },
      host_start_ms: latency.host_start_ms,
      warm: latency.warm,
      cold: latency.cold,
      warm_long_history: latency.warm_long_history,
      poll_baseline: poll.poll_baseline,
      warm_vs_poll_p50_ratio: ratio,
      throughput: throughput.throughput,
      cold_starts: starts.cold_starts,
      memory: {
        ...(throughput.memory as object),
        runner: starts.runner_memory,
        claude_runner: starts.claude_runner_memory,
      },
      watchers: watchers.watchers,
      idle_sessions: {
        ...idle,
        seed,
        empty_data_dir: {
          host_rss_mb: idleEmpty.host_rss_mb,
          open_fds: idleEmpty.open_fds,
          sweep_tick_ms: idleEmpty.sweep_tick_ms,
        },
      },
      // The design's quality bars; warm latency at the first release's 20 / 100 ms (the goal: 10 / 25).
      targets: targetsOf({
        warm_p50_ms: [warm.p50_ms, 20],
        warm_p99_ms: [warm.p99_ms, 100],
        cold_p50_ms: [cold.p50_ms, 500],
        throughput_first_round_s: [firstRoundS, 12],
        warm_vs_poll_p50_ratio: [ratio, 0.05],
        sweep_tick_ms: [idleFigures.sweep_tick_ms, 10],
        idle_host_rss_mb: [idleFigures.host_rss_mb, 200],
      }),
    };
    result.duration_s = round((performance.now() - started) / 1000);
    printSummary(result);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (err) {
    exitCode = interrupted ? 130 : 1;
    progress(`failed: ${err instanceof Error ? err.message : String(err)}`);
    process.stdout.write(
      `${JSON.stringify({ mode, error: err instanceof Error ? err.message : String(err) })}\n`,
    );
  } finally {
    await cleanUp(roots, dataDirs);
  }
  process.exit(exitCode);
}

/** Like Promise.all, but waits for both to settle before failing with the first failure. */
async function settleBoth<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [first, second] = await Promise.allSettled([a, b]);
  if (first.status === 'rejected') throw first.reason;
  if (second.status === 'rejected') throw second.reason;
  return [first.value, second.value];
}

type RunPhase = (name: string, dataDir?: string, extra?: string[]) => Promise<Record<string, unknown>>;

async function seedIdleSessions(
  dataDir: string,
  groupsDir: string,
  scratchDir: string,
  plan: Plan,
  phase: RunPhase,
): Promise<SeedReport> {
  const { sessions, seed } = plan.idle;
  progress(`  ${sessions} idle sessions: central DB rows`);
  const rowsMs = await seedSessionRows(dataDir, groupsDir, sessions);
  const started = performance.now();
  if (seed === 'create') {
    // Each session's files wait on fsync, not on the CPU: several processes overlap the waits.
    progress(`  session folders: createSessionFiles for each, in ${CREATE_SHARDS} processes`);
    await Promise.all(
      Array.from({ length: CREATE_SHARDS }, (_, i) =>
        phase('seed-files', dataDir, ['--shard', String(i), '--shards', String(CREATE_SHARDS)]),
      ),
    );
  } else {
    progress('  session folders: createSessionFiles once, copied for the rest');
    copySessionFiles(dataDir, join(scratchDir, 'template'));
  }
  const filesMs = performance.now() - started;
  progress(`  seeded in ${((rowsMs + filesMs) / 1000).toFixed(1)} s`);
  return {
    sessions,
    method: seed,
    rows_ms: round(rowsMs),
    files_ms: round(filesMs),
    filesystem: dataDir.startsWith('/dev/shm/') ? 'tmpfs (/dev/shm)' : "the work folder's (disk)",
    while: 'the empty-folder comparison ran',
  };
}

function runProcess(
  name: string,
  args: string[],
  children: Set<ChildProcess>,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', SCRIPT, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, WARREN_BENCH_T0: String(runOrigin), WARREN_BENCH_PHASE: name },
    });
    children.add(child);
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), PHASE_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (code !== 0) return reject(new Error(`phase ${name} ended with ${signal ?? `exit code ${code}`}`));
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as Record<string, unknown>);
      } catch {
        reject(new Error(`phase ${name} printed no JSON result (last line: ${JSON.stringify(last)})`));
      }
    });
  });
}

/** Containers running on the engine right now (another run or a test suite would skew the figures). */
async function runningContainers(): Promise<number> {
  const docker = new Docker({ socketPath: await findEngineSocket(process.env.DOCKER_HOST) });
  return (await docker.listContainers()).length;
}

/** Every container of every phase's install, then the temporary folders: also after a failure. */
async function cleanUp(roots: string[], dataDirs: string[]): Promise<void> {
  try {
    const docker = new Docker({ socketPath: await findEngineSocket(process.env.DOCKER_HOST) });
    for (const dataDir of dataDirs) {
      const { installId } = benchConfig({ dataDir, groupsDir: dataDir, maxContainers: 1 });
      const removed = await removeOrphans(createDockerRuntime({ docker, installId }), installId);
      if (removed > 0) progress(`cleanup: removed ${removed} container(s) left by ${dataDir}`);
    }
  } catch (err) {
    progress(`cleanup: containers not checked (${err instanceof Error ? err.message : String(err)})`);
  }
  for (const root of new Set(roots)) {
    await removeFolder(root);
    progress(`cleanup: removed ${root}`);
  }
}

/** `rm -rf` is many times faster than fs.rm on 10,000 session folders; fs.rm where it fails. */
async function removeFolder(dir: string): Promise<void> {
  const code = await new Promise<number | null>((resolve) =>
    spawn('rm', ['-rf', dir], { stdio: 'ignore' })
      .on('close', resolve)
      .on('error', () => resolve(null)),
  );
  if (code !== 0) await rm(dir, { recursive: true, force: true });
}

interface Target {
  target: number;
  actual: number;
  pass: boolean;
}

function targetsOf(figures: Record<string, [actual: number, limit: number]>) {
  const targets: Record<string, Target> = {};
  for (const [name, [actual, target]] of Object.entries(figures)) {
    targets[name] = { target, actual, pass: actual <= target };
  }
  return { ...targets, all_pass: Object.values(targets).every((t) => t.pass) };
}

function printSummary(result: { targets: Record<string, Target | boolean>; duration_s: number }): void {
  progress(`done in ${result.duration_s} s`);
  for (const [name, t] of Object.entries(result.targets)) {
    if (typeof t === 'boolean') continue;
    progress(`  ${t.pass ? 'PASS' : 'MISS'} ${name}: ${t.actual} (target <= ${t.target})`);
  }
}
