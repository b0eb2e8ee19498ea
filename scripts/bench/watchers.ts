// The watcher phase of `npm run bench`: how soon, and at what CPU cost, a watcher sees a commit to a
// session file, for Node's fs.watch (what the host's delivery and the runner's wake use) and
// chokidar. A separate process (commit-writer.ts) commits rows the way a runner writes outbound.db;
// this process watches the folder. Figures: from the start of a write to the first event it causes,
// and from its commit to the last (the journal's removal); CLOCK_MONOTONIC is shared by processes.
import { spawn } from 'node:child_process';
import { watch as fsWatch } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { watch as chokidarWatch, type ChokidarOptions } from 'chokidar';
import { summarize } from './stats.ts';

const WRITER = fileURLToPath(new URL('./commit-writer.ts', import.meta.url));
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

type Watcher = { kind: string; start(dir: string, onEvent: () => void): Promise<() => Promise<void>> };

const WATCHERS: Watcher[] = [
  {
    kind: 'fs.watch',
    async start(dir, onEvent) {
      const w = fsWatch(dir, () => onEvent());
      return async () => w.close();
    },
  },
  chokidar('chokidar', {}),
  // Without the 100 ms hold chokidar puts on a removal to spot an atomic rename.
  chokidar('chokidar atomic:false', { atomic: false }),
];

function chokidar(kind: string, options: ChokidarOptions): Watcher {
  return {
    kind,
    async start(dir, onEvent) {
      const w = chokidarWatch(dir, { depth: 0, ignoreInitial: true, ...options });
      w.on('all', () => onEvent());
      await new Promise<void>((resolve) => w.once('ready', () => resolve()));
      return () => w.close();
    },
  };
}

async function measure(watcher: Watcher, samples: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-watch-'));
  const writer = spawn(process.execPath, [...process.execArgv, WRITER, dir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: writer.stdout! })[Symbol.asyncIterator]();
  let events: number[] = [];
  let notify = (): void => {};
  const stop = await watcher.start(dir, () => {
    events.push(now());
    notify();
  });
  const firstEvent: number[] = [];
  const lastEvent: number[] = [];
  let eventCount = 0;
  let missed = 0;
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < samples + 10; i++) {
    events = [];
    writer.stdin!.write('commit\n');
    const [startedAt, committedAt] = String((await lines.next()).value)
      .split(' ')
      .map(Number) as [number, number];
    // A commit the watcher never reports within a second counts as missed (the host's poll finds it).
    if (events.length === 0) await new Promise<void>((r) => (notify = r) && setTimeout(r, 1000));
    notify = () => {};
    if (events.length === 0) {
      missed++;
      continue;
    }
    await new Promise((r) => setTimeout(r, 5)); // late events of this commit count against it
    if (i < 10) continue; // warm-up
    firstEvent.push(events[0]! - startedAt);
    lastEvent.push(events.at(-1)! - committedAt);
    eventCount += events.length;
  }
  const cpu = process.cpuUsage(cpuBefore);
  await stop();
  writer.kill();
  rmSync(dir, { recursive: true, force: true });
  return {
    watcher: watcher.kind,
    write_to_first_event_ms: summarize(firstEvent, 3),
    commit_to_last_event_ms: summarize(lastEvent, 3),
    missed_commits: missed,
    events_per_commit: Math.round((eventCount / samples) * 10) / 10,
    watcher_cpu_ms_per_commit: Math.round(((cpu.user + cpu.system) / 1000 / samples) * 1000) / 1000,
  };
}

export async function watcherPhase(samples: number): Promise<unknown> {
  const results = [];
  for (const watcher of WATCHERS) results.push(await measure(watcher, samples));
  return { watchers: { samples, results } };
}
