// Liveness of one installation: a socket can look open while nothing arrives, so health comes from proof
// of life (a poll answered, a heartbeat acknowledged, an event received). When none came for
// staleAfterMs, or the adapter said its link broke, the channel is unhealthy and is restarted, with a
// growing pause between tries, until proof of life comes again.
import { errorText } from '../../shared/error-text.ts';

export interface WatchdogOptions {
  staleAfterMs: number;
  checkEveryMs: number;
  /** Pauses between restarts: firstMs, doubling up to maxMs. */
  backoff: { firstMs: number; maxMs: number };
  restart: () => Promise<void>;
  onChange: (state: WatchdogState) => void;
  now?: () => number;
}

export interface WatchdogState {
  healthy: boolean;
  lastAliveAt: number | null;
  lastError: string | null;
  restarts: number;
}

export function createWatchdog(options: WatchdogOptions) {
  const now = options.now ?? Date.now;
  const state: WatchdogState = { healthy: false, lastAliveAt: null, lastError: null, restarts: 0 };
  let broken = false;
  let restarting = false;
  let nextTryAt = 0;
  let pause = options.backoff.firstMs;
  let timer: NodeJS.Timeout | undefined;

  const set = (healthy: boolean, error: string | null) => {
    const changed = healthy !== state.healthy || error !== state.lastError;
    state.healthy = healthy;
    state.lastError = error;
    if (changed) options.onChange({ ...state });
  };

  async function check(): Promise<void> {
    const stale = now() - (state.lastAliveAt ?? 0) > options.staleAfterMs;
    if (!broken && !stale) return;
    if (state.healthy || !state.lastError) {
      set(
        false,
        broken ? (state.lastError ?? 'link broken') : `no sign of life for ${options.staleAfterMs} ms`,
      );
    }
    if (restarting || now() < nextTryAt) return;
    restarting = true;
    state.restarts += 1;
    try {
      await options.restart();
      broken = false;
      state.lastAliveAt = now(); // a fresh start gets a full period to prove itself
    } catch (err) {
      set(false, `restart failed: ${errorText(err)}`);
    } finally {
      restarting = false;
      nextTryAt = now() + pause;
      pause = Math.min(pause * 2, options.backoff.maxMs);
    }
  }

  return {
    /** Starts watching; the adapter has just connected. */
    start() {
      state.lastAliveAt = now();
      timer ??= setInterval(() => void check(), options.checkEveryMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    alive() {
      state.lastAliveAt = now();
      broken = false;
      pause = options.backoff.firstMs;
      if (!state.healthy || state.lastError) set(true, null);
    },
    failed(err: unknown) {
      broken = true;
      set(false, errorText(err));
    },
    state: (): WatchdogState => ({ ...state }),
    /** For tests: run one check now. */
    check,
  };
}

export type Watchdog = ReturnType<typeof createWatchdog>;
