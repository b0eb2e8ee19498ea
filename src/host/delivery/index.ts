// Outbound rows -> channel adapters -> delivered records (DESIGN §4 step 5); the host's own notices to
// chats (notice.ts) are recorded the same way. Wakes on file changes in a running session's out/ folder, with a fallback poll; retries
// transient failures with backoff; on a final failure tells the agent with a system message.
// This file is delivery's only import surface.
import type { DeliveryDeps } from './deps.ts';
import { createSessionPasses } from './session-passes.ts';
import { createOutWatch } from './watch.ts';

export { combineActions, type ActionHandler, type ActionRequest, type DeliveryDeps } from './deps.ts';
export { retryDelayMs } from './backoff.ts';
export {
  createNotices,
  type Notices,
  type NoticeTarget,
  type NotifyUser,
  type Say,
  type SendHostMessage,
} from './notice.ts';
export type { SendOutcome } from './attempt.ts';

export function createDelivery(deps: DeliveryDeps) {
  const passes = createSessionPasses(deps);
  const watch = createOutWatch(deps, (sessionId) => void passes.deliverSession(sessionId));
  return {
    /** Delivers everything due in the session (a pass already running is followed by one more). */
    deliverSession: (sessionId: string): Promise<void> => passes.deliverSession(sessionId),
    /** While a container runs: react to its writes at once instead of at the next poll. */
    watchSession: watch.watchSession,
    unwatchSession(sessionId: string): void {
      watch.unwatchSession(sessionId);
      passes.forget(sessionId);
    },
    async stop(): Promise<void> {
      watch.stop();
      await passes.stop();
    },
  };
}

export type Delivery = ReturnType<typeof createDelivery>;
