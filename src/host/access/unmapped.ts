// Accounts that spoke but belong to no person the operator knows (`warren users unmapped`, the admin
// API). The router makes a user for an unknown account on its first message (identity.ts); until an
// operator merges it into someone, links another account to it or makes it owner or admin, it stays
// such a stand-in.
// Read-only, central database only: messages that reached a session live in session files, so the
// counts and times here are what the central database recorded.
import type { Db } from '../../db/connection.ts';
import type { UserKind } from '../../db/enums.ts';

/**
 * An unmapped account: a platform account whose user
 * - was made by the router on the account's first message (identity_events: created by 'router'),
 * - has that account and no other, holds no owner or admin role, is active (not suspended), not merged.
 * Suspending it, making it owner or admin, linking another account to it or merging it maps it. A
 * membership of an agent group says the account may talk, not who it is: it does not map it.
 */
export interface UnmappedAccount {
  /** `KIND:EXTERNAL_ID`, as every `warren users` command takes it. */
  account: string;
  kind: string;
  externalId: string;
  /** The stand-in user the router made for it. */
  userId: string;
  /** The name the platform gave, if any. */
  displayName: string | null;
  userKind: UserKind;
  /** Its first message: when the router made its user. */
  firstSeenAt: string;
  /** The latest of: its first message, its last dropped message, the last model call made to answer it. */
  lastSeenAt: string;
  /** Its messages that were not routed (dropped_messages); routed ones are only in session files. */
  droppedMessages: number;
  /** Agent groups it may talk to as a member (an admin let it in), by folder. */
  memberOf: string[];
  /** Known people with the same name (case and spacing ignored): the likely person behind it. */
  likelyPeople: { userId: string; displayName: string }[];
  /** The one command that maps it: a merge into the likely person, or into a user the operator picks. */
  command: string;
}

export interface UnmappedQuery {
  /** At most this many, the most recently seen first (default: all). */
  limit?: number;
}

interface Row {
  kind: string;
  externalId: string;
  userId: string;
  displayName: string | null;
  userKind: UserKind;
  firstSeenAt: string;
  lastDroppedAt: string | null;
  lastCallAt: string | null;
  droppedMessages: number;
  memberOf: string;
}

const UNMAPPED = `
  SELECT i.kind, i.external_id AS externalId, u.id AS userId,
    coalesce(i.display_name, u.display_name) AS displayName, u.kind AS userKind, i.created_at AS firstSeenAt,
    (SELECT max(d.last_at) FROM dropped_messages d
      WHERE d.channel_type = i.kind AND d.sender_id = i.external_id) AS lastDroppedAt,
    (SELECT ifnull(sum(d.count), 0) FROM dropped_messages d
      WHERE d.channel_type = i.kind AND d.sender_id = i.external_id) AS droppedMessages,
    (SELECT max(m.created_at) FROM model_usage m WHERE m.user_id = u.id) AS lastCallAt,
    (SELECT json_group_array(g.folder) FROM agent_group_members am
      JOIN agent_groups g ON g.id = am.agent_group_id WHERE am.user_id = u.id) AS memberOf
  FROM users u JOIN user_identities i ON i.user_id = u.id
  WHERE u.merged_into IS NULL AND u.status = 'active'
    AND (SELECT count(*) FROM user_identities x WHERE x.user_id = u.id) = 1
    AND NOT EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id)
    AND EXISTS (SELECT 1 FROM identity_events e
      WHERE e.user_id = u.id AND e.event = 'created' AND e.actor = 'router')`;

/** Every unmapped account (see UnmappedAccount), the most recently seen first. */
export function listUnmappedAccounts(db: Db, query: UnmappedQuery = {}): UnmappedAccount[] {
  const rows = (db.prepare(UNMAPPED).all() as Row[]).map(withLastSeen);
  rows.sort((a, b) => b.lastSeenAt.localeCompare(a.lastSeenAt) || a.account.localeCompare(b.account));
  const unmapped = new Set(rows.map((r) => r.userId));
  const known = knownPeopleByName(db, unmapped);
  const listed = query.limit === undefined ? rows : rows.slice(0, Math.max(0, query.limit));
  return listed.map((row) => {
    const likelyPeople =
      row.userKind === 'person' && row.displayName ? (known.get(nameKey(row.displayName)) ?? []) : [];
    const into = likelyPeople.length === 1 ? likelyPeople[0]!.userId : 'USER';
    return { ...row, likelyPeople, command: `warren users merge ${row.userId} ${into}` };
  });
}

function withLastSeen(row: Row): Omit<UnmappedAccount, 'likelyPeople' | 'command'> {
  const { lastDroppedAt, lastCallAt, memberOf, ...rest } = row;
  const seen = [row.firstSeenAt, lastDroppedAt, lastCallAt].filter((t): t is string => t !== null);
  return {
    ...rest,
    account: `${row.kind}:${row.externalId}`,
    lastSeenAt: seen.reduce((a, b) => (b > a ? b : a)),
    memberOf: JSON.parse(memberOf) as string[],
  };
}

/** People the operator knows (not merged, not themselves unmapped), by their names and their accounts' names. */
function knownPeopleByName(
  db: Db,
  unmapped: Set<string>,
): Map<string, { userId: string; displayName: string }[]> {
  const rows = db
    .prepare(
      `SELECT u.id AS userId, u.display_name AS displayName, u.display_name AS name
         FROM users u WHERE u.merged_into IS NULL AND u.kind = 'person' AND u.display_name IS NOT NULL
       UNION
       SELECT u.id, coalesce(u.display_name, i.display_name), i.display_name
         FROM users u JOIN user_identities i ON i.user_id = u.id
         WHERE u.merged_into IS NULL AND u.kind = 'person' AND i.display_name IS NOT NULL
       ORDER BY 1`,
    )
    .all() as { userId: string; displayName: string; name: string }[];
  const byName = new Map<string, { userId: string; displayName: string }[]>();
  for (const { userId, displayName, name } of rows) {
    if (unmapped.has(userId)) continue;
    const key = nameKey(name);
    const people = byName.get(key) ?? [];
    if (!people.some((p) => p.userId === userId)) people.push({ userId, displayName });
    byName.set(key, people);
  }
  return byName;
}

/** Names compare without case and extra spaces: "ana  Lima" is "Ana Lima". */
function nameKey(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLowerCase();
}
