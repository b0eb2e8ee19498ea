// While a container runs, delivery reacts to its writes at once (a watcher on the session's out/), with
// a poll behind it for the rings a watcher misses.
import { getSession } from '../../db/sessions.ts';
import { watchBell, type BellWatch } from '../../shared/commit-events.ts';
import { sessionPaths } from '../sessions/index.ts';
import type { DeliveryDeps } from './deps.ts';

type WatchDeps = Pick<DeliveryDeps, 'db' | 'dataDir' | 'log' | 'watchFiles' | 'pollMs' | 'eventPollMs'>;

interface Watched {
  watcher?: BellWatch;
  /** The runner's bell has been heard, and the watch has not failed since. */
  heard: boolean;
  /** When the session was last delivered to for its bell or by the poll (performance.now()). */
  passAt: number;
}

/**
 * Each running session is polled every `pollMs` until its bell has been heard: events may not reach
 * the host (polling only, a watch that failed, a runner that never rings). After that, only a ring
 * that was lost (a runner stopped between its commit and the ring) is left to the poll, so it passes
 * over the session until `eventPollMs` has gone by without a ring. An idle session's pass costs the
 * host about 0.1 ms here (caches warm); a runner that rings and then stops ringing only delays its own replies.
 */
export function createOutWatch(deps: WatchDeps, deliver: (sessionId: string) => void) {
  const watched = new Map<string, Watched>();
  const eventPollMs = deps.eventPollMs ?? 10_000;
  const poll = setInterval(() => {
    const now = performance.now();
    watched.forEach((entry, id) => {
      if (entry.heard && now - entry.passAt < eventPollMs) return;
      entry.passAt = now;
      deliver(id);
    });
  }, deps.pollMs ?? 1000);
  poll.unref();
  return { watchSession, unwatchSession, stop };

  function watchSession(sessionId: string): void {
    const session = getSession(deps.db, sessionId);
    if (!session || watched.has(sessionId)) return;
    const entry: Watched = { heard: false, passAt: performance.now() };
    watched.set(sessionId, entry);
    if (deps.watchFiles === false) return;
    const { outDir } = sessionPaths(deps.dataDir, session.agentGroupId, session.id);
    try {
      // One pass per ring of the runner's bell, after a commit of rows to deliver (shared/commit-events.ts):
      // the commits' own events, the heartbeat and the outbox files would only cause empty passes or
      // reads that meet the runner's lock.
      entry.watcher = watchBell(
        outDir,
        () => {
          if (watched.get(sessionId) !== entry) return;
          entry.heard = true;
          entry.passAt = performance.now();
          deliver(sessionId);
        },
        {
          onError: (err) => {
            entry.heard = false;
            deps.log.warn({ sessionId, err }, 'watching out/ failed; falling back to polling');
          },
        },
      );
    } catch (err) {
      deps.log.warn({ sessionId, err }, 'cannot watch out/; falling back to polling');
    }
  }

  function unwatchSession(sessionId: string): void {
    watched.get(sessionId)?.watcher?.close();
    watched.delete(sessionId);
  }

  function stop(): void {
    clearInterval(poll);
    for (const entry of watched.values()) entry.watcher?.close();
    watched.clear();
  }
}
