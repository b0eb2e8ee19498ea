// The stores besides the session databases that may hold a person's words (data-rights.ts): the
// provider's conversation state in outbound.db, the Claude binary's transcripts and state under the
// session's home folder, the agent's work files, the files the web chat served, container logs,
// and the agent group's memory files. Everything under a session's out/ and home/ was written by a
// hostile container (DESIGN §10), so walking and removing there never follows a symlink (lstat),
// touches only regular files and real directories inside the folder's real path, is bounded in
// entries and depth, and reads no file's contents. Callers do it only while the container is stopped.
import { createHash } from 'node:crypto';
import { lstatSync, opendirSync, realpathSync, rmdirSync, unlinkSync } from 'node:fs';
import { join, sep } from 'node:path';
import { withSessionFile, type SessionPaths } from './files.ts';

/** Entries looked at per walk; a folder holding more is reported as truncated. */
export const MAX_WALK_ENTRIES = 20_000;
const MAX_DEPTH = 32;

/** session_state keys holding a provider's conversation (the runner's openai-history.ts and claude.ts). */
export const CONVERSATION_STATE_KEYS = ['openai_history', 'claude_session'] as const;

/** Under the session's home folder: the Claude binary's own state (transcripts, history, todos). */
const CLAUDE_STATE = ['.claude', '.claude.json', '.claude.json.backup'];

export interface StoredFile {
  path: string;
  bytes: number;
}

export interface Walk {
  files: StoredFile[];
  /** Real directories, deepest first (the order to remove them in). */
  dirs: string[];
  /** Entries not touched: symlinks, FIFOs, sockets, devices, or anything outside the folder. */
  skipped: { path: string; kind: string }[];
  truncated: boolean;
}

const emptyWalk = (): Walk => ({ files: [], dirs: [], skipped: [], truncated: false });

/**
 * Regular files under `start` (a file or a directory), never following a symlink; `within` is the
 * folder everything must be inside (its real path is compared, so a symlinked parent is refused).
 */
export function walkRegular(start: string, within: string): Walk {
  const walk = emptyWalk();
  let realWithin: string;
  try {
    realWithin = realpathSync(within);
  } catch {
    return walk; // nothing there
  }
  let seen = 0;
  const visit = (path: string, depth: number): void => {
    if (++seen > MAX_WALK_ENTRIES) {
      walk.truncated = true;
      return;
    }
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return; // gone
    }
    if (st.isFile()) {
      walk.files.push({ path, bytes: st.size });
      return;
    }
    if (!st.isDirectory()) {
      walk.skipped.push({ path, kind: st.isSymbolicLink() ? 'symlink' : 'special file' });
      return;
    }
    if (depth > MAX_DEPTH) {
      walk.truncated = true;
      return;
    }
    // Entry by entry: a folder a container filled with millions of names is never listed whole.
    const dir = opendirSync(path);
    try {
      for (let entry = dir.readSync(); entry && !walk.truncated; entry = dir.readSync()) {
        visit(join(path, entry.name), depth + 1);
      }
    } finally {
      dir.closeSync();
    }
    walk.dirs.push(path);
  };
  let realStart: string;
  try {
    if (lstatSync(start).isSymbolicLink()) {
      walk.skipped.push({ path: start, kind: 'symlink' });
      return walk;
    }
    realStart = realpathSync(start);
  } catch {
    return walk;
  }
  if (realStart !== realWithin && !realStart.startsWith(realWithin + sep)) {
    walk.skipped.push({ path: start, kind: 'outside its folder' });
    return walk;
  }
  visit(start, 0);
  return walk;
}

/** Removes what a walk found: its regular files, then its directories once empty. Files removed. */
export function removeWalk(walk: Walk): number {
  let removed = 0;
  for (const file of walk.files) {
    try {
      if (!lstatSync(file.path).isFile()) continue;
      unlinkSync(file.path);
      removed++;
    } catch {
      // gone meanwhile
    }
  }
  for (const dir of walk.dirs) {
    try {
      rmdirSync(dir); // only an empty real directory; one still holding a skipped entry stays
    } catch {
      // not empty (a skipped entry) or gone
    }
  }
  return removed;
}

const merge = (walks: Walk[]): Walk => ({
  files: walks.flatMap((w) => w.files),
  dirs: walks.flatMap((w) => w.dirs),
  skipped: walks.flatMap((w) => w.skipped),
  truncated: walks.some((w) => w.truncated),
});

/** The Claude binary's transcripts and state in the session's home folder. */
export function claudeStateOf(paths: SessionPaths): Walk {
  const home = paths.home;
  return merge(CLAUDE_STATE.map((name) => walkRegular(join(home, name), home)));
}

/** Everything else in the session's home folder (the agent's work files): reported, not removed. */
export function homeFilesOf(paths: SessionPaths): Walk {
  const home = paths.home;
  const all = walkRegular(home, home);
  const state = CLAUDE_STATE.map((name) => join(home, name));
  const isState = (p: string) => state.some((s) => p === s || p.startsWith(s + sep));
  return {
    files: all.files.filter((f) => !isState(f.path)),
    dirs: [],
    skipped: all.skipped.filter((s) => !isState(s.path)),
    truncated: all.truncated,
  };
}

/** Provider conversation state in outbound.db: key and size of each entry present. */
export function conversationStateOf(paths: SessionPaths): { key: string; bytes: number }[] {
  return withSessionFile(paths, 'outbound', 'read', (db) =>
    db
      .prepare(
        `SELECT key, length(CAST(value AS BLOB)) AS bytes FROM session_state
         WHERE key IN (SELECT value FROM json_each(?)) ORDER BY key`,
      )
      .all(JSON.stringify(CONVERSATION_STATE_KEYS)),
  ) as { key: string; bytes: number }[];
}

/** Drops the provider's conversation: the next turn starts afresh. Entries removed. */
export function dropConversationState(paths: SessionPaths): number {
  return withSessionFile(
    paths,
    'outbound',
    'write',
    (db) =>
      db
        .prepare('DELETE FROM session_state WHERE key IN (SELECT value FROM json_each(?))')
        .run(JSON.stringify(CONVERSATION_STATE_KEYS)).changes,
  );
}

/** The agent's outgoing files of one message (out/outbox/<id>); ids from outbound.db are checked first. */
export function outboxOf(paths: SessionPaths, messageOutId: string): Walk {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(messageOutId)) return emptyWalk();
  return walkRegular(join(paths.outbox, messageOutId), paths.outDir);
}

/** The folder the web chat transport copied a sent message's files into (channels/adapters/webchat/file-store.ts). */
export function servedFilesOf(dataDir: string, channel: string, chatId: string, eventId: string): Walk {
  const folder = createHash('sha256').update(`${chatId}\0${eventId}`).digest('base64url').slice(0, 22);
  const channelDir = join(dataDir, 'files', channel);
  return walkRegular(join(channelDir, folder), channelDir);
}

/** The session's container log and its rotated predecessor (data/logs/sessions/<id>.log[.1]). */
export function sessionLogsOf(dataDir: string, sessionId: string): Walk {
  const dir = join(dataDir, 'logs', 'sessions');
  return merge([`${sessionId}.log`, `${sessionId}.log.1`].map((name) => walkRegular(join(dir, name), dir)));
}

/** The agent group's own files (AGENT.md, memory/, …): reported, never edited. */
export function groupFilesOf(groupsDir: string, folder: string): Walk {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(folder) || folder.startsWith('.')) return emptyWalk();
  return walkRegular(join(groupsDir, folder), groupsDir);
}

/**
 * Rewrites both session files without their free pages: deleted rows (and every older version of a
 * provider's conversation state) stay readable in a SQLite file's free pages until it is vacuumed.
 */
export function compactSessionFiles(paths: SessionPaths): void {
  for (const file of ['inbound', 'outbound'] as const) {
    withSessionFile(paths, file, 'write', (db) => db.exec('VACUUM'));
  }
}
