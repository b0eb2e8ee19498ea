// A start line for OS processes a test races against each other: each racer says it is ready (a
// file), the test waits until all are, then opens the gate (one more file), and each racer starts the
// moment it sees the gate. Loading tsx and the modules takes a varying while; this waits for it
// instead of guessing it.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil } from './wait-until.ts';

const GATE = 'gate';

/** Test side: waits until `racers` processes are ready in `dir`, then lets them all go. */
export async function startRace(dir: string, racers: number, timeoutMs = 60_000): Promise<void> {
  await waitUntil(
    () => readyCount(dir) >= racers,
    timeoutMs,
    () => `${readyCount(dir)} of ${racers} racers were ready in ${dir}`,
    20,
  );
  writeFileSync(join(dir, GATE), '');
}

/** Racer side: says this process is ready, then returns as soon as the gate opens. */
export async function readyAndWaitForGate(dir: string, name: string, timeoutMs = 60_000): Promise<void> {
  writeFileSync(join(dir, `ready-${name}`), '');
  await waitUntil(
    () => existsSync(join(dir, GATE)),
    timeoutMs,
    () => `the gate in ${dir} never opened`,
    1,
  );
}

function readyCount(dir: string): number {
  return readdirSync(dir).filter((name) => name.startsWith('ready-')).length;
}
