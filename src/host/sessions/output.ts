// The host's only way into a session's out/ folder (DESIGN §10). Everything there is written by the
// container (model output, Bash, approved MCP servers, any runner bug) and is hostile input: a file may
// be a symlink, a FIFO or a device, a folder may be swapped for a symlink between two system calls,
// outbound.db may carry triggers, views or rows of any size. Nothing here follows a link the container
// made, opens a non-regular file, reads without a bound, or blocks the event loop on the container.
import { constants, createWriteStream, linkSync, lstatSync, mkdirSync, rmSync, type Stats } from 'node:fs';
import { mkdir, open, readdir, rm, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Sqlite from 'better-sqlite3';
import { readWaitingForLock } from '../../shared/commit-tail.ts';
import { OUTBOUND_DDL, SessionFileError, type SessionDb } from '../../shared/session-contract.ts';
import { closeKeptFile, withKeptFile } from './connections.ts';
import type { SessionPaths } from './files.ts';
import { errorText } from '../../shared/error-text.ts';

/** Bounds on what the host reads from a session's out/ (docs/security.md lists them). */
export const OUTPUT_LIMITS = {
  /** Rows of messages_out read at once; a pass reads page after page. */
  rowsPerPage: 100,
  /** A row's content JSON; a longer one fails alone with a reason. */
  maxContentBytes: 1 << 20,
  /** Nesting of that JSON (objects and arrays). */
  maxJsonDepth: 64,
  /** Every other column of a row (ids, addresses, times). */
  maxFieldBytes: 512,
  /** Files one message may carry, and the size of each. */
  maxFilesPerMessage: 10,
  maxFileBytes: 25 * 1024 * 1024,
  /**
   * How long a read waits for the runner's lock: a commit takes a few ms, more on a busy disk, and a
   * runner committing in a tight loop can hold readers off for longer. The host's event loop waits
   * with it, so delivery's reads wait less, back off from a session that keeps its file locked, and
   * take it out of service after BUSY_LIMIT_MS (delivery/backoff.ts).
   */
  readLockWaitMs: 5000,
  /**
   * Delivery and the sweep do not wait for a commit in progress: a locked file is read again at the
   * runner's next commit or on a timer (delivery/backoff.ts). They only wait out the end of one, the
   * runner's lock held after its journal is gone (shared/commit-tail.ts), for this long per read ...
   */
  deliveryLockWaitMs: 0,
  commitTailWaitMs: 1,
  /**
   * ... and for this long per second over all sessions: past it a locked read fails at once, so a
   * container that keeps its lock without a journal cannot make the event loop wait.
   */
  commitTailBudgetMsPerS: 50,
  /** Entries removed from one message folder after delivery. */
  maxFolderEntries: 100,
} as const;

/** Message ids the runner writes (`out_<hash>`) and anything else that is safe as a folder name. */
export const OUTPUT_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** A plain file name: letters, digits and common punctuation, no folder separator, no leading dot. */
export const OUTPUT_FILE_NAME_PATTERN = /^(?!\.)[\p{L}\p{N} ._()+,=@-]{1,200}$/u;

/**
 * A session whose out/ cannot be trusted at all (outbound.db is a link, a FIFO, has a foreign schema,
 * is not a database): the host stops using it, stops its container and closes it with this reason.
 */
export class SessionUnsafeError extends SessionFileError {
  override name = 'SessionUnsafeError';
  constructor(sessionId: string, reason: string, options?: { cause?: unknown }) {
    super(sessionId, 'outbound', reason, options);
  }
}

/** outbound.db is locked by its writer right now: try again shortly (never wait on the event loop). */
export class SessionBusyError extends SessionFileError {
  override name = 'SessionBusyError';
  constructor(sessionId: string, options?: { cause?: unknown }) {
    super(sessionId, 'outbound', 'is locked by the runner; read again shortly', options);
  }
}

// ---- outbound.db ----

/**
 * Runs one unit of work on outbound.db.
 *
 * Read (a runner may be alive): SQLite opens a hard link in the session's host-only folder, never the
 * path in out/. link(2) does not follow a symlink, so what is opened is exactly an inode that was
 * checked, and the container cannot swap it afterwards. It must be a regular file; SQLite opens it
 * read-only with trusted_schema off, defensive mode (better-sqlite3's default), a bounded wait for the
 * runner's lock (then SessionBusyError). The handle is kept between reads (connections.ts), so each
 * read is one transaction that first checks the schema version: the container may change the schema
 * of the same inode at any time, and a changed schema must be exactly the contract's again.
 *
 * Write (only while no runner is alive, so nothing can race the checks): the real path, after the same
 * lstat checks of the file and its journal; opening it read-write rolls back a crashed runner's journal.
 */
export function withOutbound<T>(
  paths: SessionPaths,
  mode: 'read' | 'write',
  work: (db: SessionDb) => T,
  lockWaitMs: number = OUTPUT_LIMITS.readLockWaitMs,
): T {
  assertRealFolder(paths, paths.outDir, 'out/');
  try {
    if (mode === 'write') return writeOutbound(paths, work);
    const link = linkPrivately(paths);
    const open = () => new Sqlite(link, { readonly: true, fileMustExist: true, timeout: lockWaitMs });
    const read = () =>
      withKeptFile(
        link,
        () => hardened(open()),
        (db, checked) => {
          if (checked.lockWaitMs !== lockWaitMs) {
            db.pragma(`busy_timeout = ${Math.trunc(lockWaitMs)}`);
            checked.lockWaitMs = lockWaitMs;
          }
          return db.transaction(() => {
            const version = db.prepare('PRAGMA schema_version').pluck().get();
            if (checked.verified !== version) {
              verifyOutboundSchema(paths.sessionId, db);
              checked.verified = version;
            }
            return work(db);
          })();
        },
      );
    if (lockWaitMs > 0) return read();
    return readAtCommitTail(read, `${paths.outbound}-journal`);
  } catch (err) {
    throw asOutputError(paths.sessionId, err);
  }
}

const tailBudget = { since: 0, spentMs: 0 };

/**
 * A read that waits out the end of the runner's commit (shared/commit-tail.ts) for at most
 * commitTailWaitMs, and only while this second's budget lasts: the whole read is charged to it
 * (the sleeps take more than asked, and each retry costs a failed read).
 */
function readAtCommitTail<T>(read: () => T, journal: string): T {
  const started = performance.now();
  if (started - tailBudget.since >= 1000) {
    tailBudget.since = started;
    tailBudget.spentMs = 0;
  }
  const left = OUTPUT_LIMITS.commitTailBudgetMsPerS - tailBudget.spentMs;
  let waited = false;
  try {
    return readWaitingForLock(read, journal, {
      maxMs: Math.max(0, Math.min(OUTPUT_LIMITS.commitTailWaitMs, left)),
      onWait: () => (waited = true),
    });
  } finally {
    if (waited) tailBudget.spentMs += performance.now() - started;
  }
}

function writeOutbound<T>(paths: SessionPaths, work: (db: SessionDb) => T): T {
  assertWritableFiles(paths);
  const db = hardened(new Sqlite(paths.outbound, { fileMustExist: true, timeout: 5000 }));
  try {
    for (const p of ['journal_mode = DELETE', 'synchronous = FULL']) db.pragma(p);
    verifyOutboundSchema(paths.sessionId, db);
    return work(db);
  } finally {
    db.close();
  }
}

/** better-sqlite3 turns defensive mode on and maps no memory by default; untrusted schema runs nothing. */
function hardened(db: SessionDb): SessionDb {
  try {
    db.pragma('trusted_schema = OFF');
    db.pragma('cell_size_check = ON');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Opens outbound.db for writing once and closes it, after its container ended: SQLite rolls back the
 * journal of a transaction the runner did not finish, so later reads (through a link, which does not
 * see that journal) find the last committed state.
 */
export function settleOutbound(paths: SessionPaths): void {
  // A read between the runner's crash and this rollback may have cached half-written pages that the
  // restored header would not tell apart: the next read opens afresh.
  closeKeptFile(privateLinkOf(paths));
  withOutbound(paths, 'write', () => undefined);
}

/**
 * A hard link to out/outbound.db in the session's host folder, to a regular file. It is kept between
 * reads and made again only when out/outbound.db is another inode than the one it links: the container
 * may swap the file at any moment, but the link only ever names an inode that was checked here.
 */
const privateLinkOf = (paths: SessionPaths) => join(paths.hostDir, 'outbound.db');

function linkPrivately(paths: SessionPaths): string {
  const link = privateLinkOf(paths);
  const real = lstatOrNull(paths.outbound);
  if (!real) throw new SessionFileError(paths.sessionId, 'outbound', 'does not exist');
  if (!real.isFile()) {
    throw new SessionUnsafeError(paths.sessionId, `out/outbound.db is ${kindOf(real)}, not a regular file`);
  }
  const held = lstatOrNull(link);
  if (held?.isFile() && held.ino === real.ino && held.dev === real.dev) return link;
  mkdirSync(paths.hostDir, { recursive: true, mode: 0o700 });
  rmSync(link, { force: true });
  try {
    linkSync(paths.outbound, link);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EEXIST: another host process linked it a moment ago; it checks what it links as this one does.
    if (code === 'ENOENT') throw new SessionFileError(paths.sessionId, 'outbound', 'does not exist');
    if (code !== 'EEXIST') {
      throw new SessionUnsafeError(paths.sessionId, `out/outbound.db cannot be linked (${code})`);
    }
  }
  const linked = lstatSync(link);
  if (!linked.isFile()) {
    rmSync(link, { force: true });
    throw new SessionUnsafeError(paths.sessionId, `out/outbound.db is ${kindOf(linked)}, not a regular file`);
  }
  return link;
}

function assertWritableFiles(paths: SessionPaths): void {
  const db = lstatOrNull(paths.outbound);
  if (!db) throw new SessionFileError(paths.sessionId, 'outbound', 'does not exist');
  if (!db.isFile()) {
    throw new SessionUnsafeError(paths.sessionId, `out/outbound.db is ${kindOf(db)}, not a regular file`);
  }
  const journal = lstatOrNull(`${paths.outbound}-journal`);
  if (journal && !journal.isFile()) {
    throw new SessionUnsafeError(
      paths.sessionId,
      `out/outbound.db-journal is ${kindOf(journal)}, not a regular file`,
    );
  }
}

/** What sqlite_schema must hold, exactly: the contract's tables and their automatic indexes. */
let expectedSchema: string | undefined;

function verifyOutboundSchema(sessionId: string, db: SessionDb): void {
  expectedSchema ??= (() => {
    const reference = new Sqlite(':memory:');
    try {
      reference.exec(OUTBOUND_DDL);
      return schemaOf(reference);
    } finally {
      reference.close();
    }
  })();
  if (schemaOf(db) !== expectedSchema) {
    throw new SessionUnsafeError(
      sessionId,
      'out/outbound.db has a schema other than the contract (extra triggers, views, columns or indexes)',
    );
  }
}

const schemaOf = (db: SessionDb) =>
  JSON.stringify(
    db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name').raw().all(),
  );

function asOutputError(sessionId: string, err: unknown): unknown {
  if (err instanceof SessionFileError) return err;
  const code = String((err as { code?: unknown }).code ?? '');
  if (code.startsWith('SQLITE_BUSY')) return new SessionBusyError(sessionId, { cause: err });
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new SessionUnsafeError(sessionId, `out/outbound.db is not a usable database (${code})`, {
      cause: err,
    });
  }
  if (code.startsWith('SQLITE_')) {
    const message = errorText(err);
    return new SessionFileError(sessionId, 'outbound', `cannot be used (${message})`, { cause: err });
  }
  return err;
}

// ---- heartbeat ----

/** mtime of out/heartbeat, null when there is none; any other failure is an error, not "no heartbeat". */
export function heartbeatAt(paths: SessionPaths): number | null {
  try {
    return lstatSync(paths.heartbeat).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SessionFileError(paths.sessionId, 'outbound', `heartbeat cannot be read (${String(err)})`, {
      cause: err,
    });
  }
}

/**
 * The latest change to the heartbeat, outbound.db or inbound.db (lstat only: nothing is opened or
 * followed), null when none exists; how the host tells an idle container from a working one.
 */
export function lastSignOfLife(paths: SessionPaths): number | null {
  let last: number | null = null;
  for (const file of [paths.heartbeat, paths.outbound, paths.inbound]) {
    const mtime = lstatSync(file, { throwIfNoEntry: false })?.mtimeMs;
    if (mtime !== undefined && (last === null || mtime > last)) last = mtime;
  }
  return last;
}

// ---- outbox files ----

export type StagedFiles =
  | { ok: true; files: { name: string; path: string }[]; release: () => Promise<void> }
  | { ok: false; code: 'invalid_request' | 'too_large'; error: string };

/**
 * Copies the files a message carries (out/outbox/<id>/<name>) into the session's host folder, where
 * the container cannot reach them, and returns their copies. Each step opens with O_NOFOLLOW through the
 * descriptor of the folder above it (/proc/self/fd), so a folder swapped for a symlink between two calls
 * leads nowhere; each file must be a regular file under the size cap, copied from its open descriptor.
 */
export async function stageOutboxFiles(
  paths: SessionPaths,
  messageId: string,
  names: readonly string[],
): Promise<StagedFiles> {
  if (names.length === 0) return { ok: true, files: [], release: async () => {} };
  const invalid = invalidFileNames(messageId, names);
  if (invalid) return { ok: false, code: 'invalid_request', error: invalid };
  const staging = join(paths.hostDir, 'outgoing', messageId);
  const release = () => rm(staging, { recursive: true, force: true });
  const handles: FileHandle[] = [];
  try {
    const outbox = await openFolder(paths.outbox, 'out/outbox', handles);
    const folder = await openFolder(viaFd(outbox, messageId), `out/outbox/${messageId}`, handles);
    await release();
    await mkdir(staging, { recursive: true, mode: 0o700 });
    const files = [];
    for (const name of names) {
      const copied = await copyRegularFile(viaFd(folder, name), join(staging, name), `${messageId}/${name}`);
      if (!copied.ok) {
        await release();
        return copied;
      }
      files.push({ name, path: join(staging, name) });
    }
    return { ok: true, files, release };
  } catch (err) {
    await release();
    return { ok: false, code: 'invalid_request', error: errorText(err) };
  } finally {
    await Promise.all(handles.map((h) => h.close().catch(() => {})));
  }
}

/**
 * Removes out/outbox/<id> after its message is settled: only plain entries inside it, through folder
 * descriptors, never following a link; a nested folder or anything odd is left where it is.
 */
export async function removeOutboxFolder(paths: SessionPaths, messageId: string): Promise<void> {
  if (!OUTPUT_ID_PATTERN.test(messageId)) return;
  const handles: FileHandle[] = [];
  try {
    const outbox = await openFolder(paths.outbox, 'out/outbox', handles);
    const folder = await openFolder(viaFd(outbox, messageId), `out/outbox/${messageId}`, handles).catch(
      () => undefined,
    );
    if (!folder) return;
    const entries = (await readdir(viaFd(folder, '.'))).slice(0, OUTPUT_LIMITS.maxFolderEntries);
    for (const entry of entries) await unlink(viaFd(folder, entry)).catch(() => {});
    await rmdir(viaFd(outbox, messageId)).catch(() => {});
  } catch {
    // out/outbox is not a real folder: nothing of the host's is removed through it.
  } finally {
    await Promise.all(handles.map((h) => h.close().catch(() => {})));
  }
}

function invalidFileNames(messageId: string, names: readonly string[]): string | undefined {
  if (!OUTPUT_ID_PATTERN.test(messageId)) return `message id is not a safe folder name`;
  if (names.length > OUTPUT_LIMITS.maxFilesPerMessage) {
    return `a message carries at most ${OUTPUT_LIMITS.maxFilesPerMessage} files (${names.length} given)`;
  }
  const bad = names.find((n) => !OUTPUT_FILE_NAME_PATTERN.test(n));
  if (bad !== undefined) return `file name ${JSON.stringify(bad.slice(0, 80))} is not a plain file name`;
  if (new Set(names).size !== names.length) return 'the same file is named twice';
  return undefined;
}

const O_FOLDER = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const O_FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

async function openFolder(path: string, label: string, handles: FileHandle[]): Promise<FileHandle> {
  try {
    const handle = await open(path, O_FOLDER);
    handles.push(handle);
    return handle;
  } catch (err) {
    throw new Error(`${label} is not a folder of the session (${(err as NodeJS.ErrnoException).code})`);
  }
}

const viaFd = (folder: FileHandle, name: string) => `/proc/self/fd/${folder.fd}/${name}`;

async function copyRegularFile(
  from: string,
  to: string,
  label: string,
): Promise<{ ok: true } | { ok: false; code: 'invalid_request' | 'too_large'; error: string }> {
  let handle: FileHandle;
  try {
    handle = await open(from, O_FILE);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ELOOP' ? 'is a symbolic link' : code === 'ENOENT' ? 'does not exist' : code;
    return { ok: false, code: 'invalid_request', error: `file ${label} ${why}` };
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile())
      return { ok: false, code: 'invalid_request', error: `file ${label} is ${kindOf(stats)}` };
    const max = OUTPUT_LIMITS.maxFileBytes;
    if (stats.size > max)
      return { ok: false, code: 'too_large', error: `file ${label} is over ${max} bytes` };
    let copied = 0;
    const bounded = new Transform({
      transform(chunk: Buffer, _enc, done) {
        copied += chunk.length;
        done(copied > max ? new Error(`file ${label} grew past ${max} bytes while copied`) : null, chunk);
      },
    });
    await pipeline(
      handle.createReadStream({ autoClose: false }),
      bounded,
      createWriteStream(to, { mode: 0o600 }),
    );
    return { ok: true };
  } catch (err) {
    const error = errorText(err);
    return { ok: false, code: error.includes('grew past') ? 'too_large' : 'invalid_request', error };
  } finally {
    await handle.close().catch(() => {});
  }
}

// ---- shared ----

function assertRealFolder(paths: SessionPaths, path: string, label: string): void {
  const stats = lstatOrNull(path);
  if (!stats) throw new SessionFileError(paths.sessionId, 'outbound', `does not exist (${label} is missing)`);
  if (!stats.isDirectory()) throw new SessionUnsafeError(paths.sessionId, `${label} is ${kindOf(stats)}`);
}

function lstatOrNull(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function kindOf(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return stats.isFile() ? 'a regular file' : 'not a regular file';
}
