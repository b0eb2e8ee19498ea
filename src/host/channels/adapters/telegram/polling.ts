// Long polling, as a loop of our own rather than grammY's bot.start(): it owns the offset (kept across
// stop/start, so a restart resumes where it left off), bounds each getUpdates so a hung request is
// noticed, and aborts the request in flight on stop() instead of waiting out the long poll.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Api } from 'grammy';
import type { Logger } from '../../../logger.ts';
import type { PlatformEvents } from '../../platform.ts';
import { bounded } from './client.ts';
import { describeError, linkError } from './errors.ts';
import { HANDLED_UPDATES } from './normalize.ts';
import { updateIdOf } from './receive.ts';

/** How long past its long-poll timeout a getUpdates may take before it counts as hung. */
const POLL_GRACE_MS = 10_000;
/** stop() waits this long for a message being handed on; the update stays unconfirmed if cut. */
const STOP_WAIT_MS = 1_000;
const CONFIRM_TIMEOUT_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;

/** The next update_id to ask for; lives in the adapter so it outlives one poller. */
export interface Offset {
  next: number;
}

export interface PollerDeps {
  api: Api;
  token: string;
  installation: string;
  log: Logger;
  pollTimeoutSeconds: number;
  events: PlatformEvents;
  offset: Offset;
  /** Handles one update; throws when Warren did not take it (it is asked for again). */
  handle: (update: unknown) => Promise<void>;
  /** Aborted by the adapter's stop(): ends the loop and the request in flight. */
  signal: AbortSignal;
}

export interface Poller {
  /** Waits (briefly) for the loop to end once `signal` is aborted, then confirms the offset. */
  stopped(): Promise<void>;
}

export function startPolling(deps: PollerDeps): Poller {
  const { api, log, events, offset } = deps;
  const { signal } = deps;
  /** The offset Telegram last heard: updates below it are gone from its queue. */
  let confirmed: number | undefined;
  const loop = run().catch((error: unknown) => {
    log.error(
      { installation: deps.installation, error: describeError(error, deps.token) },
      'telegram poller died',
    );
    events.failed(linkError(error, deps.token));
  });
  return { stopped };

  async function run(): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let updates: unknown[];
      try {
        updates = await api.getUpdates(
          { offset: offset.next, timeout: deps.pollTimeoutSeconds, allowed_updates: [...HANDLED_UPDATES] },
          bounded(deps.pollTimeoutSeconds * 1000 + POLL_GRACE_MS, signal),
        );
        if (!Array.isArray(updates)) throw new Error('getUpdates answered something other than a list');
        confirmed = offset.next;
        failures = 0;
        events.alive();
      } catch (error) {
        if (signal.aborted) return;
        failures += 1;
        log.warn(
          { installation: deps.installation, error: describeError(error, deps.token), failures },
          'telegram getUpdates failed',
        );
        events.failed(linkError(error, deps.token));
        await pause(failures);
        continue;
      }
      if (!(await handleAll(updates))) await pause(1);
    }
  }

  /** Hands each update on in order, advancing the offset past it; false when one was not taken. */
  async function handleAll(updates: unknown[]): Promise<boolean> {
    for (const update of updates) {
      if (signal.aborted) return true;
      const id = updateIdOf(update);
      if (id === undefined) {
        log.warn({ installation: deps.installation }, 'telegram update without an update_id skipped');
        continue;
      }
      if (Number(id) < offset.next) continue;
      try {
        await deps.handle(update);
      } catch (error) {
        if (!signal.aborted) {
          log.warn(
            { installation: deps.installation, eventId: id, error: describeError(error, deps.token) },
            'telegram update not taken; it will be asked for again',
          );
        }
        return false;
      }
      offset.next = Number(id) + 1;
    }
    return true;
  }

  async function pause(failures: number): Promise<void> {
    const ms = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(failures, 10));
    await sleep(ms, undefined, { signal }).catch(() => undefined);
  }

  async function stopped(): Promise<void> {
    await Promise.race([loop, sleep(STOP_WAIT_MS)]);
    if (confirmed === offset.next) return;
    // Tell Telegram what was handled, so a process restart does not get it again (best effort).
    try {
      await api.getUpdates({ offset: offset.next, limit: 1, timeout: 0 }, bounded(CONFIRM_TIMEOUT_MS));
      confirmed = offset.next;
    } catch (error) {
      log.debug(
        { installation: deps.installation, error: describeError(error, deps.token) },
        'telegram offset not confirmed',
      );
    }
  }
}
