// `warren logs` as an operator runs it: the last lines of a session's container log across its rotation,
// terminal escapes from the container never reaching the terminal, and --follow printing lines as they
// are written (through a rotation) until Ctrl-C.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { getAgentGroupByFolder } from '../../src/db/agent-groups.ts';
import { openCentralDb } from '../../src/db/connection.ts';
import { createSession } from '../../src/db/sessions.ts';
import { runLogsCommand } from '../../src/host/cli/logs.ts';
import { loadConfig } from '../../src/host/config.ts';
import { runWarrenCli } from '../harness/warren-cli.ts';
import { waitUntil } from '../harness/wait-until.ts';

let dataDir: string;
let sessionId: string;
let log: string;

function newSession(threadId: string | null = null): string {
  const db = openCentralDb(join(dataDir, 'warren.db'));
  const main = getAgentGroupByFolder(db, 'main')!;
  const { id } = createSession(
    db,
    { agentGroupId: main.id, messagingGroupId: null, threadId },
    new Date().toISOString(),
  );
  db.close();
  return id;
}

/** Waits until what the follower printed (`output()`) holds `text`. */
const printed = (output: () => string, text: string, timeoutMs = 5_000) =>
  waitUntil(
    () => output().includes(text),
    timeoutMs,
    () => `printed: ${output()}`,
  );

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'warren-logs-'));
  expect((await runWarrenCli(['init'], { dataDir })).code).toBe(0);
  sessionId = newSession();
  mkdirSync(join(dataDir, 'logs', 'sessions'), { recursive: true });
  log = join(dataDir, 'logs', 'sessions', `${sessionId}.log`);
  writeFileSync(`${log}.1`, 't1 one\nt2 two\n');
  writeFileSync(log, 't3 three\nt4 \u001b[2J\u001b]0;pwned\u0007four\r\n');
});

test('the last N lines, across the rotated log; escapes are shown as ?', async () => {
  const all = await runWarrenCli(['logs', sessionId], { dataDir });
  expect(all.code).toBe(0);
  expect(all.stdout).toBe('t1 one\nt2 two\nt3 three\nt4 ?[2J?]0;pwned?four?\n');
  const last = await runWarrenCli(['logs', sessionId, '--limit', '2'], { dataDir });
  expect(last.stdout).toBe('t3 three\nt4 ?[2J?]0;pwned?four?\n');
});

test('an unknown session exits 1; bad input exits 2 with the usage', async () => {
  const unknown = await runWarrenCli(['logs', 'ses_nope'], { dataDir });
  expect([unknown.code, unknown.stderr]).toEqual([
    1,
    'warren logs: there is no session ses_nope (warren sessions list)\n',
  ]);
  const none = await runWarrenCli(['logs'], { dataDir });
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/name one session[\s\S]*warren logs SESSION/);
  const limit = await runWarrenCli(['logs', sessionId, '--limit', 'all'], { dataDir });
  expect([limit.code, limit.stderr]).toEqual([
    2,
    'warren logs: --limit must be a whole number from 1 to 100000, got "all"\n',
  ]);
  const message = await runWarrenCli(['logs', sessionId, '--message', 'in_\u001b[2J'], { dataDir });
  expect([message.code, message.stderr]).toEqual([
    2,
    'warren logs: --message takes a message id such as in_…, got "in_?[2J"\n',
  ]);
});

test('--follow prints new lines as they are written, through a rotation, until Ctrl-C', async () => {
  const child = spawn(process.execPath, [
    'bin/warren.js',
    'logs',
    sessionId,
    '--follow',
    '--limit',
    '1',
    '--data-dir',
    dataDir,
  ]);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await printed(() => out, 'four', 10_000);
  appendFileSync(log, 't5 five\nt6 si');
  await printed(() => out, 't5 five\n');
  expect(out).not.toContain('t6'); // half a line waits for its end
  appendFileSync(log, 'x\n');
  await printed(() => out, 't6 six\n');
  renameSync(log, `${log}.1`);
  writeFileSync(log, 't7 seven\n');
  await printed(() => out, 't7 seven\n');
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(out).toBe('t4 ?[2J?]0;pwned?four?\nt5 five\nt6 six\nt7 seven\n');
}, 30_000);

// In this process, so the writes below land at exact points of the command's run: between printing
// the tail and following, and between two of the follower's looks, with a rotation.
test('--follow loses no line written while the tail is printed, nor one written just before a rotation', async () => {
  const id = newSession('second');
  const file = join(dataDir, 'logs', 'sessions', `${id}.log`);
  writeFileSync(file, 't1 one\nt2 unfini');
  const stop = new AbortController();
  let out = '';
  const done = runLogsCommand({
    config: loadConfig({ flags: { dataDir }, env: {}, cwd: process.cwd() }),
    args: [id],
    follow: true,
    signal: stop.signal,
    fail: (text) => void (out += `FAIL ${text}`),
    write: (text) => {
      if (out === '') appendFileSync(file, 'shed\nt3 three\n'); // after the tail was read
      out += text;
    },
  });
  await printed(() => out, 't3 three\n');
  appendFileSync(file, 't4 four\n');
  renameSync(file, `${file}.1`);
  writeFileSync(file, 't5 five\n');
  await printed(() => out, 't5 five\n');
  stop.abort();
  expect(await done).toBe(0);
  expect(out).toBe('t1 one\nt2 unfinished\nt3 three\nt4 four\nt5 five\n');
});
