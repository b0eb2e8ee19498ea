// Outbound rows -> channel adapters -> delivered records (DESIGN §4 step 5), and the host's own notices
// to chats. Wakes on file changes in a running session's out/ folder, with a fallback poll; retries
// transient failures with backoff; on a final failure tells the agent with a system message.
// This file is delivery's only import surface.
import type { DeliveryDeps } from './deps.ts';
import { createNotices } from './notice.ts';
import { createSessionPasses } from './session-passes.ts';
import { createOutWatch } from './watch.ts';

export { combineActions, type ActionHandler, type ActionRequest, type DeliveryDeps } from './deps.ts';
export { retryDelayMs } from './backoff.ts';
export type { NoticeTarget, NotifyUser, Say } from './notice.ts';

export function createDelivery(deps: DeliveryDeps) {
  const passes = createSessionPasses(deps);
  const watch = createOutWatch(deps, (sessionId) => void passes.deliverSession(sessionId));
  const { notifyUser, say } = createNotices(deps);
  return {
    /** Delivers everything due in the session (a pass already running is followed by one more). */
    deliverSession: (sessionId: string): Promise<void> => passes.deliverSession(sessionId),
    /** While a container runs: react to its writes at once instead of at the next poll. */
    watchSession: watch.watchSession,
    unwatchSession(sessionId: string): void {
      watch.unwatchSession(sessionId);
      passes.forget(sessionId);
    },
    /** A host notice to the session's chat, recorded in delivery_attempts. */
    notifyUser,
    /** A host notice to a chat outside any session (answers to `/link`), recorded the same way. */
    say,
    async stop(): Promise<void> {
      watch.stop();
      await passes.stop();
    },
  };
}

export type Delivery = ReturnType<typeof createDelivery>;
