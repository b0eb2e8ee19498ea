// Whose message a session is answering right now, so a model call's usage can be put on that user's
// account. Read-only and cheap: the runner's current claim in outbound.db, the claimed row's sender
// in inbound.db, the sender's user in the central database. Unknown (a task, another agent, files
// not there yet) is null, never an error. A user merged into another one is that other one now: their
// calls count (and are limited) as the person they were merged into.
import type { Db } from '../../db/connection.ts';
import { chatContent, parseContent } from '../../shared/session-content.ts';
import { findUserByIdentity, getUser, type User } from '../../db/users.ts';
import { readClaimedChats, type SessionPaths } from '../sessions/index.ts';

export function currentUserOf(db: Db, paths: SessionPaths): string | null {
  for (const row of readClaimedChats(paths)) {
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
