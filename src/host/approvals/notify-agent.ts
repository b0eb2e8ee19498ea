// Telling an agent something (an approval's outcome, a question's answer): a system message in its
// session's inbound.db, then a turn. The row id comes from `key`, so telling twice (a follow-up run
// again after a crash) writes one row.
import type { Db } from '../../db/connection.ts';
import { getSession } from '../../db/sessions.ts';
import type { SystemContent } from '../../shared/session-content.ts';
import type { Logger } from '../logger.ts';
import { sessionPaths, writeSystemMessage } from '../sessions/index.ts';

export interface NotifyAgentDeps {
  db: Db;
  dataDir: string;
  clock: () => Date;
  log: Logger;
  wake(sessionId: string): void;
}

export function notifyAgent(
  deps: NotifyAgentDeps,
  sessionId: string,
  content: SystemContent,
  key: string,
): boolean {
  const session = getSession(deps.db, sessionId);
  if (!session || session.status !== 'active') {
    deps.log.info({ sessionId, event: content.event }, 'session gone or closed; the agent is not told');
    return false;
  }
  const paths = sessionPaths(deps.dataDir, session.agentGroupId, session.id);
  writeSystemMessage(paths, { id: `host:${key}`, timestamp: deps.clock().toISOString(), content });
  // Also when the row was already there: a crash may have come between writing it and the wake.
  deps.wake(sessionId);
  return true;
}
