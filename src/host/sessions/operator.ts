// Sessions as the operator sees and ends them (`warren sessions`, /api/sessions): each with its agent
// group's folder and its chat as CHANNEL:CHAT_ID. Stopping closes the session the way the host closes
// one: the chat's next message starts a new session.
import { listAgentGroups } from '../../db/agent-groups.ts';
import { appendAuditEvent } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import { listMessagingGroups } from '../../db/messaging-groups.ts';
import { closeSession, getSession, type Session } from '../../db/sessions.ts';

export type SessionView = ReturnType<ReturnType<typeof sessionViewer>>;

/** Turns sessions into views, with the groups' folders and the chats' names read once. */
export function sessionViewer(db: Db) {
  const groups = new Map(listAgentGroups(db).map((g) => [g.id, g.folder]));
  const chats = new Map(listMessagingGroups(db).map((m) => [m.id, `${m.channelType}:${m.platformId}`]));
  return (s: Session) => ({
    id: s.id,
    agentGroup: groups.get(s.agentGroupId) ?? s.agentGroupId,
    /** null: the agent group's one session for every chat wired agent-shared (and agent messages). */
    chat: s.messagingGroupId === null ? null : (chats.get(s.messagingGroupId) ?? s.messagingGroupId),
    threadId: s.threadId,
    status: s.status,
    containerStatus: s.containerStatus,
    lastActive: s.lastActive,
    createdAt: s.createdAt,
    closedAt: s.closedAt,
    closedReason: s.closedReason,
  });
}

export type StopOutcome =
  { ok: true; session: Session } | { ok: false; reason: 'not_found' | 'closed'; error: string };

/** Closes an active session and writes the audit row, in one transaction. */
export function stopSession(db: Db, id: string, actor: string, now: Date): StopOutcome {
  const at = now.toISOString();
  return db
    .transaction((): StopOutcome => {
      const session = getSession(db, id);
      if (!session) return { ok: false, reason: 'not_found', error: `no session ${id}` };
      if (session.status !== 'active' || !closeSession(db, id, at))
        return {
          ok: false,
          reason: 'closed',
          error: `session ${id} is closed already (since ${session.closedAt})`,
        };
      appendAuditEvent(
        db,
        {
          actor,
          action: 'session.stopped',
          targetKind: 'session',
          targetId: id,
          detail: { containerStatus: session.containerStatus },
        },
        at,
      );
      return { ok: true, session };
    })
    .immediate();
}
