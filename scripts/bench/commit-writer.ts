// A runner's commits, for the watcher phase (scripts/bench/watchers.ts): one row committed to
// <dir>/outbound.db (DELETE journal, synchronous=FULL) per line read on stdin; prints when each write
// started and when it was committed, in CLOCK_MONOTONIC milliseconds (shared by processes).
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Sqlite from 'better-sqlite3';

const now = () => Number(process.hrtime.bigint()) / 1e6;
const db = new Sqlite(join(process.argv[2]!, 'outbound.db'));
db.pragma('journal_mode = DELETE');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE IF NOT EXISTS messages_out (seq INTEGER PRIMARY KEY, content TEXT NOT NULL)');
const insert = db.prepare('INSERT INTO messages_out (content) VALUES (?)');
createInterface({ input: process.stdin }).on('line', () => {
  const started = now();
  insert.run('{"op":"send","text":"hello"}');
  process.stdout.write(`${started} ${now()}\n`);
});
