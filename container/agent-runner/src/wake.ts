// What wakes the idle runner: the host's bell in the in/ folder, rung after it committed rows to
// inbound.db (shared/commit-events.ts), or the fallback poll when events are off or missed.
import { watchBell, type BellWatch } from '../../../src/shared/commit-events.ts';

export type WakeReason = 'event' | 'poll' | 'stop';

export interface Wake {
  /** Resolves on the next change (or one seen since the last wait), after `ms`, or on abort. */
  wait(ms: number, signal: AbortSignal): Promise<WakeReason>;
  /** True while the bell is watched: events are on and the watch has not failed. */
  readonly listening: boolean;
  close(): void;
}

export function createWake(opts: { dir: string; watch: boolean; onError: (err: Error) => void }): Wake {
  // A change seen while the runner was busy is kept, so it re-checks right away instead of sleeping.
  let changed = false;
  let notify: (() => void) | null = null;
  let watcher: BellWatch | null = null;
  let listening = opts.watch;
  if (opts.watch) {
    // Only the bell wakes it: the commit's own events come while the host still holds its lock, and
    // most of the host's commits (delivery records, folded acks) give the runner nothing to do.
    watcher = watchBell(
      opts.dir,
      () => {
        changed = true;
        notify?.();
      },
      {
        persistent: false,
        onError: (err) => {
          listening = false;
          opts.onError(err);
        },
      },
    );
  }

  return {
    wait(ms, signal) {
      if (signal.aborted) return Promise.resolve('stop');
      if (changed) {
        changed = false;
        return Promise.resolve('event');
      }
      return new Promise((resolve) => {
        const done = (reason: WakeReason) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          notify = null;
          changed = false;
          resolve(reason);
        };
        const onAbort = () => done('stop');
        const timer = setTimeout(() => done('poll'), ms);
        signal.addEventListener('abort', onAbort, { once: true });
        notify = () => done('event');
      });
    },
    get listening() {
      return listening;
    },
    close() {
      listening = false;
      watcher?.close();
    },
  };
}
