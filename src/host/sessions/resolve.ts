// Which session a routed message goes to, created (row + files + projections) on first use.
import type { Db } from '../../db/connection.ts';
import { listDestinations } from '../../db/destinations.ts';
import type { SessionMode } from '../../db/enums.ts';
import { createSession, findActiveSession, type Session, type SessionKey } from '../../db/sessions.ts';
import { createSessionFiles, sessionPaths, type SessionPaths } from './files.ts';
import { writeDestinations, writeRouting, type SessionRouting } from './inbound.ts';

/** The session key a wiring's session mode gives for a message in a chat (and thread). */
export function sessionKeyFor(
  mode: SessionMode,
  agentGroupId: string,
  messagingGroupId: string,
  threadId: string | null,
): SessionKey {
  switch (mode) {
    case 'shared':
      return { agentGroupId, messagingGroupId, threadId: null };
    case 'per-thread':
      return { agentGroupId, messagingGroupId, threadId };
    case 'agent-shared':
      return { agentGroupId, messagingGroupId: null, threadId: null };
  }
}

export interface ResolvedSession {
  session: Session;
  paths: SessionPaths;
  created: boolean;
}

/**
 * Finds the active session for the key or creates it with its folder, its default reply address and
 * its destination list. Synchronous from the row to the files, so two messages arriving together
 * for a new session can never see a row without its files.
 */
export function resolveSession(
  db: Db,
  dataDir: string,
  key: SessionKey,
  routing: SessionRouting,
  now: string,
): ResolvedSession {
  const existing = findActiveSession(db, key);
  if (existing) {
    return {
      session: existing,
      paths: sessionPaths(dataDir, existing.agentGroupId, existing.id),
      created: false,
    };
  }
  const session = createSession(db, key, now);
  const paths = sessionPaths(dataDir, session.agentGroupId, session.id);
  createSessionFiles(paths);
  writeRouting(paths, routing);
  projectDestinations(db, paths, session.agentGroupId);
  return { session, paths, created: true };
}

/** Rewrites the session's copy of its agent group's destinations (on creation and before each wake). */
export function projectDestinations(db: Db, paths: SessionPaths, agentGroupId: string): void {
  writeDestinations(
    paths,
    listDestinations(db, agentGroupId).map((d) =>
      d.kind === 'channel'
        ? { name: d.name, kind: d.kind, channelType: d.channelType, platformId: d.platformId }
        : { name: d.name, kind: d.kind, agentGroupId: d.targetAgentGroupId },
    ),
  );
}
