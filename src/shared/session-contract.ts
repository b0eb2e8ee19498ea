// The session file contract (DESIGN §3), shared by the host and the agent runner.
// Both sides create, open and parse session files only through what this module exports.
// Columns may be added; none are renamed or removed without migrating existing session files.
// What a row's content may hold is in session-content.ts.
import { existsSync } from 'node:fs';
import Sqlite from 'better-sqlite3';
import { errorText } from './error-text.ts';

export type SessionDb = Sqlite.Database;

export const SESSION_SCHEMA_VERSION = 1;

/** Pragmas for both files. DELETE journal: WAL shared memory does not cross VM-backed mounts. */
export const SESSION_PRAGMAS = [
  'journal_mode = DELETE',
  'synchronous = FULL',
  'busy_timeout = 5000',
] as const;

export const MESSAGE_IN_KINDS = ['chat', 'task', 'system', 'agent'] as const;
export type MessageInKind = (typeof MESSAGE_IN_KINDS)[number];
export const MESSAGE_IN_STATUSES = ['pending', 'completed', 'failed', 'paused', 'cancelled'] as const;
export type MessageInStatus = (typeof MESSAGE_IN_STATUSES)[number];
export const MESSAGE_OUT_KINDS = ['chat', 'agent', 'system'] as const;
export type MessageOutKind = (typeof MESSAGE_OUT_KINDS)[number];
export const ACK_STATUSES = ['processing', 'completed', 'failed'] as const;
export type AckStatus = (typeof ACK_STATUSES)[number];
export const DELIVERED_STATUSES = ['delivered', 'failed', 'skipped'] as const;
export type DeliveredStatus = (typeof DELIVERED_STATUSES)[number];
export const DESTINATION_KINDS = ['channel', 'agent'] as const;
export type DestinationKind = (typeof DESTINATION_KINDS)[number];

/** `'a', 'b'`: a CHECK list written from its enum array, so the two cannot drift apart. */
const sqlList = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

export const INBOUND_DDL = `
CREATE TABLE IF NOT EXISTS messages_in (
  id                TEXT PRIMARY KEY,
  seq               INTEGER NOT NULL UNIQUE CHECK (seq > 0 AND seq % 2 = 0),
  kind              TEXT NOT NULL CHECK (kind IN (${sqlList(MESSAGE_IN_KINDS)})),
  timestamp         TEXT NOT NULL,
  status            TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN (${sqlList(MESSAGE_IN_STATUSES)})),
  process_after     TEXT,
  recurrence        TEXT,
  timezone          TEXT,
  series_id         TEXT,
  tries             INTEGER NOT NULL DEFAULT 0 CHECK (tries >= 0),
  trigger           INTEGER NOT NULL DEFAULT 1 CHECK (trigger IN (0, 1)),
  platform_id       TEXT,
  channel_type      TEXT,
  thread_id         TEXT,
  content           TEXT NOT NULL CHECK (json_valid(content)),
  source_session_id TEXT
);
CREATE INDEX IF NOT EXISTS messages_in_due ON messages_in(status, process_after);
CREATE TABLE IF NOT EXISTS delivered (
  message_out_id      TEXT PRIMARY KEY,
  platform_message_id TEXT,
  status              TEXT NOT NULL CHECK (status IN (${sqlList(DELIVERED_STATUSES)})),
  delivered_at        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS destinations (
  name           TEXT PRIMARY KEY,
  kind           TEXT NOT NULL CHECK (kind IN (${sqlList(DESTINATION_KINDS)})),
  channel_type   TEXT,
  platform_id    TEXT,
  agent_group_id TEXT
);
CREATE TABLE IF NOT EXISTS session_routing (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  channel_type TEXT,
  platform_id  TEXT,
  thread_id    TEXT
);
`;

/**
 * Indexes added after the first release. CREATE … IF NOT EXISTS: the host runs this whenever it opens
 * an inbound.db for writing, so files made by older code get them too. One row per task run: a
 * scheduled slot of a series is written at most once (manual runs are not slots).
 */
export const INBOUND_INDEXES = `
CREATE UNIQUE INDEX IF NOT EXISTS messages_in_task_slot
  ON messages_in(series_id, json_extract(content, '$.scheduledFor'))
  WHERE kind = 'task' AND json_extract(content, '$.manual') IS NULL;
CREATE INDEX IF NOT EXISTS messages_in_series ON messages_in(series_id) WHERE series_id IS NOT NULL;
`;

export const OUTBOUND_DDL = `
CREATE TABLE IF NOT EXISTS messages_out (
  id            TEXT PRIMARY KEY,
  seq           INTEGER NOT NULL UNIQUE CHECK (seq > 0 AND seq % 2 = 1),
  in_reply_to   TEXT,
  timestamp     TEXT NOT NULL,
  deliver_after TEXT,
  kind          TEXT NOT NULL CHECK (kind IN (${sqlList(MESSAGE_OUT_KINDS)})),
  platform_id   TEXT,
  channel_type  TEXT,
  thread_id     TEXT,
  content       TEXT NOT NULL CHECK (json_valid(content))
);
CREATE TABLE IF NOT EXISTS processing_ack (
  message_id     TEXT PRIMARY KEY,
  status         TEXT NOT NULL CHECK (status IN (${sqlList(ACK_STATUSES)})),
  status_changed TEXT NOT NULL,
  error          TEXT
);
CREATE TABLE IF NOT EXISTS session_state (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
`;

/** Tables each file must hold; opening a file without them is an error that names the session. */
export const INBOUND_TABLES = ['messages_in', 'delivered', 'destinations', 'session_routing'] as const;
export const OUTBOUND_TABLES = ['messages_out', 'processing_ack', 'session_state'] as const;

export type Parity = 'even' | 'odd';

/** The smallest seq of the given parity above everything either side has written. */
export function nextSeq(maxSeen: number, parity: Parity): number {
  const next = maxSeen + 1;
  const wantOdd = parity === 'odd';
  return (next % 2 === 1) === wantOdd ? next : next + 1;
}

export const parityOf = (seq: number): Parity => (seq % 2 === 0 ? 'even' : 'odd');

// ---- rows as stored ----

export interface MessageInRow {
  id: string;
  seq: number;
  kind: MessageInKind;
  timestamp: string;
  status: MessageInStatus;
  process_after: string | null;
  recurrence: string | null;
  timezone: string | null;
  series_id: string | null;
  tries: number;
  trigger: 0 | 1;
  platform_id: string | null;
  channel_type: string | null;
  thread_id: string | null;
  content: string;
  source_session_id: string | null;
}

export interface MessageOutRow {
  id: string;
  seq: number;
  in_reply_to: string | null;
  timestamp: string;
  deliver_after: string | null;
  kind: MessageOutKind;
  platform_id: string | null;
  channel_type: string | null;
  thread_id: string | null;
  content: string;
}

export interface AckRow {
  message_id: string;
  status: AckStatus;
  status_changed: string;
  error: string | null;
}

// ---- opening a session file (both sides) ----

export type SessionFileName = 'inbound' | 'outbound';

/** A session file that cannot be used. Names the session and the file, and says what happens next. */
export class SessionFileError extends Error {
  override name = 'SessionFileError';
  constructor(
    readonly sessionId: string,
    readonly file: SessionFileName,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`session ${sessionId}: ${file}.db ${reason}`, options);
  }
}

export interface OpenSessionFileOptions {
  sessionId: string;
  file: SessionFileName;
  path: string;
  readonly: boolean;
  /** Create the schema when missing (only the file's single writer does this, once). */
  create?: boolean;
}

/**
 * Opens one session file with the contract's pragmas and checks it holds the contract's tables.
 * A missing, non-SQLite, corrupt or foreign file becomes a SessionFileError naming the session.
 */
export function openSessionFile(opts: OpenSessionFileOptions): SessionDb {
  const tables = opts.file === 'inbound' ? INBOUND_TABLES : OUTBOUND_TABLES;
  if (!opts.create && !existsSync(opts.path)) {
    throw new SessionFileError(opts.sessionId, opts.file, `does not exist (${opts.path})`);
  }
  let db: SessionDb | undefined;
  try {
    db = new Sqlite(opts.path, { readonly: opts.readonly, fileMustExist: !opts.create });
    if (!opts.readonly) for (const pragma of SESSION_PRAGMAS) db.pragma(pragma);
    else db.pragma('busy_timeout = 5000');
    if (opts.create) {
      // One transaction: one commit (a few fsyncs) instead of one per statement, on the cold path.
      db.transaction(() => {
        db!.exec(opts.file === 'inbound' ? INBOUND_DDL : OUTBOUND_DDL);
        db!.pragma(`user_version = ${SESSION_SCHEMA_VERSION}`);
      })();
    }
    const present = new Set(
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
        (r) => r.name,
      ),
    );
    const missing = tables.filter((t) => !present.has(t));
    if (missing.length > 0) {
      throw new SessionFileError(opts.sessionId, opts.file, `is missing table(s) ${missing.join(', ')}`);
    }
    if (!opts.readonly && opts.file === 'inbound') db.exec(INBOUND_INDEXES);
    return db;
  } catch (err) {
    db?.close();
    throw asSessionFileError(opts.sessionId, opts.file, err);
  }
}

const emptyFiles = new Map<SessionFileName, Buffer>();

/**
 * The bytes of a new, empty session file: the contract's schema and version, as openSessionFile
 * would create them, made once per process in memory. Writing these is two fsyncs instead of a
 * SQLite transaction's four, and no statement runs: the cold path makes two files per new session.
 */
export function emptySessionFile(file: SessionFileName): Buffer {
  let bytes = emptyFiles.get(file);
  if (!bytes) {
    const db = new Sqlite(':memory:');
    try {
      db.exec(file === 'inbound' ? INBOUND_DDL + INBOUND_INDEXES : OUTBOUND_DDL);
      db.pragma(`user_version = ${SESSION_SCHEMA_VERSION}`);
      bytes = db.serialize();
    } finally {
      db.close();
    }
    emptyFiles.set(file, bytes);
  }
  return bytes;
}

/** Wraps a SQLite failure on a session file so the caller can pause that session and go on. */
export function asSessionFileError(sessionId: string, file: SessionFileName, err: unknown): SessionFileError {
  if (err instanceof SessionFileError) return err;
  const code = (err as { code?: string }).code ?? '';
  const message = errorText(err);
  const reason =
    code === 'SQLITE_NOTADB'
      ? 'is not a SQLite database'
      : code === 'SQLITE_CORRUPT'
        ? 'is corrupt'
        : code === 'SQLITE_CANTOPEN'
          ? 'cannot be opened (missing file or folder?)'
          : 'cannot be used';
  return new SessionFileError(sessionId, file, `${reason} (${message})`, { cause: err });
}
