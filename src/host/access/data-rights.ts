// Data rights (DESIGN §7): everything Warren holds about one person, as one JSON document, and its
// deletion with per-table counts. "One person" is the user and every user merged into them. Central
// rows are found by user id or platform account; session rows are the chat messages they sent
// (messages_in) and the replies to those messages (messages_out), in every session's files; web chat
// events are what the web chat transport's replay buffers hold of theirs (chat-buffers.ts). Other stores
// of those sessions that may hold their words (provider conversation state, Claude transcripts, files
// served to chats, container logs) go on delete; the agent's work files and the group's memory files
// are reported, never edited (sessions/stores.ts). A delete holds each session it touches (no container
// starts for it) from before it looks at the container until it is done (sessions/lock.ts).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { appendAuditEvent } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import { getUser } from '../../db/users.ts';
import {
  lockSession,
  sessionPaths,
  SessionLockedError,
  deleteSentRows,
  readChannelChatRows,
  readSentRows,
  type SenderKeys,
  type SessionPaths,
} from '../sessions/index.ts';
import {
  BUFFERED_CHANNELS,
  findTheirEvents,
  removeTheirEvents,
  type BufferedChat,
  type ChatFacts,
} from './chat-buffers.ts';
import { UnknownUserError } from './identity.ts';
import {
  claudeStateOf,
  compactSessionFiles,
  conversationStateOf,
  dropConversationState,
  groupFilesOf,
  homeFilesOf,
  outboxOf,
  removeWalk,
  servedFilesOf,
  sessionLogsOf,
  type Walk,
} from '../sessions/index.ts';

export const EXPORT_FORMAT = 'warren.user-export/1';

/** Who the rows belong to: the user ids (the user and those merged into them) and their accounts. */
export interface Person {
  userId: string;
  userIds: string[];
  accounts: { kind: string; externalId: string }[];
}

export interface SessionData {
  sessionId: string;
  agentGroupId: string;
  messagesIn: Record<string, unknown>[];
  messagesOut: Record<string, unknown>[];
}

export interface UserExport {
  format: typeof EXPORT_FORMAT;
  userId: string;
  exportedAt: string;
  /** Rows per central table, columns as stored (secret hashes left out). */
  central: Record<string, Record<string, unknown>[]>;
  /** Only sessions that hold something of theirs. */
  sessions: SessionData[];
  /** Sessions whose files could not be read (named, so the export is never silently partial). */
  unreadableSessions: { sessionId: string; error: string }[];
  /** Events the web chat transport (`webchat`, `cli` channels) keeps to replay a chat: theirs, per chat. */
  webchatEvents: BufferedChat[];
  /**
   * Other stores of the sessions holding their messages that may contain their words (mixed with
   * others'), by path: what a delete removes (`onDelete: 'removed'`) and what it only reports.
   */
  stores: StoreEntry[];
}

export type StoreKind =
  /** outbound.db session_state: the openai provider's history, the claude provider's resume id. */
  | 'conversation_state'
  /** The Claude binary's transcripts and state under the session's home folder. */
  | 'claude_state'
  /** Files the agent sent with its replies to them (out/outbox/<id>/). */
  | 'outbox'
  /** Copies of those files the web chat served (data/files/<channel>/<folder>/). */
  | 'served_file'
  /** The session's container log (data/logs/sessions/<id>.log, .log.1). */
  | 'session_log'
  /** The agent's own files in the session's home folder (its work folder, caches). */
  | 'agent_file'
  /** The agent group's folder: AGENT.md, memory/, anything the agent keeps there. */
  | 'group_file'
  /** A symlink or special file in a folder above: never followed or touched. */
  | 'skipped_entry';

export interface StoreEntry {
  store: StoreKind;
  sessionId: string | null;
  /** A file path, or `<outbound.db>#session_state/<key>` for a conversation state entry. */
  path: string;
  bytes: number | null;
  onDelete: 'removed' | 'reported';
}

export interface DeletionResult {
  counts: DeletionCounts;
  /** Stores that may still hold their words and were left as they are (paths), and anything skipped. */
  reported: StoreEntry[];
  /** A listing stopped at its bound (MAX_WALK_ENTRIES): there may be more than `reported` names. */
  truncated: boolean;
}

export interface DataRightsOptions {
  /** The agent groups' folders (config groupsDir): their files are reported. */
  groupsDir?: string;
  /** How long a delete waits for a running container of a session to stop (default 5 minutes). */
  waitMs?: number;
  /** Time source for locks (default: the machine's clock). */
  clock?: () => Date;
}

/** A walk a delete removes, and what it is. */
interface Removal {
  walk: Walk;
  store: StoreKind;
}

/** The count each removed store's files are added to. */
const REMOVAL_COUNT: Partial<Record<StoreKind, string>> = {
  claude_state: 'session_files.claude_state_files',
  served_file: 'served_files',
  session_log: 'session_logs',
};

const DEFAULT_WAIT_MS = 5 * 60_000;
const WAIT_POLL_MS = 200;

/** Table name → rows removed (session rows under `session_files.*`). */
export type DeletionCounts = Record<string, number>;

const IDS = `(SELECT value FROM json_each(@ids))`;
const ACCOUNT = `EXISTS (SELECT 1 FROM json_each(@accounts) a
  WHERE json_extract(a.value, '$.kind') = channel_type AND json_extract(a.value, '$.externalId') = sender_id)`;

/**
 * Central rows held about the person, by table. Each entry is the table, what selects their rows, and
 * what deleting does: remove the row, or (where the row is someone else's record too) forget them in it.
 */
interface CentralPart {
  table: string;
  /** The key in the export (a table can appear twice, e.g. approvals requested and decided). */
  key: string;
  where: string;
  /** Columns never exported (hashes of secrets). */
  omit?: string[];
  onDelete: { delete: true } | { set: string };
}

const CENTRAL: CentralPart[] = [
  { table: 'users', key: 'users', where: `id IN ${IDS}`, onDelete: { delete: true } },
  {
    table: 'user_identities',
    key: 'user_identities',
    where: `user_id IN ${IDS}`,
    onDelete: { delete: true },
  },
  {
    table: 'identity_events',
    key: 'identity_events',
    where: `user_id IN ${IDS}`,
    onDelete: { delete: true },
  },
  { table: 'user_roles', key: 'user_roles', where: `user_id IN ${IDS}`, onDelete: { delete: true } },
  {
    table: 'agent_group_members',
    key: 'agent_group_members',
    where: `user_id IN ${IDS}`,
    onDelete: { delete: true },
  },
  { table: 'user_dms', key: 'user_dms', where: `user_id IN ${IDS}`, onDelete: { delete: true } },
  {
    table: 'api_tokens',
    key: 'api_tokens',
    where: `user_id IN ${IDS}`,
    omit: ['token_hash'],
    onDelete: { delete: true },
  },
  {
    table: 'binding_tokens',
    key: 'binding_tokens',
    where: `user_id IN ${IDS}`,
    omit: ['token_hash'],
    onDelete: { delete: true },
  },
  // Web chat sign-in (web-sign-in.ts): login links made for them and the browsers signed in as them.
  {
    table: 'login_links',
    key: 'login_links',
    where: `user_id IN ${IDS}`,
    omit: ['link_hash'],
    onDelete: { delete: true },
  },
  {
    table: 'web_browsers',
    key: 'web_browsers',
    where: `user_id IN ${IDS}`,
    omit: ['cookie_hash'],
    onDelete: { delete: true },
  },
  {
    table: 'approvals',
    key: 'approvals_requested',
    where: `requested_by IN ${IDS}`,
    onDelete: { delete: true },
  },
  {
    // Held messages are theirs; they go with the approval (ON DELETE CASCADE), counted first.
    table: 'approval_held_messages',
    key: 'approval_held_messages',
    where: `approval_id IN (SELECT id FROM approvals WHERE requested_by IN ${IDS})`,
    onDelete: { delete: true },
  },
  {
    // A decision stays on record for the requester; only who made it is forgotten.
    table: 'approvals',
    key: 'approvals_decided',
    where: `decided_by IN ${IDS} AND requested_by NOT IN ${IDS}`,
    onDelete: { set: `decided_by = 'deleted-user'` },
  },
  { table: 'approval_cards', key: 'approval_cards', where: `user_id IN ${IDS}`, onDelete: { delete: true } },
  {
    table: 'questions',
    key: 'questions_answered',
    where: `answered_by IN ${IDS}`,
    onDelete: { set: `answer = NULL, answered_by = NULL` },
  },
  { table: 'dropped_messages', key: 'dropped_messages', where: ACCOUNT, onDelete: { delete: true } },
  {
    table: 'audit_events',
    key: 'audit_events',
    where: `(target_kind = 'user' AND target_id IN ${IDS}) OR actor IN ${IDS}`,
    onDelete: { delete: true },
  },
  // The token counts stay (they are the agent group's budget for today); who asked is forgotten.
  {
    table: 'model_usage',
    key: 'model_usage',
    where: `user_id IN ${IDS}`,
    onDelete: { set: 'user_id = NULL' },
  },
];

/** The person behind a user id; throws UnknownUserError. */
export function personOf(db: Db, userId: string): Person {
  if (!getUser(db, userId)) throw new UnknownUserError(userId);
  const userIds = db
    .prepare(
      `WITH RECURSIVE merged(id) AS (SELECT ? UNION SELECT u.id FROM users u JOIN merged m ON u.merged_into = m.id)
       SELECT id FROM merged`,
    )
    .pluck()
    .all(userId) as string[];
  const accounts = db
    .prepare(
      `SELECT kind, external_id AS externalId FROM user_identities WHERE user_id IN (SELECT value FROM json_each(?))`,
    )
    .all(JSON.stringify(userIds)) as Person['accounts'];
  return { userId, userIds, accounts };
}

export function exportUser(
  db: Db,
  dataDir: string,
  userId: string,
  actor: string,
  now: string,
  options: DataRightsOptions = {},
): UserExport {
  const person = personOf(db, userId);
  const params = paramsOf(person);
  const central: UserExport['central'] = {};
  for (const part of CENTRAL) {
    const rows = db.prepare(`SELECT * FROM ${part.table} WHERE ${part.where}`).all(params) as Record<
      string,
      unknown
    >[];
    central[part.key] = rows.map((row) => withoutColumns(row, part.omit));
  }
  const sessions: SessionData[] = [];
  const unreadableSessions: UserExport['unreadableSessions'] = [];
  for (const session of allSessions(db, dataDir)) {
    try {
      const data = readSentRows(session.paths, senderKeysOf(person));
      if (data.messagesIn.length + data.messagesOut.length > 0)
        sessions.push({ sessionId: session.id, agentGroupId: session.agentGroupId, ...data });
    } catch (err) {
      unreadableSessions.push({ sessionId: session.id, error: (err as Error).message });
    }
  }
  const readable = allSessions(db, dataDir).filter(
    (s) => existsSync(s.paths.inbound) && !unreadableSessions.some((u) => u.sessionId === s.id),
  );
  const doc: UserExport = {
    format: EXPORT_FORMAT,
    userId,
    exportedAt: now,
    central,
    sessions,
    unreadableSessions,
    webchatEvents: [],
    stores: [],
  };
  const facts = chatFactsOf(db, readable, person);
  doc.webchatEvents = findTheirEvents(dataDir, facts);
  const holding = readable.filter((s) => sessions.some((d) => d.sessionId === s.id));
  doc.stores = storesOf(db, dataDir, holding, facts, options.groupsDir, []).entries;
  appendAuditEvent(
    db,
    {
      actor,
      action: 'user.exported',
      targetKind: 'user',
      targetId: userId,
      detail: { sessions: sessions.length, unreadableSessions: unreadableSessions.length },
    },
    now,
  );
  return doc;
}

export class DeletionRefusedError extends Error {
  override name = 'DeletionRefusedError';
}

/**
 * Deletes everything `exportUser` finds. Each session holding their messages is locked first (the host
 * starts no container for it until the delete ends) and its container must be stopped: with the host
 * running, the delete waits for it to exit (up to `waitMs`); otherwise it is refused before anything
 * changes. Then the session files and the stores beside them, then the web chat buffers (refused while
 * the host runs: it keeps them in memory and would write them back), then every central row in one
 * transaction. The audit row it leaves names no one: counts and the id's hash.
 */
export async function deleteUser(
  db: Db,
  dataDir: string,
  userId: string,
  actor: string,
  now: string,
  hostRunning: () => Promise<boolean>,
  options: DataRightsOptions = {},
): Promise<DeletionResult> {
  const clock = options.clock ?? (() => new Date());
  const person = personOf(db, userId);
  const sessions = allSessions(db, dataDir).filter((s) => existsSync(s.paths.inbound));
  const holding = sessions.filter((s) => {
    const data = readSentRows(s.paths, senderKeysOf(person));
    return data.messagesIn.length + data.messagesOut.length > 0;
  });
  const releases: (() => void)[] = [];
  try {
    for (const session of holding) {
      try {
        releases.push(lockSession(session.id, session.paths.root, 'warren users delete', clock()));
      } catch (err) {
        if (err instanceof SessionLockedError)
          throw new DeletionRefusedError(`${err.message}. Nothing was deleted.`);
        throw err;
      }
    }
    const hostUp = await hostRunning();
    await untilStopped(db, holding, hostUp, options.waitMs ?? DEFAULT_WAIT_MS);
    return await deleteLocked(db, dataDir, person, sessions, holding, actor, now, hostUp, options);
  } finally {
    for (const release of releases) release();
  }
}

/** Waits for the sessions' containers to be stopped; refuses when they do not stop (or cannot, host down). */
async function untilStopped(
  db: Db,
  holding: { id: string }[],
  hostUp: boolean,
  waitMs: number,
): Promise<void> {
  // Prepared at each use, not held across the waits: statements are shared per SQL text (statement-cache.ts).
  const status = (id: string) =>
    db.prepare('SELECT container_status FROM sessions WHERE id = ?').pluck().get(id);
  const live = () => holding.filter((s) => status(s.id) !== 'stopped').map((s) => s.id);
  const deadline = Date.now() + waitMs;
  let running = live();
  // With the host up, a held session's container ends at its idle exit and none starts again.
  while (running.length > 0 && hostUp && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
    running = live();
  }
  if (running.length > 0) {
    throw new DeletionRefusedError(
      `session(s) ${running.join(', ')} hold this user's messages and their container is running` +
        (hostUp
          ? ` (still, after ${Math.round(waitMs / 1000)} s); try again when they are idle. `
          : '; start the host so it can stop and recover them, or wait until they are idle, then delete again. ') +
        'Nothing was deleted.',
    );
  }
}

async function deleteLocked(
  db: Db,
  dataDir: string,
  person: Person,
  sessions: ReturnType<typeof allSessions>,
  holding: ReturnType<typeof allSessions>,
  actor: string,
  now: string,
  hostUp: boolean,
  options: DataRightsOptions,
): Promise<DeletionResult> {
  const facts = chatFactsOf(db, sessions, person);
  const buffered = findTheirEvents(dataDir, facts);
  if (buffered.length > 0 && hostUp) {
    throw new DeletionRefusedError(
      `${buffered.length} web chat buffer(s) hold events of this user and the host is running; it keeps them ` +
        'in memory and would write them back: stop the host, then delete again. Nothing was deleted.',
    );
  }
  const counts: DeletionCounts = {};
  const add = (key: string, n: number) => (counts[key] = (counts[key] ?? 0) + n);
  const removed: Removal[] = [];
  const stores = storesOf(db, dataDir, holding, facts, options.groupsDir, removed);
  for (const session of holding) {
    const deleted = deleteSentRows(session.paths, senderKeysOf(person));
    for (const [key, n] of Object.entries(deleted.counts)) add(`session_files.${key}`, n);
    for (const id of deleted.inboundIds)
      await rm(join(session.paths.inbox, id), { recursive: true, force: true });
    for (const id of deleted.outboundIds)
      add('session_files.outbox_files', removeWalk(outboxOf(session.paths, id)));
    if (deleted.outboundIds.length > 0) {
      add(
        'delivery_attempts',
        db
          .prepare(
            `DELETE FROM delivery_attempts WHERE session_id = ? AND message_out_id IN (SELECT value FROM json_each(?))`,
          )
          .run(session.id, JSON.stringify(deleted.outboundIds)).changes,
      );
    }
    add('session_files.conversation_state', dropConversationState(session.paths));
    compactSessionFiles(session.paths);
  }
  for (const { walk, store } of removed) add(REMOVAL_COUNT[store] ?? store, removeWalk(walk));
  const removedEvents = await removeTheirEvents(dataDir, buffered);
  for (const channel of BUFFERED_CHANNELS) add(`${channel}_events`, removedEvents[channel] ?? 0);
  const params = paramsOf(person);
  db.transaction(() => {
    // Children before parents, in the listed order; the users row goes last so nothing cascades unseen.
    for (const part of [...CENTRAL].sort((a, b) => orderOf(a) - orderOf(b))) {
      const sql =
        'delete' in part.onDelete
          ? `DELETE FROM ${part.table} WHERE ${part.where}`
          : `UPDATE ${part.table} SET ${part.onDelete.set} WHERE ${part.where}`;
      add(part.key, db.prepare(sql).run(params).changes);
    }
    appendAuditEvent(
      db,
      {
        actor,
        action: 'user.deleted',
        targetKind: 'user',
        payloadHash: sha256(person.userId),
        detail: {
          counts: { ...counts },
          reported: stores.entries.filter((e) => e.onDelete === 'reported').length,
        },
      },
      now,
    );
  }).immediate();
  return {
    counts,
    reported: stores.entries.filter((e) => e.onDelete === 'reported'),
    truncated: stores.truncated,
  };
}

/**
 * The stores beside the session files of `holding` (sessions with their messages), as entries; the
 * walks of what a delete removes are pushed onto `toRemove`, each tagged with its kind.
 */
function storesOf(
  db: Db,
  dataDir: string,
  holding: { id: string; agentGroupId: string; paths: SessionPaths }[],
  facts: ChatFacts,
  groupsDir: string | undefined,
  toRemove: Removal[],
): { entries: StoreEntry[]; truncated: boolean } {
  const entries: StoreEntry[] = [];
  let truncated = false;
  const take = (walk: Walk, store: StoreKind, sessionId: string | null, onDelete: StoreEntry['onDelete']) => {
    truncated ||= walk.truncated;
    for (const f of walk.files) entries.push({ store, sessionId, path: f.path, bytes: f.bytes, onDelete });
    for (const s of walk.skipped)
      entries.push({
        store: 'skipped_entry',
        sessionId,
        path: `${s.path} (${s.kind})`,
        bytes: null,
        onDelete: 'reported',
      });
    if (onDelete === 'removed') toRemove.push({ walk, store });
  };
  for (const session of holding) {
    for (const state of conversationStateOf(session.paths)) {
      entries.push({
        store: 'conversation_state',
        sessionId: session.id,
        path: `${session.paths.outbound}#session_state/${state.key}`,
        bytes: state.bytes,
        onDelete: 'removed',
      });
    }
    take(claudeStateOf(session.paths), 'claude_state', session.id, 'removed');
    take(sessionLogsOf(dataDir, session.id), 'session_log', session.id, 'removed');
    take(homeFilesOf(session.paths), 'agent_file', session.id, 'reported');
  }
  for (const message of facts.messages) {
    if (!message.mine) continue;
    for (const eventId of message.replyEventIds) {
      const sessionId = eventId.split(':')[0] ?? null;
      take(
        servedFilesOf(dataDir, message.chat.channel, message.chat.chatId, eventId),
        'served_file',
        sessionId,
        'removed',
      );
    }
  }
  if (groupsDir) {
    const groups = [...new Set(holding.map((s) => s.agentGroupId))];
    for (const id of groups) {
      const folder = db.prepare('SELECT folder FROM agent_groups WHERE id = ?').pluck().get(id) as
        string | undefined;
      if (folder) take(groupFilesOf(groupsDir, folder), 'group_file', null, 'reported');
    }
  }
  return { entries, truncated };
}

/**
 * What the session files and central rows say about chats on the buffered channels: every chat message
 * there (theirs or not, with the event ids of the replies to theirs), cards sent to them, and who has
 * which chat as a direct chat.
 */
function chatFactsOf(db: Db, sessions: { id: string; paths: SessionPaths }[], person: Person): ChatFacts {
  const sender = senderKeysOf(person);
  const messages = sessions.flatMap((session) =>
    readChannelChatRows(session.paths, sender, BUFFERED_CHANNELS).map((r) => ({
      chat: { channel: r.channel, chatId: r.chatId },
      platformMessageId: r.platformMessageId,
      mine: r.mine,
      replyEventIds: r.replyIds.map((id) => `${session.id}:${id}`),
    })),
  );
  const central = { ids: JSON.stringify(person.userIds), channels: JSON.stringify(BUFFERED_CHANNELS) };
  const directChats = (mine: boolean) =>
    db
      .prepare(
        `SELECT mg.channel_type AS channel, mg.platform_id AS chatId FROM user_dms d
           JOIN messaging_groups mg ON mg.id = d.messaging_group_id
         WHERE d.user_id ${mine ? '' : 'NOT'} IN ${IDS} AND mg.channel_type IN (SELECT value FROM json_each(@channels))`,
      )
      .all(central) as ChatFacts['directChats'];
  const sentToThem = db
    .prepare(
      `SELECT channel_type AS channel, chat_id AS chatId, platform_message_id AS eventId FROM approval_cards
       WHERE user_id IN ${IDS} AND platform_message_id IS NOT NULL
         AND channel_type IN (SELECT value FROM json_each(@channels))`,
    )
    .all(central) as ChatFacts['sentToThem'];
  return { messages, sentToThem, directChats: directChats(true), othersDirectChats: directChats(false) };
}

/** Their user ids and accounts as the session files name a sender. */
function senderKeysOf(person: Person): SenderKeys {
  return { userIds: person.userIds, accounts: person.accounts.map((a) => `${a.kind}:${a.externalId}`) };
}

function paramsOf(person: Person) {
  return { ids: JSON.stringify(person.userIds), accounts: JSON.stringify(person.accounts) };
}

/** Deletion order: rows that reference the user's approvals or the user itself go before them. */
function orderOf(part: CentralPart): number {
  if (part.key === 'approval_held_messages') return 0;
  if (part.table === 'users') return 2;
  return 1;
}

function allSessions(db: Db, dataDir: string) {
  const rows = db
    .prepare(
      'SELECT id, agent_group_id AS agentGroupId, container_status AS containerStatus FROM sessions ORDER BY created_at, id',
    )
    .all() as { id: string; agentGroupId: string; containerStatus: string }[];
  return rows.map((r) => ({ ...r, paths: sessionPaths(dataDir, r.agentGroupId, r.id) }));
}

function withoutColumns(row: Record<string, unknown>, omit: string[] = []): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([key]) => !omit.includes(key)));
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
