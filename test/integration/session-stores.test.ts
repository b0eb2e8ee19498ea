// The walks data rights make under folders a container wrote (src/host/sessions/stores.ts), and the session
// lock a delete holds (src/host/sessions/lock.ts), on real files: links are never followed, ids from a
// container's database never lead outside its folder, and a lock left by a dead process is stale.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import {
  claudeStateOf,
  homeFilesOf,
  LOCK_FILE,
  lockSession,
  outboxOf,
  removeWalk,
  sessionLock,
  SessionLockedError,
  sessionPaths,
  walkRegular,
  type SessionPaths,
} from '../../src/host/sessions/index.ts';

let root: string;
let paths: SessionPaths;
let outside: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'warren-stores-'));
  paths = sessionPaths(join(root, 'data'), 'ag_1', 'ses_1');
  mkdirSync(paths.outbox, { recursive: true });
  mkdirSync(join(paths.root, 'home'), { recursive: true });
  outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'host file');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('a symlinked .claude folder is reported and neither followed nor removed', () => {
  const home = join(paths.root, 'home');
  symlinkSync(outside, join(home, '.claude'));
  const walk = claudeStateOf(paths);
  expect(walk.files).toEqual([]);
  expect(walk.skipped).toEqual([{ path: join(home, '.claude'), kind: 'symlink' }]);
  removeWalk(walk);
  expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('host file');
  expect(lstatSync(join(home, '.claude')).isSymbolicLink()).toBe(true);
});

test('inside a real .claude folder, regular files go; links and FIFOs stay, their targets untouched', () => {
  const projects = join(paths.root, 'home', '.claude', 'projects', 'p');
  mkdirSync(projects, { recursive: true });
  writeFileSync(join(projects, 'a.jsonl'), 'words');
  symlinkSync(join(outside, 'secret.txt'), join(projects, 'link.jsonl'));
  symlinkSync(outside, join(projects, 'dirlink'));
  execFileSync('mkfifo', [join(projects, 'fifo.jsonl')]);
  const walk = claudeStateOf(paths);
  expect(walk.files.map((f) => f.path)).toEqual([join(projects, 'a.jsonl')]);
  expect(walk.skipped.map((s) => s.kind).sort()).toEqual(['special file', 'symlink', 'symlink']);
  expect(removeWalk(walk)).toBe(1);
  expect(existsSync(join(projects, 'a.jsonl'))).toBe(false);
  expect(existsSync(join(outside, 'secret.txt'))).toBe(true);
  expect(lstatSync(join(projects, 'dirlink')).isSymbolicLink()).toBe(true);
});

test('the agent’s other home files are listed for the report, without the Claude state', () => {
  const home = join(paths.root, 'home');
  mkdirSync(join(home, 'work'), { recursive: true });
  mkdirSync(join(home, '.claude'), { recursive: true });
  writeFileSync(join(home, 'work', 'notes.md'), 'n');
  writeFileSync(join(home, '.claude', 't.jsonl'), 't');
  expect(homeFilesOf(paths).files.map((f) => f.path)).toEqual([join(home, 'work', 'notes.md')]);
});

test('an outbox id from the container’s database cannot lead out of its folder', () => {
  writeFileSync(join(paths.outDir, 'outbound.db'), 'x');
  for (const id of ['..', '../..', '../out', 'a/../../b', '', '.']) {
    expect(outboxOf(paths, id).files).toEqual([]);
  }
  mkdirSync(join(paths.outbox, 'msg_1'));
  writeFileSync(join(paths.outbox, 'msg_1', 'report.csv'), 'r');
  expect(outboxOf(paths, 'msg_1').files.map((f) => f.path)).toEqual([
    join(paths.outbox, 'msg_1', 'report.csv'),
  ]);
});

test('a start path whose real location is outside the folder is refused', () => {
  symlinkSync(outside, join(paths.outbox, 'linked'));
  mkdirSync(join(outside, 'sub'));
  writeFileSync(join(outside, 'sub', 'f.txt'), 'host file');
  const walk = walkRegular(join(paths.outbox, 'linked', 'sub'), paths.outDir);
  expect(walk.files).toEqual([]);
  expect(walk.skipped[0]?.kind).toBe('outside its folder');
  removeWalk(walk);
  expect(existsSync(join(outside, 'sub', 'f.txt'))).toBe(true);
});

test('a lock is exclusive while its process lives; a lock of a dead process is stale and taken over', () => {
  mkdirSync(paths.root, { recursive: true });
  const now = new Date();
  const release = lockSession('ses_1', paths.root, 'first', now);
  expect(sessionLock(paths.root, now)).toMatchObject({ pid: process.pid, reason: 'first' });
  expect(() => lockSession('ses_1', paths.root, 'second', now)).toThrow(SessionLockedError);
  release();
  expect(sessionLock(paths.root, now)).toBeUndefined();

  // Left behind by a process that is gone (pid far above any live one), or too old.
  writeFileSync(
    join(paths.root, LOCK_FILE),
    JSON.stringify({ pid: 2 ** 22 + 17, reason: 'x', at: now.toISOString() }),
  );
  expect(sessionLock(paths.root, now)).toBeUndefined();
  lockSession('ses_1', paths.root, 'third', now)();
  writeFileSync(
    join(paths.root, LOCK_FILE),
    JSON.stringify({
      pid: process.pid,
      reason: 'old',
      at: new Date(now.getTime() - 16 * 60_000).toISOString(),
    }),
  );
  expect(sessionLock(paths.root, now)).toBeUndefined();
});
