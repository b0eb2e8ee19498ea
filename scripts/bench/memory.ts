// Memory figures of this process, taken after a full GC so garbage does not count.
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { round } from './stats.ts';

/** RSS in MB after a GC; the phase processes run with --expose-gc (a plain RSS reading otherwise). */
export async function rssAfterGcMb(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    await sleep(50);
    gc();
  }
  return round(process.memoryUsage().rss / 1024 / 1024);
}

/** Open file descriptors of this process (Linux); null where /proc is missing. */
export function openFileDescriptors(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}
