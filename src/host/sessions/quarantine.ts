// What the host does with a session whose out/ it will not read any more (DESIGN §10): it closes the
// session with the reason (its chat gets a fresh session on the next message), stops its container,
// and says so in the log and in `warren dropped`. Every other session carries on.
import type { Db } from '../../db/connection.ts';
import { closeSession } from '../../db/sessions.ts';
import type { SessionFileError } from '../../shared/session-contract.ts';

export interface QuarantineDeps {
  db: Db;
  clock: () => Date;
  log: { error(obj: object, msg: string): void };
  stopContainer: (sessionId: string) => Promise<void>;
  /** Tells the session's chat (through the channel, never through the session's files). */
  notifyChat?: (sessionId: string, text: string) => Promise<unknown>;
}

const NOTICE =
  'This conversation was reset: the agent’s workspace held something unsafe, so it was stopped. ' +
  'Messages it had not answered yet were not processed; please send them again.';

export type Quarantine = (sessionId: string, err: SessionFileError) => void;

export function createQuarantine(deps: QuarantineDeps): Quarantine {
  return (sessionId, err) => {
    const reason = `unsafe session files: ${err.reason}`;
    if (!closeSession(deps.db, sessionId, deps.clock().toISOString(), reason)) return;
    deps.log.error(
      { sessionId, reason },
      'session closed: its container wrote something the host will not read; the container is stopped and its chat gets a new session',
    );
    deps
      .stopContainer(sessionId)
      .catch((stopErr: unknown) =>
        deps.log.error({ sessionId, err: stopErr }, 'the unsafe session’s container could not be stopped'),
      );
    deps
      .notifyChat?.(sessionId, NOTICE)
      .catch((notifyErr: unknown) =>
        deps.log.error({ sessionId, err: notifyErr }, 'the unsafe session’s chat could not be told'),
      );
  };
}
