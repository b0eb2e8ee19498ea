// out/heartbeat: its mtime is the runner's liveness signal to the host (not a DB write, so it
// never contends with the host reading outbound.db).
import { closeSync, openSync, utimesSync } from 'node:fs';

export function touchHeartbeat(path: string, now: Date): void {
  try {
    utimesSync(path, now, now);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    closeSync(openSync(path, 'a'));
    utimesSync(path, now, now);
  }
}

/** Beats every `everyMs` until the returned function is called; a turn runs between the two. */
export function beatWhile(beat: () => void, everyMs: number): () => void {
  const timer = setInterval(beat, everyMs);
  return () => clearInterval(timer);
}
