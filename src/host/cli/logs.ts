// `warren logs SESSION [--limit N] [--follow] [--message ID]`: what a session's container printed, from the
// host's log of it (data/logs/sessions/<id>.log, and .log.1 before it once rotated). The lines are the
// container's, so hostile: control characters (terminal escapes) are shown as `?`, never passed to the
// terminal; a line that claims to be about a message is only ever shown, so a false claim misleads no
// one beyond its own session.
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { getSession } from '../../db/sessions.ts';
import { CORRELATION_ID_PATTERN } from '../../shared/correlation.ts';
import type { Config } from '../config.ts';
import { withCentralDb } from './central-db.ts';
import { parseLimit } from './limit.ts';

export const LOGS_HELP = `warren logs SESSION [--limit N] [--follow] [--message ID]
what the session's container printed, each line with the time the host read it: the last N lines
(default 200, at most 100000). --follow: then every new line as it comes, until Ctrl-C.
--message ID: only the lines about one inbound message: ID is its id in the session (in_…, as
\`warren status\` and the host's "routed" line name it), which every line about it carries as "corr"
(or in "batch", when a turn took it along with others). The host's own lines are not in this log:
find them in the host's output by the same field (docs/operations.md).
`;

export interface LogsIo {
  config: Config;
  args: string[];
  limit?: string;
  follow: boolean;
  /** Only the lines about this inbound message (its correlation id). */
  message?: string;
  /** Ends --follow (Ctrl-C in the terminal). */
  signal?: AbortSignal;
  write: (text: string) => void;
  fail: (text: string) => void;
}

/** How often --follow looks for new lines. */
const FOLLOW_EVERY_MS = 250;
/** The most read at once from a log (the log itself rotates at 1 MB). */
const MAX_READ_BYTES = 4 * 1024 * 1024;

export function runLogsCommand(io: LogsIo): Promise<number> {
  const [id, extra] = io.args;
  return withCentralDb({ name: 'logs', sub: id, usage: LOGS_HELP }, io, async (db) => {
    if (id === undefined || extra !== undefined) {
      io.fail(`warren logs: name one session (warren sessions list)\n\n${LOGS_HELP}`);
      return 2;
    }
    const lines = parseLimit(io.limit, 200, 100_000);
    if (typeof lines === 'string') {
      io.fail(`warren logs: ${lines}\n`);
      return 2;
    }
    const { message } = io;
    if (message !== undefined && !CORRELATION_ID_PATTERN.test(message)) {
      io.fail(`warren logs: --message takes a message id such as in_…, got "${shown(message)}"\n`);
      return 2;
    }
    if (!getSession(db, id)) {
      io.fail(`warren logs: there is no session ${id} (warren sessions list)\n`);
      return 1;
    }
    const file = join(io.config.dataDir, 'logs', 'sessions', `${id}.log`);
    const keep = message === undefined ? () => true : (line: string) => isAboutMessage(line, message);
    const rotated = await readFrom(`${file}.1`, 0);
    const current = await readFrom(file, 0);
    // Following, an unfinished last line waits for its end, as every later one does.
    const cut = io.follow ? current.text.lastIndexOf('\n') + 1 : current.text.length;
    const kept = lastLines(rotated.text + current.text.slice(0, cut), lines, keep);
    if (kept === '' && !io.follow)
      io.write(
        message === undefined
          ? `no output from session ${id}'s container yet\n`
          : `no lines about message ${message} in session ${id}'s log\n`,
      );
    io.write(shown(kept));
    // From the bytes just read, not from a fresh look at the file: a line written in between is not lost.
    if (io.follow) await follow(file, io, keep, { ...current, partial: current.text.slice(cut) });
    return 0;
  });
}

/**
 * New bytes of the log as they are written. When the log is rotated, the rest of the old file (now .1)
 * is read first, then the new one from its start.
 */
async function follow(
  file: string,
  io: LogsIo,
  keep: (line: string) => boolean,
  from: { ino: number; end: number; partial: string },
): Promise<void> {
  let { ino, end: offset, partial: text } = from;
  while (!io.signal?.aborted) {
    await sleep(FOLLOW_EVERY_MS, undefined, { signal: io.signal }).catch(() => undefined);
    const now = await fileOf(file);
    if (now.ino !== ino) {
      const rest = await readFrom(`${file}.1`, offset);
      if (ino !== 0 && rest.ino === ino) text += rest.text;
      [ino, offset] = [now.ino, 0];
    } else if (now.size < offset) offset = 0; // truncated
    if (now.size > offset) {
      const read = await readFrom(file, offset);
      if (read.ino !== ino) continue; // rotated again since the look above: the next look reads .1
      offset = read.end;
      text += read.text;
    }
    const cut = text.lastIndexOf('\n') + 1;
    if (cut > 0) io.write(shown(lastLines(text.slice(0, cut), Infinity, keep)));
    text = text.slice(cut);
  }
}

/** The log's bytes from `from` to its end (at most the last MAX_READ_BYTES), and which file they came from. */
async function readFrom(file: string, from: number): Promise<{ text: string; end: number; ino: number }> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return { text: '', end: from, ino: 0 };
  try {
    const { size, ino } = await handle.stat();
    const start = Math.max(from, size - MAX_READ_BYTES);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    await handle.read(buffer, 0, buffer.length, start);
    return { text: buffer.toString('utf8'), end: size, ino };
  } finally {
    await handle.close();
  }
}

const fileOf = (file: string) =>
  stat(file).then(
    (s) => ({ size: s.size, ino: s.ino }),
    () => ({ size: 0, ino: 0 }),
  );

function lastLines(text: string, count: number, keep: (line: string) => boolean = () => true): string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines
    .filter(keep)
    .slice(-count)
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * Pure: whether a line of a session log (`<time the host read it> <the runner's JSON line>`) is about
 * the inbound message `id`: its `corr` names it, or its `batch` (a turn of several messages) holds it.
 * Lines that are not JSON (a crash's stack trace) are about no message.
 */
export function isAboutMessage(line: string, id: string): boolean {
  if (!line.includes(id)) return false; // most lines, cheaply
  const json = line.indexOf(' ') + 1;
  if (json === 0 || line[json] !== '{') return false;
  let record: unknown;
  try {
    record = JSON.parse(line.slice(json));
  } catch {
    return false;
  }
  if (typeof record !== 'object' || record === null) return false;
  const { corr, batch } = record as { corr?: unknown; batch?: unknown };
  return corr === id || (Array.isArray(batch) && batch.includes(id));
}

/** Control characters other than tab and newline (ANSI escapes, carriage returns) as `?`. */
// eslint-disable-next-line no-control-regex
const shown = (text: string): string => text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?');
