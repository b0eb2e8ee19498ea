// Files people send, stored under a session's in/inbox/<message id>/ (DESIGN §3) before the message's
// row is written, so the agent never reads a row whose files are missing. Every attachment is
// untrusted input from a platform or an HTTP client (DESIGN §10): its name becomes a plain file name,
// its declared type is checked, its size is capped. The container sees in/ read-only at /session/in.
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { ChatContent } from '../../shared/session-content.ts';
import { syncFolder, writeNewFile } from './durable-writes.ts';
import { withSessionFile, type SessionPaths } from './files.ts';

/** Caps on the files of one inbound message (config.json `attachments`, docs/configuration.md). */
export interface AttachmentLimits {
  /** A larger file is not stored; the agent is told it existed. */
  maxFileBytes: number;
  /** Files past this total (in the order sent) are not stored; the agent is told they existed. */
  maxMessageBytes: number;
}

export const DEFAULT_ATTACHMENT_LIMITS: AttachmentLimits = {
  maxFileBytes: 20 * 1024 * 1024,
  maxMessageBytes: 50 * 1024 * 1024,
};
/** Files one message may carry; more are not stored (a fixed bound: no platform sends this many). */
export const MAX_FILES_PER_MESSAGE = 20;
/** A stored name's length in UTF-8 bytes, a " (2)" added to a repeated name included (file systems allow 255). */
export const MAX_NAME_BYTES = 120;
const FALLBACK_NAME = 'file';
const OCTET_STREAM = 'application/octet-stream';

export interface IncomingFile {
  name: string;
  type: string;
  data: Buffer;
}

export type StoredAttachment = ChatContent['attachments'][number];

export interface StoredInbox {
  /** The row's `attachments`: `path` relative to in/ (the runner shows it under its in/ mount). */
  attachments: StoredAttachment[];
  /** One line per file that was not stored, for the row's text: the agent learns it existed. */
  refused: string[];
}

/** Message ids are the router's `in_<base64url>`: safe as one folder name. */
const MESSAGE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Stores a message's files under in/inbox/<messageId>/ and says what the row should list. All files
 * are written to a private staging folder (mode 0700, files 0600, O_EXCL | O_NOFOLLOW) that is then
 * renamed into place: a message's folder appears whole or not at all. Idempotent: when the row
 * already exists (a replay, a redelivery), nothing is written and the same entries are returned.
 */
export function storeInboxFiles(
  paths: SessionPaths,
  messageId: string,
  files: readonly IncomingFile[],
  limits: AttachmentLimits = DEFAULT_ATTACHMENT_LIMITS,
): StoredInbox {
  if (!MESSAGE_ID.test(messageId)) throw new Error(`inbox: '${messageId}' is not a message id`);
  const plan = planInbox(messageId, files, limits);
  if (plan.stored.length === 0 || rowExists(paths, messageId)) return toStoredInbox(plan);
  assertRealDirectory(paths.inDir);
  mkdirSync(paths.inbox, { recursive: true, mode: 0o700 });
  assertRealDirectory(paths.inbox);
  removeLeftovers(paths.inbox, messageId);
  const staging = join(paths.inbox, `.tmp-${messageId}-${randomBytes(6).toString('hex')}`);
  mkdirSync(staging, { mode: 0o700 });
  try {
    for (const file of plan.stored) writeNewFile(join(staging, file.entry.name), file.data, 0o600);
    syncFolder(staging);
    replaceFolder(paths.inbox, messageId, staging);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return toStoredInbox(plan);
}

interface PlannedFile {
  entry: StoredAttachment;
  data: Buffer;
}
interface InboxPlan {
  stored: PlannedFile[];
  refused: string[];
}

/** Pure: which files are stored, under which names and types, and which are refused and why. */
export function planInbox(
  messageId: string,
  files: readonly IncomingFile[],
  limits: AttachmentLimits,
): InboxPlan {
  const taken = new Set<string>();
  const stored: PlannedFile[] = [];
  const refused: string[] = [];
  let total = 0;
  for (const [index, file] of files.entries()) {
    const size = file.data.length;
    const shown = safeFileName(file.name);
    const refuse = (why: string) => refused.push(`[file not stored: ${shown} (${size} bytes), ${why}]`);
    if (index >= MAX_FILES_PER_MESSAGE) refuse(`more than ${MAX_FILES_PER_MESSAGE} files in one message`);
    else if (size > limits.maxFileBytes)
      refuse(`larger than the ${bytes(limits.maxFileBytes)} a file may have`);
    else if (total + size > limits.maxMessageBytes)
      refuse(`past the ${bytes(limits.maxMessageBytes)} one message's files may have`);
    else {
      total += size;
      const name = uniqueName(shown, taken);
      const entry = {
        name,
        type: checkedType(file.type, file.data),
        size,
        path: `inbox/${messageId}/${name}`,
      };
      stored.push({ entry, data: file.data });
    }
  }
  return { stored, refused };
}

const toStoredInbox = (plan: InboxPlan): StoredInbox => ({
  attachments: plan.stored.map((file) => file.entry),
  refused: plan.refused,
});

/**
 * A plain file name from whatever a sender called it: the last path component (a name sent as
 * `a/b` or `..\\x` is `b` or `x`), control characters and characters file systems or shells treat
 * specially removed, no leading dot (nothing hidden, never `.` or `..`), at most MAX_NAME_BYTES
 * (the extension kept). Nothing usable left: `file`.
 */
export function safeFileName(raw: string): string {
  const last = raw.normalize('NFC').split(/[/\\]/).pop() ?? '';
  const cleaned = last
    // C0 and C1 controls, DEL, and the few characters that are trouble on some file system.
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}<>:"|?*]/gu, '')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.]+/, '')
    .replace(/[\s.]+$/, '');
  const bounded = truncateKeepingExtension(cleaned, MAX_NAME_BYTES);
  return bounded.length > 0 ? bounded : FALLBACK_NAME;
}

/** `a.png`, then `a (2).png`, `a (3).png`…; compared without case (some file systems ignore it). */
function uniqueName(name: string, taken: Set<string>): string {
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  let candidate = name;
  for (let n = 2; taken.has(candidate.toLowerCase()); n++) {
    const suffix = ` (${n})${ext}`;
    candidate = `${cutToBytes(stem, MAX_NAME_BYTES - Buffer.byteLength(suffix))}${suffix}`;
  }
  taken.add(candidate.toLowerCase());
  return candidate;
}

function truncateKeepingExtension(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  let ext = extname(name);
  if (Buffer.byteLength(ext) > 16) ext = '';
  const stem = cutToBytes(
    name.slice(0, name.length - extname(name).length),
    maxBytes - Buffer.byteLength(ext),
  );
  return `${stem.replace(/[\s.]+$/, '')}${ext}`;
}

/** At most `maxBytes` of UTF-8, whole code points only: never a character cut in half. */
function cutToBytes(text: string, maxBytes: number): string {
  let cut = text;
  while (Buffer.byteLength(cut) > maxBytes) cut = [...cut].slice(0, -1).join('');
  return cut;
}

const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** Formats whose first bytes are fixed: a file declared as one of them must start with them. */
const SIGNATURES: Record<string, (data: Buffer) => boolean> = {
  'image/png': (d) => d.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (d) => d.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff])),
  'image/gif': (d) => /^GIF8[79]a/.test(d.subarray(0, 6).toString('latin1')),
  'image/webp': (d) =>
    d.subarray(0, 4).toString('latin1') === 'RIFF' && d.subarray(8, 12).toString('latin1') === 'WEBP',
  'application/pdf': (d) => d.subarray(0, 5).toString('latin1') === '%PDF-',
};

/**
 * The type the agent is told: the declared one, lower-cased and without parameters, when it is a
 * well-formed MIME type and, for the formats of SIGNATURES, the bytes really are that format;
 * otherwise application/octet-stream (the file is still stored: the name and bytes are the agent's
 * to judge, and nothing in the inbox is ever executed or served).
 */
export function checkedType(declared: string, data: Buffer): string {
  const type = (declared.split(';')[0] ?? '').trim().toLowerCase();
  if (!MIME.test(type)) return OCTET_STREAM;
  const matches = SIGNATURES[type];
  return matches && !matches(data) ? OCTET_STREAM : type;
}

function rowExists(paths: SessionPaths, messageId: string): boolean {
  return withSessionFile(
    paths,
    'inbound',
    'read',
    (db) => db.prepare('SELECT 1 FROM messages_in WHERE id = ?').get(messageId) !== undefined,
  );
}

/** in/ is the host's alone (the container mounts it read-only); anything but a real folder is a fault. */
function assertRealDirectory(path: string): void {
  const stats = lstatSync(path);
  if (!stats.isDirectory())
    throw new Error(`inbox: ${path} is not a folder (a link or a file); nothing stored`);
}

/** Staging folders of this message left by a crash. */
function removeLeftovers(inbox: string, messageId: string): void {
  for (const name of readdirSync(inbox)) {
    if (name.startsWith(`.tmp-${messageId}-`)) rmSync(join(inbox, name), { recursive: true, force: true });
  }
}

/**
 * Puts the staged folder at inbox/<messageId>. Whatever was there (an earlier attempt whose row was
 * never written, or anything else) is moved aside first and removed without following links.
 */
function replaceFolder(inbox: string, messageId: string, staging: string): void {
  const target = join(inbox, messageId);
  const aside = `${staging}-old`;
  let moved = false;
  try {
    renameSync(target, aside);
    moved = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  renameSync(staging, target);
  syncFolder(inbox);
  if (moved) rmSync(aside, { recursive: true, force: true });
}

function bytes(n: number): string {
  return n >= 1024 * 1024 && n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`;
}
