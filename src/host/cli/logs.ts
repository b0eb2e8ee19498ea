// `warren logs SESSION [--limit N] [--follow]`: what a session's container printed, from the host's log
// of it (data/logs/sessions/<id>.log, and .log.1 before it once rotated). The lines are the container's,
// so hostile: control characters (terminal escapes) are shown as `?`, never passed to the terminal.
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { getSession } from '../../db/sessions.ts';
import type { Config } from '../config.ts';
import { withCentralDb } from './central-db.ts';
import { parseLimit } from './limit.ts';

export const LOGS_HELP = `warren logs SESSION [--limit N] [--follow]
what the session's container printed, each line with the time the host read it: the last N lines
(default 200, at most 100000). --follow: then every new line as it comes, until Ctrl-C.
`;

export interface LogsIo {
  config: Config;
  args: string[];
  limit?: string;
  follow: boolean;
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
    if (!getSession(db, id)) {
      io.fail(`warren logs: there is no session ${id} (warren sessions list)\n`);
      return 1;
    }
    const file = join(io.config.dataDir, 'logs', 'sessions', `${id}.log`);
    const text = (await readFrom(`${file}.1`, 0)).text + (await readFrom(file, 0)).text;
    if (text === '' && !io.follow) io.write(`no output from session ${id}'s container yet\n`);
    io.write(shown(lastLines(text, lines)));
    if (io.follow) await follow(file, io);
    return 0;
  });
}

/** New bytes of the log as they are written; starts over on a new file when the log was rotated. */
async function follow(file: string, io: LogsIo): Promise<void> {
  let seen = await fileOf(file);
  let offset = seen.size;
  let partial = '';
  while (!io.signal?.aborted) {
    await sleep(FOLLOW_EVERY_MS, undefined, { signal: io.signal }).catch(() => undefined);
    const now = await fileOf(file);
    if (now.ino !== seen.ino || now.size < offset) offset = 0;
    seen = now;
    if (now.size === offset) continue;
    const read = await readFrom(file, offset);
    offset = read.end;
    const text = partial + read.text;
    const cut = text.lastIndexOf('\n') + 1;
    partial = text.slice(cut);
    if (cut > 0) io.write(shown(text.slice(0, cut)));
  }
}

async function readFrom(file: string, from: number): Promise<{ text: string; end: number }> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return { text: '', end: from };
  try {
    const size = (await handle.stat()).size;
    const start = Math.max(from, size - MAX_READ_BYTES);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    await handle.read(buffer, 0, buffer.length, start);
    return { text: buffer.toString('utf8'), end: size };
  } finally {
    await handle.close();
  }
}

const fileOf = (file: string) =>
  stat(file).then(
    (s) => ({ size: s.size, ino: s.ino }),
    () => ({ size: 0, ino: 0 }),
  );

function lastLines(text: string, count: number): string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines
    .slice(-count)
    .map((line) => `${line}\n`)
    .join('');
}

/** Control characters other than tab and newline (ANSI escapes, carriage returns) as `?`. */
// eslint-disable-next-line no-control-regex
const shown = (text: string): string => text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?');
