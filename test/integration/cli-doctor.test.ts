// `warren doctor` as an operator runs it: a fresh install is all good; then each thing broken on
// purpose is named with the command that fixes it, in text and in --json, and the exit code says so.
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import type { Check } from '../../src/host/cli/doctor-checks.ts';
import { runWarrenCli } from '../harness/warren-cli.ts';

let dataDir: string;
/** No model keys and no channel tokens leak in from the machine running the tests. */
const CLEAN = {
  ANTHROPIC_API_KEY: '',
  OPENAI_API_KEY: '',
  TELEGRAM_BOT_TOKEN: '',
  TELEGRAM_BOT_TOKEN_DEAD: '',
};
const doctor = (args: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  runWarrenCli(['doctor', ...args], { dataDir, env: { ...CLEAN, ...env } });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'warren-doctor-'));
  expect((await runWarrenCli(['init'], { dataDir, env: CLEAN })).code).toBe(0);
});

test('a fresh install is all good: folder, database, engine, image and the default group', async () => {
  const result = await doctor();
  expect(result.stdout).toMatch(/^ok {4}data folder: .*only its owner can read it$/m);
  expect(result.stdout).toMatch(/^ok {4}database: .*schema version \d+$/m);
  expect(result.stdout).toMatch(/^ok {4}container engine: answers on /m);
  expect(result.stdout).toMatch(/^ok {4}agent image: localhost\/warren-agent:\S+ is built$/m);
  expect(result.stdout).toMatch(/^ok {4}agent group main: provider scripted/m);
  expect(result.stdout.trimEnd().endsWith('all good')).toBe(true);
  expect(result.code).toBe(0);
});

test('each problem is named with its fix; a failure exits 1, a warning alone does not', async () => {
  // A channel whose token is not set, one whose platform does not answer, a group without its key.
  expect((await runWarrenCli(['channels', 'add', 'telegram'], { dataDir })).code).toBe(0);
  const dead = ['channels', 'add', 'telegram', '--name', 'dead', '--api-url', 'http://127.0.0.1:9'];
  expect((await runWarrenCli(dead, { dataDir })).code).toBe(0);
  const model = ['groups', 'model', 'main', '--provider', 'claude', '--model', 'claude-sonnet-4-5'];
  expect((await runWarrenCli(model, { dataDir, env: CLEAN })).code).toBe(0);
  chmodSync(join(dataDir, 'link-key'), 0o644);

  const env = { TELEGRAM_BOT_TOKEN_DEAD: '1:dead', DOCKER_HOST: 'unix:///nonexistent/engine.sock' };
  const result = await doctor([], env);
  expect(result.code).toBe(1);
  const out = result.stdout;
  expect(out).toMatch(
    /^FAIL {2}data folder: other accounts can read .*link-key \(mode 644\)\n {6}fix: chmod 600 .*link-key$/m,
  );
  expect(out).toMatch(
    /^FAIL {2}container engine: no container engine answers on DOCKER_HOST=unix:\/\/\/nonexistent\/engine.sock\n {6}fix: /m,
  );
  expect(out).toMatch(
    /^FAIL {2}channel telegram: TELEGRAM_BOT_TOKEN not set\n {6}fix: set TELEGRAM_BOT_TOKEN in the environment or in .*secrets.json$/m,
  );
  expect(out).toMatch(/^FAIL {2}channel telegram-dead: .+\n {6}fix: check its settings/m);
  expect(out).toMatch(/^WARN {2}agent group main: .*key ANTHROPIC_API_KEY is missing/m);
  expect(out).toMatch(/4 failed, 1 warning\(s\)\n$/);

  const json = await doctor(['--json'], env);
  expect(json.code).toBe(1);
  const checks = JSON.parse(json.stdout) as Check[];
  const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
  expect(byName['channel telegram']).toEqual({
    name: 'channel telegram',
    status: 'fail',
    detail: 'TELEGRAM_BOT_TOKEN not set',
    fix: expect.stringMatching(/^set TELEGRAM_BOT_TOKEN in the environment or in /),
  });
  expect(byName['agent group main']?.status).toBe('warn');
  expect(byName.database?.status).toBe('ok');

  // Fixed: the folder's modes and the engine; left: the channels. The warning alone would exit 0.
  chmodSync(join(dataDir, 'link-key'), 0o600);
  const after = JSON.parse(
    (await doctor(['--json'], { TELEGRAM_BOT_TOKEN_DEAD: '1:dead' })).stdout,
  ) as Check[];
  expect(
    after
      .filter((c) => c.status === 'fail')
      .map((c) => c.name)
      .sort(),
  ).toEqual(['channel telegram', 'channel telegram-dead']);
});

test('a missing database says to run init; bad input exits 2', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'warren-doctor-empty-'));
  const result = await runWarrenCli(['doctor', '--json'], { dataDir: empty, env: CLEAN });
  expect(result.code).toBe(1);
  const checks = JSON.parse(result.stdout) as Check[];
  expect(checks.find((c) => c.name === 'database')).toMatchObject({ status: 'fail', fix: 'warren init' });
  const bad = await doctor(['everything']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/warren doctor: unexpected "everything"/);
});
