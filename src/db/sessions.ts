// Central session rows: which conversations exist and whether their container runs. The session's
// messages live in its own files (src/host/sessions), not here.
import { z } from 'zod';
import type { Db } from './connection.ts';
import { CONTAINER_STATUSES, type ContainerStatus, type SessionStatus } from './enums.ts';
import { newId } from './ids.ts';

export interface Session {
  id: string;
  agentGroupId: string;
  /** null: one session shared by every chat of the agent group (session mode 'agent-shared'). */
  messagingGroupId: string | null;
  /** null: one session for the whole chat (session mode 'shared'). */
  threadId: string | null;
  status: SessionStatus;
  containerStatus: ContainerStatus;
  lastActive: string | null;
  createdAt: string;
  closedAt: string | null;
  /** Why the host closed it, when it was not closed in the ordinary way (e.g. its files were unsafe). */
  closedReason: string | null;
}

/** What a session is for; at most one active session exists per key. */
export interface SessionKey {
  agentGroupId: string;
  messagingGroupId: string | null;
  threadId: string | null;
}

const COLUMNS = `id, agent_group_id AS agentGroupId, messaging_group_id AS messagingGroupId, thread_id AS threadId,
  status, container_status AS containerStatus, last_active AS lastActive, created_at AS createdAt,
  closed_at AS closedAt, closed_reason AS closedReason`;

/** Throws a UNIQUE constraint error when an active session with the same key exists. */
export function createSession(db: Db, key: SessionKey, now: string): Session {
  return db
    .prepare(
      `INSERT INTO sessions (id, agent_group_id, messaging_group_id, thread_id, last_active, created_at)
       VALUES (?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    )
    .get(newId('ses'), key.agentGroupId, key.messagingGroupId, key.threadId, now, now) as Session;
}

export function getSession(db: Db, id: string): Session | undefined {
  return db.prepare(`SELECT ${COLUMNS} FROM sessions WHERE id = ?`).get(id) as Session | undefined;
}

export function findActiveSession(db: Db, key: SessionKey): Session | undefined {
  // Same expressions as the sessions_active_key index, so NULL matches NULL and the index is used.
  return db
    .prepare(
      `SELECT ${COLUMNS} FROM sessions
       WHERE agent_group_id = ? AND ifnull(messaging_group_id, '') = ifnull(?, '')
         AND ifnull(thread_id, '') = ifnull(?, '') AND status = 'active'`,
    )
    .get(key.agentGroupId, key.messagingGroupId, key.threadId) as Session | undefined;
}

export function listActiveSessions(db: Db): Session[] {
  return db
    .prepare(`SELECT ${COLUMNS} FROM sessions WHERE status = 'active' ORDER BY created_at, id`)
    .all() as Session[];
}

/** Active sessions (or every one with `all`), most recently active first, at most `limit`. */
export function listSessions(db: Db, options: { all: boolean; limit: number }): Session[] {
  return db
    .prepare(
      `SELECT ${COLUMNS} FROM sessions WHERE @all OR status = 'active'
       ORDER BY coalesce(last_active, created_at) DESC, id LIMIT @limit`,
    )
    .all({ all: options.all ? 1 : 0, limit: options.limit }) as Session[];
}

/**
 * A page of sessions (active ones, or every one with `all`), newest first, keyset on (created_at, id)
 * so a page read while sessions start neither repeats nor skips one.
 */
export function listSessionsPage(
  db: Db,
  options: { all: boolean; limit: number; before?: { createdAt: string; id: string } },
): Session[] {
  return db
    .prepare(
      `SELECT ${COLUMNS} FROM sessions WHERE (@all OR status = 'active')
         AND (@createdAt IS NULL OR (created_at, id) < (@createdAt, @id))
       ORDER BY created_at DESC, id DESC LIMIT @limit`,
    )
    .all({
      all: options.all ? 1 : 0,
      limit: options.limit,
      createdAt: options.before?.createdAt ?? null,
      id: options.before?.id ?? null,
    }) as Session[];
}

export function setContainerStatus(db: Db, id: string, status: ContainerStatus): boolean {
  const s = z.enum(CONTAINER_STATUSES).parse(status);
  return db.prepare('UPDATE sessions SET container_status = ? WHERE id = ?').run(s, id).changes === 1;
}

export function touchSession(db: Db, id: string, now: string): boolean {
  return db.prepare('UPDATE sessions SET last_active = ? WHERE id = ?').run(now, id).changes === 1;
}

/** Closes an active session (a new one may then start for the same key); false if it was not active. */
export function closeSession(db: Db, id: string, now: string, reason: string | null = null): boolean {
  return (
    db
      .prepare(
        "UPDATE sessions SET status = 'closed', closed_at = ?, closed_reason = ? WHERE id = ? AND status = 'active'",
      )
      .run(now, reason?.slice(0, 1000) ?? null, id).changes === 1
  );
}

/** Sessions the host closed with a reason (unsafe files), newest first. */
export function listClosedWithReason(db: Db, limit: number): Session[] {
  return db
    .prepare(
      `SELECT ${COLUMNS} FROM sessions WHERE closed_reason IS NOT NULL ORDER BY closed_at DESC LIMIT ?`,
    )
    .all(limit) as Session[];
}

/** Asks the sweep to wake the session at `at`; an earlier request already pending wins. */
export function scheduleWake(db: Db, id: string, at: string): void {
  db.prepare(
    "UPDATE sessions SET next_wake_at = min(coalesce(next_wake_at, ?), ?) WHERE id = ? AND status = 'active'",
  ).run(at, at, id);
}

/** Sessions whose wake time has come, left due until takeWakes (a host that dies in between finds them again). */
export function listDueWakes(db: Db, now: string): string[] {
  return db
    .prepare('SELECT id FROM sessions WHERE next_wake_at <= ? ORDER BY next_wake_at')
    .pluck()
    .all(now) as string[];
}

/**
 * Takes the due wake of each session and arms its next one (null: none) in one transaction, after the
 * caller did the session's due work: nothing is lost if the host dies before or after. Returns the
 * sessions taken by this call; one a racing sweep took first is not among them.
 */
export function takeWakes(db: Db, now: string, next: ReadonlyMap<string, string | null>): string[] {
  const take = db.prepare('UPDATE sessions SET next_wake_at = ? WHERE id = ? AND next_wake_at <= ?');
  return db
    .transaction(() => [...next].filter(([id, at]) => take.run(at, id, now).changes === 1).map(([id]) => id))
    .immediate();
}

/** At start-up: sessions whose container was alive when the host stopped have claimed work to finish. */
export function wakeInterruptedSessions(db: Db, now: string): number {
  return db
    .prepare(
      `UPDATE sessions SET next_wake_at = min(coalesce(next_wake_at, ?), ?)
       WHERE container_status <> 'stopped' AND status = 'active'`,
    )
    .run(now, now).changes;
}

/** Closed sessions past retention, oldest first, a bounded batch per call. */
export function listClosedBefore(db: Db, cutoff: string, limit: number): Session[] {
  return db
    .prepare(
      `SELECT ${COLUMNS} FROM sessions WHERE status = 'closed' AND closed_at < ? ORDER BY closed_at LIMIT ?`,
    )
    .all(cutoff, limit) as Session[];
}

export function deleteSession(db: Db, id: string): boolean {
  return db.prepare('DELETE FROM sessions WHERE id = ?').run(id).changes === 1;
}

/** At start-up no container of this install runs (orphans were removed): every status is 'stopped'. */
export function resetContainerStatuses(db: Db): number {
  return db
    .prepare("UPDATE sessions SET container_status = 'stopped' WHERE container_status <> 'stopped'")
    .run().changes;
}
