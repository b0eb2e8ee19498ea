// Progress lines go to stderr: stdout carries only the result (one JSON object on its last line).
// Phase processes count from the main process's start (WARREN_BENCH_T0), so all lines share one clock.
import { performance } from 'node:perf_hooks';

const origin = Number(process.env.WARREN_BENCH_T0) || performance.timeOrigin + performance.now();
const label = process.env.WARREN_BENCH_PHASE ? ` [${process.env.WARREN_BENCH_PHASE}]` : '';

/** Epoch ms (sub-ms) the run started: handed to phase processes. */
export const runOrigin = origin;

export function progress(line: string): void {
  const seconds = ((performance.timeOrigin + performance.now() - origin) / 1000).toFixed(1).padStart(5);
  process.stderr.write(`bench ${seconds}s${label} ${line}\n`);
}
