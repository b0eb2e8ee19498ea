// While a container runs, delivery reacts to its writes at once (a watcher on the session's out/), with
// a poll behind it for the events a watcher misses.
import { getSession } from '../../db/sessions.ts';
import { watchBell, type BellWatch } from '../../shared/commit-events.ts';
import { sessionPaths } from '../sessions/index.ts';
import type { DeliveryDeps } from './deps.ts';

type WatchDeps = Pick<DeliveryDeps, 'db' | 'dataDir' | 'log' | 'watchFiles' | 'pollMs'>;

export function createOutWatch(deps: WatchDeps, deliver: (sessionId: string) => void) {
  const watched = new Map<string, BellWatch | undefined>();
  const poll = setInterval(() => watched.forEach((_watcher, id) => deliver(id)), deps.pollMs ?? 1000);
  poll.unref();
  return { watchSession, unwatchSession, stop };

  function watchSession(sessionId: string): void {
    const session = getSession(deps.db, sessionId);
    if (!session || watched.has(sessionId)) return;
    watched.set(sessionId, undefined);
    if (deps.watchFiles === false) return;
    const { outDir } = sessionPaths(deps.dataDir, session.agentGroupId, session.id);
    try {
      // One pass per ring of the runner's bell, after a commit of rows to deliver (shared/commit-events.ts):
      // the commits' own events, the heartbeat and the outbox files would only cause empty passes or
      // reads that meet the runner's lock (the fallback poll covers a bell not heard).
      const watcher = watchBell(outDir, () => {
        if (watched.has(sessionId)) deliver(sessionId);
      });
      watched.set(sessionId, watcher);
    } catch (err) {
      deps.log.warn({ sessionId, err }, 'cannot watch out/; falling back to polling');
    }
  }

  function unwatchSession(sessionId: string): void {
    watched.get(sessionId)?.close();
    watched.delete(sessionId);
  }

  function stop(): void {
    clearInterval(poll);
    for (const watcher of watched.values()) watcher?.close();
    watched.clear();
  }
}
