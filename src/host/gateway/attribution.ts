// Whose message a session is answering right now: the user a model call's usage is put on, and the
// message its log lines follow (`corr`, src/shared/correlation.ts). Read-only and cheap: the runner's
// current claims in outbound.db, the claimed rows in inbound.db, the sender's user in the central
// database; one read of each file serves both. Unknown (another agent's message, files not there
// yet) is null or absent, never an error. A user merged into another one is that other one now: their
// calls count (and are limited) as the person they were merged into.
import type { Db } from '../../db/connection.ts';
import { asCorrelationId } from '../../shared/correlation.ts';
import { chatContent, parseContent } from '../../shared/session-content.ts';
import { findUserByIdentity, getUser, type User } from '../../db/users.ts';
import { readClaimedRows, type ClaimedRow, type SessionPaths } from '../sessions/index.ts';

export interface CurrentWork {
  userId: string | null;
  /** The message the runner's turn answers. */
  corr?: string;
  /** Every message of the turn, when it covers more than one. */
  batch?: string[];
}

export function currentWorkOf(db: Db, paths: SessionPaths): CurrentWork {
  const rows = readClaimedRows(paths);
  return { userId: userOfRows(db, rows), ...turnOf(rows) };
}

/**
 * Pure: which message a turn of these claimed rows answers, as the runner decides it: the last
 * triggering one in seq order. The ids are the host's own (inbound.db); odd ones are left out anyway.
 */
export function turnOf(rows: readonly Pick<ClaimedRow, 'id' | 'seq' | 'trigger'>[]): {
  corr?: string;
  batch?: string[];
} {
  const ordered = [...rows].sort((a, b) => a.seq - b.seq);
  const answered = ordered.findLast((r) => r.trigger === 1) ?? ordered.at(-1);
  const corr = asCorrelationId(answered?.id);
  if (corr === undefined) return {};
  const batch = ordered.flatMap((r) => asCorrelationId(r.id) ?? []);
  return batch.length > 1 ? { corr, batch } : { corr };
}

/** The first claimed chat message (newest claim first) whose sender is a known user. */
function userOfRows(db: Db, rows: readonly ClaimedRow[]): string | null {
  for (const row of rows) {
    if (row.kind !== 'chat') continue;
    const parsed = parseContent(chatContent, row.content);
    if (!parsed.ok) continue;
    const user = userOfSender(db, parsed.value.sender);
    if (user) return user;
  }
  return null;
}

/** The router stores the user id with the sender; the identity `kind:external_id` is the fallback. */
function userOfSender(db: Db, sender: { id: string; userId?: string }): string | null {
  const stored = sender.userId ? getUser(db, sender.userId) : undefined;
  if (stored) return personOf(db, stored);
  const colon = sender.id.indexOf(':');
  if (colon <= 0) return null;
  const found = findUserByIdentity(db, sender.id.slice(0, colon), sender.id.slice(colon + 1));
  return found ? personOf(db, found) : null;
}

/** Follows merges to the user that remains (merges chain: A into B, later B into C). */
function personOf(db: Db, user: User): string {
  let current = user;
  for (let hops = 0; current.mergedInto && hops < MAX_MERGE_HOPS; hops++) {
    const next = getUser(db, current.mergedInto);
    if (!next) break;
    current = next;
  }
  return current.id;
}

const MAX_MERGE_HOPS = 16;
