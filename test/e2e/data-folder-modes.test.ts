// After `warren start` and a conversation, nothing the host made in the data folder is open to other
// users, while the session's container (the host's uid) still reads in/ and writes out/.
import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { startWarren, type Warren } from '../harness/warren.ts';

let warren: Warren | undefined;
afterAll(() => warren?.stop());

/** Every entry under dir, with its permission bits (symlinks not followed). */
async function modes(dir: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const entry of await readdir(dir, { recursive: true })) {
    found.set(entry, (await lstat(join(dir, entry))).mode & 0o777);
  }
  return found;
}

test('the data folder, its database, logs and session files are the host user’s alone', async () => {
  warren = await startWarren();
  const chat = await warren.chat('modes');
  await chat.send({ id: 'm1', text: 'hello' });
  expect((await chat.waitForReply((r) => r.inReplyTo === 'm1')).text).toBe('echo: hello');

  const dataDir = warren.dataDir;
  expect((await lstat(dataDir)).mode & 0o777).toBe(0o700);
  const session = warren.sessionOf('modes')!;
  const outDir = relative(dataDir, session.paths.outDir);
  const open: string[] = [];
  for (const [entry, mode] of await modes(dataDir)) {
    // config.json is the test's own file; under out/, the runner's files are its own (the folder
    // around them is 0700), only out/ itself and outbound.db are the host's.
    if (entry === 'config.json' || entry.startsWith(`${outDir}/`)) continue;
    if ((mode & 0o077) !== 0) open.push(`${entry} ${mode.toString(8)}`);
  }
  expect(open).toEqual([]);
  const all = await modes(dataDir);
  expect(all.get('warren.db')).toBe(0o600);
  expect(all.get(`${outDir}/outbound.db`)).toBe(0o600);
  expect(all.get(relative(dataDir, session.paths.inbound))).toBe(0o600);
  expect([...all.keys()].some((entry) => entry.startsWith('logs/sessions/'))).toBe(true);
});
