// Each session's delivery passes: one at a time, concurrent requests coalesced into one more pass, and
// a retry timer while a send waits for its backoff or outbound.db for the runner's lock.
import { getSession } from '../../db/sessions.ts';
import { sessionPaths, SessionBusyError, SessionUnsafeError } from '../sessions/index.ts';
import { BUSY_LIMIT_MS, busyRetryDelayMs } from './backoff.ts';
import type { DeliveryDeps } from './deps.ts';
import { deliverPass } from './pass.ts';

interface SessionState {
  pass?: Promise<void>;
  again: boolean;
  retryTimer?: NodeJS.Timeout;
  /** Every row up to this seq is settled: later passes read only what comes after it. */
  progress: { settledThrough: number };
  /** When outbound.db was first found locked, in a row of locked reads. */
  busySince?: number;
  busyRetries?: number;
  /** The retry timer waits for the runner's lock, not for a send's back-off. */
  waitsForLock?: boolean;
}

interface Passes {
  deps: DeliveryDeps;
  maxAttempts: number;
  deliverSession(sessionId: string, retryDue?: boolean): Promise<void>;
}

export function createSessionPasses(deps: DeliveryDeps) {
  const states = new Map<string, SessionState>();
  const passes: Passes = { deps, maxAttempts: deps.maxAttempts ?? 5, deliverSession };
  return { deliverSession, forget, stop };

  /**
   * Delivers everything due in the session; concurrent calls coalesce into one more pass. While a
   * retry waits for a send's backoff, only the retry timer may deliver (file events must not hurry
   * it). A wait for the runner's lock ends at the next call instead: the runner's next finished
   * commit, which released it. Its back-off only paces reads of a file nobody commits to.
   */
  function deliverSession(sessionId: string, retryDue = false): Promise<void> {
    let state = states.get(sessionId);
    if (!state) states.set(sessionId, (state = { again: false, progress: { settledThrough: 0 } }));
    if (state.retryTimer && !retryDue) {
      if (!state.waitsForLock) return state.pass ?? Promise.resolve();
      clearTimeout(state.retryTimer);
      state.retryTimer = undefined;
    }
    if (state.pass) {
      state.again = true;
      return state.pass;
    }
    const running = state;
    running.pass = (async () => {
      do {
        running.again = false;
        await runPass(passes, sessionId, running).then(
          () => {
            running.busySince = undefined;
            running.busyRetries = 0;
          },
          (err: unknown) => passFailed(passes, sessionId, running, err),
        );
        // A pass that left a send waiting for its backoff hands over to the retry timer: work that
        // arrived during it must not hurry the retry.
      } while (running.again && !running.retryTimer);
    })().finally(() => (running.pass = undefined));
    return running.pass;
  }

  /** The session is no longer watched: its state goes unless a pass or a retry still needs it. */
  function forget(sessionId: string): void {
    const state = states.get(sessionId);
    if (state && !state.retryTimer && !state.pass) states.delete(sessionId);
  }

  async function stop(): Promise<void> {
    for (const [id, state] of states) {
      clearTimeout(state.retryTimer);
      await state.pass;
      states.delete(id);
    }
  }
}

async function runPass(passes: Passes, sessionId: string, state: SessionState): Promise<void> {
  const { deps } = passes;
  const session = getSession(deps.db, sessionId);
  if (!session || session.closedReason) return;
  await deliverPass({
    deps,
    maxAttempts: passes.maxAttempts,
    session,
    paths: sessionPaths(deps.dataDir, session.agentGroupId, session.id),
    progress: state.progress,
    retryAfter: (delayMs) => {
      clearTimeout(state.retryTimer);
      retryLater(passes, sessionId, state, delayMs, 'send');
    },
  });
}

function retryLater(
  passes: Passes,
  sessionId: string,
  state: SessionState,
  delayMs: number,
  waitsFor: 'send' | 'lock',
): void {
  state.waitsForLock = waitsFor === 'lock';
  state.retryTimer = setTimeout(() => {
    state.retryTimer = undefined;
    void passes.deliverSession(sessionId, true);
  }, delayMs);
}

/**
 * A locked outbound.db is read again after a back-off (delivery waits only briefly on the runner's
 * lock); one locked for longer than BUSY_LIMIT_MS, or any unsafe file, takes the session out of service.
 */
function passFailed(passes: Passes, sessionId: string, state: SessionState, err: unknown): void {
  const { deps } = passes;
  if (err instanceof SessionBusyError) {
    state.busySince ??= performance.now();
    if (performance.now() - state.busySince < BUSY_LIMIT_MS) {
      state.busyRetries = (state.busyRetries ?? 0) + 1;
      if (!state.retryTimer)
        retryLater(passes, sessionId, state, busyRetryDelayMs(state.busyRetries), 'lock');
      return;
    }
    err = new SessionUnsafeError(
      sessionId,
      `out/outbound.db stayed locked for over ${BUSY_LIMIT_MS / 1000} s`,
    );
  }
  if (err instanceof SessionUnsafeError && deps.onUnsafe) return deps.onUnsafe(sessionId, err);
  deps.log.error({ sessionId, err }, 'delivery pass failed');
}
