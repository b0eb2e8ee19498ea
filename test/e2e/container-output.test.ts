// A real container printing a 100 MB line with no newline: the host follows it in bounded memory,
// keeps its event loop free, and the session log gets the line cut and marked.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, expect, inject, test } from 'vitest';
import { createDockerRuntime, removeOrphans } from '../../src/host/containers/index.ts';
import { writeRotatedLog } from '../../src/host/containers/session-log.ts';

const docker = new Docker({ socketPath: inject('dockerSocket') });
const image = inject('agentImage');
const installId = `test-output-${randomBytes(4).toString('hex')}`;
const runtime = createDockerRuntime({ docker, installId });
let dir: string | undefined;

afterAll(async () => {
  await removeOrphans(runtime, installId);
  if (dir) await rm(dir, { recursive: true, force: true });
});

// 100 × 1 MiB of 'a' with no newline, then one short line; it then waits to be stopped, so the
// engine's log follow delivers every byte before the container ends.
const PRINT_100MB = `
const mb = Buffer.alloc(1 << 20, 97); let n = 0;
(function more() {
  while (n < 100) { n++; if (!process.stdout.write(mb)) return process.stdout.once('drain', more); }
  process.stdout.write('\\nafter the long line\\n');
  setInterval(() => {}, 1000);
})();`;

test('a 100 MB line without a newline is cut in bounded memory without blocking the event loop', async () => {
  dir = await mkdtemp(join(tmpdir(), 'warren-output-test-'));
  const logFile = join(dir, 'session.log');
  global.gc?.();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  let peakBuffers = before.arrayBuffers;
  let worstGapMs = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    worstGapMs = Math.max(worstGapMs, now - last);
    last = now;
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
    peakBuffers = Math.max(peakBuffers, usage.arrayBuffers);
  }, 10);

  const started = performance.now();
  const ref = await runtime.start({
    image,
    cmd: ['node', '-e', PRINT_100MB],
    env: {},
    mounts: [],
    labels: { 'warren.test': 'output' },
  });
  const seen: string[] = [];
  async function* observed(): AsyncIterable<string> {
    for await (const line of runtime.logs(ref)) {
      seen.push(line.slice(0, 64));
      yield line;
      if (line === 'after the long line') return; // everything arrived: stop following
    }
  }
  await writeRotatedLog(observed(), logFile, 1 << 20);
  const ms = performance.now() - started;
  clearInterval(ticker);
  await runtime.stop(ref, 0);

  const rssGrowthMb = (peakRss - before.rss) / 2 ** 20;
  const heapGrowthMb = (peakHeap - before.heapUsed) / 2 ** 20;
  console.log(
    `100 MB line: ${Math.round(ms)} ms, RSS +${rssGrowthMb.toFixed(1)} MiB, heap +${heapGrowthMb.toFixed(1)} MiB, ` +
      `buffers +${((peakBuffers - before.arrayBuffers) / 2 ** 20).toFixed(1)} MiB, worst event-loop gap ${Math.round(worstGapMs)} ms`,
  );
  const log = (await readFile(logFile, 'utf8')).trimEnd().split('\n');
  expect(log).toHaveLength(3);
  expect(log[0]).toMatch(/ a{16384}…\[line cut at 16384 bytes\]$/);
  expect(log[1]).toMatch(/ …\[line cut: 104841216 more bytes dropped\]$/);
  expect(log[2]).toMatch(/ after the long line$/);
  // The heap holds at most one cut line; the rest of the growth is socket chunks already dropped and
  // not yet collected (V8 collects external memory in steps of tens of MiB, whatever the line size).
  expect(heapGrowthMb).toBeLessThan(16);
  expect(rssGrowthMb).toBeLessThan(64);
  expect(worstGapMs).toBeLessThan(200);
  expect(ms).toBeLessThan(45_000);
}, 90_000);
