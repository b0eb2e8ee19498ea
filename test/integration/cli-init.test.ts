import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { MIGRATIONS } from '../../src/db/migrations/index.ts';

const run = promisify(execFile);
const warren = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, ['bin/warren.js', ...args], { env: { ...process.env, ...env } });

test('warren init creates the database and the default agent group, and a second run changes nothing', async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-init-'));
  const dataDir = join(root, 'data');
  const groupsDir = join(root, 'groups');

  const first = await warren(['init', '--data-dir', dataDir, '--groups-dir', groupsDir]);
  expect(first.stdout).toContain('created agent group "main"');
  expect(readFileSync(join(groupsDir, 'main', 'AGENT.md'), 'utf8')).toContain('# Agent instructions');

  writeFileSync(join(groupsDir, 'main', 'AGENT.md'), 'my own instructions');
  const second = await warren(['init', '--data-dir', dataDir, '--groups-dir', groupsDir]);
  expect(second.stdout).toContain('nothing changed');
  expect(readFileSync(join(groupsDir, 'main', 'AGENT.md'), 'utf8')).toBe('my own instructions');

  const db = new Database(join(dataDir, 'warren.db'), { readonly: true });
  expect(db.prepare('SELECT folder, provider FROM agent_groups').all()).toEqual([
    { folder: 'main', provider: 'scripted' },
  ]);
  expect(db.prepare('SELECT version FROM schema_migrations').pluck().all()).toEqual(
    MIGRATIONS.map((m) => m.version),
  );
  db.close();
});

test('WARREN_DATA_DIR and WARREN_GROUPS_DIR choose the folders when no flag is given', async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-init-env-'));
  await warren(['init'], { WARREN_DATA_DIR: join(root, 'd'), WARREN_GROUPS_DIR: join(root, 'g') });
  expect(existsSync(join(root, 'd', 'warren.db'))).toBe(true);
  expect(existsSync(join(root, 'g', 'main', 'AGENT.md'))).toBe(true);
});

test('a bad config file stops the command with a message naming the setting', async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-init-bad-'));
  const dataDir = join(root, 'data');
  await warren(['init', '--data-dir', dataDir, '--groups-dir', join(root, 'g')]);
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ port: 'seventy' }));
  const failure = await warren(['init', '--data-dir', dataDir]).catch(
    (err: { code: number; stderr: string }) => err,
  );
  expect(failure).toMatchObject({ code: 1 });
  expect((failure as { stderr: string }).stderr).toMatch(/config\.json.*port/s);
});

test('an unknown command prints the usage and fails', async () => {
  const failure = await warren(['frobnicate']).catch((err: { code: number; stderr: string }) => err);
  expect(failure).toMatchObject({ code: 2 });
  expect((failure as { stderr: string }).stderr).toContain('usage: warren <command>');
});

test('every command in the usage answers help (or --help) with its own usage, without a data folder', async () => {
  const usage = (await warren(['help'])).stdout;
  const names = [...usage.matchAll(/^ {2}([a-z][a-z-]*) /gm)].map((m) => m[1]!);
  expect(names).toEqual(
    expect.arrayContaining(['init', 'start', 'chat', 'tasks', 'cron', 'users', 'dropped']),
  );
  const env = { WARREN_DATA_DIR: join(mkdtempSync(join(tmpdir(), 'warren-help-')), 'absent') };
  // One process per command, both spellings taken in turn: each start of the CLI costs a second or two.
  const answers = await Promise.all(
    names.map((name, i) => warren([name, i % 2 === 0 ? 'help' : '--help'], env)),
  );
  answers.forEach((answer, i) => expect(answer.stdout).toMatch(new RegExp(`^warren ${names[i]}\\b`)));
}, 120_000);
