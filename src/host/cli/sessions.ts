// `warren sessions list|show|stop`: the conversations Warren holds (central `sessions` rows) and
// whether a container runs for them. `stop` closes a session the way the host closes one: the chat's
// next message starts a new session. The host has no API to stop a container from outside yet, so a
// container that is running finishes on its own (the host refuses its model calls from then on).
import type { Db } from '../../db/connection.ts';
import { listRecentAttempts } from '../../db/deliveries.ts';
import { getSession, listSessions, type Session } from '../../db/sessions.ts';
import type { Config } from '../config.ts';
import { sessionPaths, sessionViewer, stopSession } from '../sessions/index.ts';
import { withCentralDb } from './central-db.ts';
import { deliveryTable } from './deliveries.ts';
import { parseLimit } from './limit.ts';
import { renderTable } from './table.ts';

export const SESSIONS_HELP = `warren sessions list [--all] [--limit N] [--json]   active sessions (--all: closed ones too), latest first
warren sessions show ID [--json]                    one session: its chat, container, folder, recent deliveries
warren sessions stop ID                             closes it: the chat's next message starts a new session
A running container is not stopped by \`stop\` (the host has no API for it yet): the host refuses its
model calls and starts no new turn for it, and it exits when idle (containers.idleExitMs).
`;

export interface SessionsIo {
  config: Config;
  args: string[];
  all: boolean;
  limit?: string;
  json: boolean;
  now: Date;
  actor: string;
  hostRunning: () => Promise<boolean>;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export function runSessionsCommand(io: SessionsIo): Promise<number> {
  const [sub, id] = io.args;
  return withCentralDb({ name: 'sessions', sub, usage: SESSIONS_HELP }, io, (db) => {
    switch (sub) {
      case undefined:
      case 'list':
        return list(db, io);
      case 'show':
      case 'stop': {
        if (!id) {
          io.fail(`warren sessions ${sub}: give the session id (warren sessions list)\n`);
          return 2;
        }
        const session = getSession(db, id);
        if (!session) {
          io.fail(`warren sessions ${sub}: no session ${id} (warren sessions list --all)\n`);
          return 1;
        }
        return sub === 'show' ? show(db, io, session) : stop(db, io, session);
      }
      default:
        io.fail(`warren sessions: unknown subcommand "${sub}"\n\n${SESSIONS_HELP}`);
        return 2;
    }
  });
}

function list(db: Db, io: SessionsIo): number {
  const limit = parseLimit(io.limit, 100);
  if (typeof limit === 'string') {
    io.fail(`warren sessions list: ${limit}\n`);
    return 2;
  }
  const rows = listSessions(db, { all: io.all, limit }).map(sessionViewer(db));
  if (io.json) io.write(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0)
    io.write(io.all ? 'no sessions\n' : 'no active sessions (--all: closed ones too)\n');
  else
    io.write(
      renderTable(
        ['SESSION', 'GROUP', 'CHAT', 'THREAD', 'STATUS', 'CONTAINER', 'LAST ACTIVE'],
        rows.map((r) => [
          r.id,
          r.agentGroup,
          r.chat ?? '(agent-shared)',
          r.threadId ?? '-',
          r.status,
          r.containerStatus,
          r.lastActive ?? '-',
        ]),
      ),
    );
  return 0;
}

function show(db: Db, io: SessionsIo, session: Session): number {
  const view = sessionViewer(db)(session);
  const paths = sessionPaths(io.config.dataDir, session.agentGroupId, session.id);
  const deliveries = listRecentAttempts(db, { failedOnly: false, limit: 10, sessionId: session.id });
  if (io.json) {
    io.write(`${JSON.stringify({ ...view, folder: paths.root, recentDeliveries: deliveries }, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `session      ${view.id}`,
    `agent group  ${view.agentGroup}`,
    `chat         ${view.chat ?? '(agent-shared: every chat of the group wired so)'}`,
    `thread       ${view.threadId ?? '-'}`,
    `status       ${view.status}${view.closedAt ? ` since ${view.closedAt}` : ''}`,
    ...(view.closedReason ? [`closed why    ${view.closedReason}`] : []),
    `container    ${view.containerStatus}`,
    `created      ${view.createdAt}`,
    `last active  ${view.lastActive ?? '-'}`,
    `folder       ${paths.root}`,
  ];
  io.write(`${lines.join('\n')}\n`);
  io.write(
    deliveries.length === 0 ? '\nno deliveries yet\n' : `\nrecent deliveries:\n${deliveryTable(deliveries)}`,
  );
  return 0;
}

async function stop(db: Db, io: SessionsIo, session: Session): Promise<number> {
  const outcome = stopSession(db, session.id, io.actor, io.now);
  if (!outcome.ok) {
    io.fail(`warren sessions stop: ${outcome.error}\n`);
    return 1;
  }
  io.write(`closed session ${session.id}: the chat's next message starts a new session\n`);
  io.write(`${await containerNote(io, session)}\n`);
  return 0;
}

/** What happens to the session's container, said honestly: this command cannot stop it. */
async function containerNote(io: SessionsIo, session: Session): Promise<string> {
  if (!(await io.hostRunning()))
    return 'the host is not running: no container runs for it (the host removes leftovers when it starts)';
  if (session.containerStatus === 'stopped') return 'no container was running for it';
  return (
    `its container is ${session.containerStatus} and is not stopped by this command (the host has no API ` +
    'for that yet): the host refuses its model calls and starts no new turn for it; it exits when idle ' +
    '(containers.idleExitMs). Replies it already wrote may still be delivered; messages it had not ' +
    'answered are not answered.'
  );
}
