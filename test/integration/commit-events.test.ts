// Waking on a finished commit (src/shared/commit-events.ts): real files, a real SQLite writer with a
// DELETE journal, and fs.watch as host and runner use it.
import { execFile } from 'node:child_process';
import { watch, writeFileSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { endsCommit, watchCommits } from '../../src/shared/commit-events.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-commit-events-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("only the journal's coming or going, with no journal left, ends a commit", () => {
  writeFileSync(join(dir, 'outbound.db'), '');
  writeFileSync(join(dir, 'outbound.db-journal'), '');
  expect(endsCommit(dir, 'outbound.db', 'rename', 'outbound.db-journal')).toBe(false);
  expect(endsCommit(dir, 'outbound.db', 'rename', null)).toBe(false);
  unlinkSync(join(dir, 'outbound.db-journal'));
  expect(endsCommit(dir, 'outbound.db', 'rename', 'outbound.db-journal')).toBe(true);
  expect(endsCommit(dir, 'outbound.db', 'change', null)).toBe(true); // no name given: look
  // Writes are the middle of a commit: its journal's rename event follows them.
  expect(endsCommit(dir, 'outbound.db', 'change', 'outbound.db')).toBe(false);
  expect(endsCommit(dir, 'outbound.db', 'change', 'outbound.db-journal')).toBe(false);
  expect(endsCommit(dir, 'outbound.db', 'rename', 'heartbeat')).toBe(false);
  expect(endsCommit(dir, 'outbound.db', 'rename', 'inbound.db-journal')).toBe(false);
});

test('a writer in another process: each commit wakes the reader once, with the lock about free', async () => {
  const path = join(dir, 'outbound.db');
  const setup = new Database(path);
  setup.pragma('journal_mode = DELETE');
  setup.exec('CREATE TABLE t (v TEXT)');
  setup.close();
  const reader = new Database(path, { readonly: true, timeout: 0 }); // a lock throws instead of waiting
  let events = 0;
  let seen = 0;
  let lastCount = 0;
  let lockedAfterRetries = 0;
  const reads: Promise<void>[] = [];
  // The writer may still hold the lock for a moment after deleting its journal: retried as delivery
  // does (delivery/backoff.ts: 1, 2, 4 ms), never waiting on the event loop.
  const read = async () => {
    for (let wait = 1; wait <= 8; wait *= 2) {
      try {
        lastCount = (reader.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
        return;
      } catch {
        await sleep(wait);
      }
    }
    lockedAfterRetries++;
  };
  const counter = watch(dir, () => events++);
  const watcher = watchCommits(dir, 'outbound.db', () => {
    seen++;
    reads.push(read());
  });
  const commits = 30;
  // The runner's way of writing: its own process, synchronous=FULL, a pause between commits.
  const writer = `
    const db = new (require('better-sqlite3'))(${JSON.stringify(path)});
    db.pragma('synchronous = FULL');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    let i = 0;
    const next = () => { if (i++ === ${commits}) return db.close(); insert.run('x'.repeat(100)); setTimeout(next, 10); };
    next();`;
  await promisify(execFile)(process.execPath, ['-e', writer], { cwd: process.cwd() });
  await sleep(200);
  watcher.close();
  counter.close();
  await Promise.all(reads);
  reader.close();
  expect(lockedAfterRetries).toBe(0);
  expect(lastCount).toBe(commits); // the last wake came after the last commit
  // One wake per commit; fewer only when a stalled test process got two commits' events at once.
  expect(seen).toBeLessThanOrEqual(commits);
  expect(seen).toBeGreaterThan(commits / 2);
  expect(events).toBeGreaterThan(4 * commits); // what waking on every event would have cost
});
