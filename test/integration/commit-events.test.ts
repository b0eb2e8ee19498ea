// Waking on the other side's bell (src/shared/commit-events.ts): real files, a real SQLite writer with
// a DELETE journal in another process, and fs.watch as host and runner use it.
import { execFile, execFileSync } from 'node:child_process';
import {
  lstatSync,
  lutimesSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { BELL_FILE, ringBell, watchBell } from '../../src/shared/commit-events.ts';
import { waitUntil } from '../harness/wait-until.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-commit-events-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The inodes this process's inotify watches are on, from the kernel's own list (Linux). */
function watchedInodes(): Set<number> {
  const inodes = new Set<number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:inotify') continue;
      for (const m of readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').matchAll(
        /^inotify wd:\S+ ino:([0-9a-f]+)/gm,
      )) {
        inodes.add(parseInt(m[1]!, 16));
      }
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

const inodeOf = (path: string) => lstatSync(path).ino;

/** The commit's own files and the session's others: none of them is the bell. */
async function touchOtherFiles(): Promise<void> {
  for (const name of ['outbound.db', 'outbound.db-journal', 'heartbeat', 'inbound.db-journal', 'bell2']) {
    writeFileSync(join(dir, name), 'x');
  }
  unlinkSync(join(dir, 'outbound.db-journal'));
  await sleep(150);
}

test('only the bell wakes, whether the folder or the bell itself is watched', async () => {
  let wakes = 0;
  const watcher = watchBell(dir, () => wakes++);
  const bell = join(dir, BELL_FILE);
  // No bell yet: the folder is watched, and only an event naming the bell counts.
  expect(watchedInodes().has(inodeOf(dir))).toBe(true);
  await touchOtherFiles();
  expect(wakes).toBe(0);
  ringBell(dir);
  await waitUntil(
    () => wakes === 1,
    2000,
    () => `${wakes} wakes`,
  );
  // Then the bell itself, so a commit's own writes no longer wake this process at all.
  await waitUntil(
    () => watchedInodes().has(inodeOf(bell)) && !watchedInodes().has(inodeOf(dir)),
    2000,
    () => 'the bell is not watched in place of its folder',
  );
  await touchOtherFiles();
  expect(wakes).toBe(1);
  // A ring heard while a journal exists (the writer's next commit) still wakes the reader: that next
  // commit may ring for nothing, and the rows rung for would wait for the poll.
  writeFileSync(join(dir, 'outbound.db-journal'), 'x');
  ringBell(dir);
  await waitUntil(
    () => wakes === 2,
    2000,
    () => `${wakes} wakes`,
  );
  watcher.close();
});

test('a bell removed and made again is followed: its folder is watched until it is back', async () => {
  const bell = join(dir, BELL_FILE);
  ringBell(dir);
  let wakes = 0;
  const watcher = watchBell(dir, () => wakes++);
  expect(watchedInodes().has(inodeOf(bell))).toBe(true);
  unlinkSync(bell);
  await waitUntil(
    () => watchedInodes().has(inodeOf(dir)),
    2000,
    () => 'the folder is not watched again',
  );
  await sleep(50);
  const before = wakes;
  ringBell(dir); // makes a new bell
  await waitUntil(
    () => wakes > before,
    2000,
    () => 'the new bell was not heard',
  );
  await waitUntil(
    () => watchedInodes().has(inodeOf(bell)),
    2000,
    () => 'the new bell is not watched',
  );
  await sleep(50);
  const then = wakes;
  ringBell(dir);
  await waitUntil(
    () => wakes === then + 1,
    2000,
    () => `${wakes - then} wakes for one ring`,
  );
  watcher.close();
  expect(watchedInodes().has(inodeOf(bell))).toBe(false);
});

test('a link or FIFO in place of the bell is never watched; a ring of it is still heard by name', async () => {
  const bell = join(dir, BELL_FILE);
  const target = join(dir, 'elsewhere');
  writeFileSync(target, 'a file the link points to');
  symlinkSync(target, bell);
  let wakes = 0;
  const watcher = watchBell(dir, () => wakes++);
  expect(watchedInodes().has(inodeOf(target))).toBe(false);
  expect(watchedInodes().has(inodeOf(dir))).toBe(true);
  lutimesSync(bell, new Date(), new Date()); // the link itself touched, as a container might
  await waitUntil(
    () => wakes === 1,
    2000,
    () => `${wakes} wakes`,
  );
  // Changes to what the link points at are not the bell's.
  writeFileSync(target, 'changed');
  await sleep(150);
  expect(wakes).toBe(1);
  unlinkSync(bell);
  execFileSync('mkfifo', [bell]);
  await sleep(150);
  const before = wakes;
  utimesSync(bell, new Date(), new Date()); // a FIFO's times change without opening it
  await waitUntil(
    () => wakes > before,
    2000,
    () => 'the FIFO bell was not heard',
  );
  expect(watchedInodes().has(inodeOf(bell))).toBe(false);
  watcher.close();
});

test('ringing creates the bell, then touches it', () => {
  const bell = join(dir, BELL_FILE);
  ringBell(dir);
  expect(lstatSync(bell).isFile()).toBe(true);
  ringBell(dir, new Date(2_000_000));
  expect(lstatSync(bell).mtimeMs).toBe(2_000_000);
});

test('ringing never follows a link put in place of the bell, and never throws', () => {
  const target = join(dir, 'elsewhere');
  writeFileSync(target, 'not the bell');
  utimesSync(target, new Date(1_000_000), new Date(1_000_000));
  symlinkSync(target, join(dir, BELL_FILE));
  ringBell(dir, new Date(5_000_000));
  expect(statSync(target).mtimeMs).toBe(1_000_000);
  // A dangling link: creating through it would make a file where it points.
  unlinkSync(target);
  ringBell(dir);
  expect(() => lstatSync(target)).toThrow(/ENOENT/);
  // A folder gone or not writable: the commit stands, and the reader's poll finds it.
  expect(() => ringBell(join(dir, 'missing'))).not.toThrow();
});

test('a writer in another process: each rung commit wakes the reader once, with the lock free', async () => {
  const path = join(dir, 'outbound.db');
  const setup = new Database(path);
  setup.pragma('journal_mode = DELETE');
  setup.exec('CREATE TABLE t (v TEXT)');
  setup.close();
  const reader = new Database(path, { readonly: true, timeout: 0 }); // a lock throws instead of waiting
  let events = 0;
  let locked = 0;
  const counts: number[] = [];
  const counter = watch(dir, () => events++);
  const watcher = watchBell(dir, () => {
    try {
      counts.push((reader.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n);
    } catch {
      locked++;
    }
  });
  const commits = 30;
  // The runner's way of writing: its own process, synchronous=FULL, a pause between commits. Every
  // other commit is rung for; the rest (a claim, say) must wake nobody.
  const writer = `
    const { ringBell } = await import(${JSON.stringify(join(process.cwd(), 'src/shared/commit-events.ts'))});
    const db = new (require('better-sqlite3'))(${JSON.stringify(path)});
    db.pragma('synchronous = FULL');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (let i = 1; i <= ${2 * commits}; i++) {
      insert.run('x'.repeat(100));
      if (i % 2 === 0) ringBell(${JSON.stringify(dir)});
      await new Promise((r) => setTimeout(r, 10));
    }
    db.close();`;
  await promisify(execFile)(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
      const require = createRequire(${JSON.stringify(join(process.cwd(), 'package.json'))}); ${writer}`,
    ],
    { cwd: process.cwd() },
  );
  await sleep(200);
  watcher.close();
  counter.close();
  reader.close();
  // Woken after the writer's unlock: a read meets its lock only when this process stalled past the
  // writer's 10 ms pause into its next commit (ringing before the unlock would lock nearly every read).
  expect(locked).toBeLessThan(commits / 4);
  expect(counts.at(-1)).toBe(2 * commits); // the last wake came after the last commit
  // One wake per ring, none for the unrung commits; fewer only when a stalled test process got two
  // rings' events at once.
  expect(counts.length + locked).toBeLessThanOrEqual(commits);
  expect(counts.length).toBeGreaterThan(commits / 2);
  expect(events).toBeGreaterThan(8 * commits); // what waking on every event would have cost
});
