// The data folder holds chats, keys and sessions: `warren init` makes it the host user's alone, and
// tightens one that was left open to others.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);
const warren = (args: string[]) => run(process.execPath, ['bin/warren.js', ...args], { env: process.env });
const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

test('warren init creates the data folder 0700 and the central database 0600', async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-modes-'));
  const dataDir = join(root, 'data');
  await warren(['init', '--data-dir', dataDir, '--groups-dir', join(root, 'groups')]);
  expect(modeOf(dataDir)).toBe('700');
  for (const file of ['warren.db', 'warren.db-wal', 'warren.db-shm']) {
    if (existsSync(join(dataDir, file))) expect([file, modeOf(join(dataDir, file))]).toEqual([file, '600']);
  }
});

test('an existing data folder open to other users is tightened, and the operator told', async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-modes-loose-'));
  const dataDir = join(root, 'data');
  const args = ['init', '--data-dir', dataDir, '--groups-dir', join(root, 'groups')];
  mkdirSync(dataDir, { mode: 0o755 });
  await warren(args);
  chmodSync(dataDir, 0o755);
  chmodSync(join(dataDir, 'warren.db'), 0o644);

  const { stdout } = await warren(args);
  expect(stdout).toContain(`tightened ${dataDir} from 755 to 700`);
  expect(stdout).toContain(`tightened ${join(dataDir, 'warren.db')} from 644 to 600`);
  expect([modeOf(dataDir), modeOf(join(dataDir, 'warren.db'))]).toEqual(['700', '600']);
});
