// `warren status` against a real host with three things wrong at once: the container engine the
// command is pointed at does not answer, a Telegram installation cannot reach its platform, and a
// message crashed its runner on every try. Each is named on the one screen and in the JSON.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readHeartbeat } from '../../src/db/host-heartbeat.ts';
import type { StatusReport } from '../../src/host/status-report.ts';
import { runWarrenCli } from '../harness/warren-cli.ts';
import { startWarren, waitUntil, type Warren } from '../harness/warren.ts';

const NO_ENGINE = { DOCKER_HOST: 'unix:///nonexistent/engine.sock' };
let w: Warren;

beforeAll(async () => {
  w = await startWarren({
    maxTries: 2,
    script: { rules: [{ match: '^crash', steps: [{ exit: 1 }] }] },
    // Nothing listens on port 9 here: every poll fails, and the watchdog marks the channel unhealthy.
    installations: [
      {
        channelType: 'telegram',
        name: 'telegram',
        config: { apiBaseUrl: 'http://127.0.0.1:9', staleAfterMs: 2000 },
      },
    ],
    env: { TELEGRAM_BOT_TOKEN: '1:status-test' },
    config: { channels: { watchdogCheckSeconds: 1 } },
  });
  const chat = await w.chat('doomed');
  await chat.send({ id: 'doomed-1', text: 'crash please' });
  await chat.waitForReply((r) => r.inReplyTo === 'doomed-1', 60_000);
  // The heartbeat (at most every 5 s) has seen the failing channel.
  await waitUntil(
    () => readHeartbeat(w.db())?.channels.telegram?.connected === false,
    30_000,
    () => `heartbeat: ${JSON.stringify(readHeartbeat(w.db()))}`,
  );
}, 120_000);

afterAll(() => w?.stop());

const status = (args: string[], dataDir = w.dataDir) =>
  runWarrenCli(['status', ...args], { dataDir, port: new URL(w.url).port, env: NO_ENGINE });

test('--json names the stopped engine, the failing channel and the crashed message; exit code 1', async () => {
  const result = await status(['--json']);
  expect(result.code).toBe(1);
  const report = JSON.parse(result.stdout) as StatusReport;
  expect(report.version).toBe(1);
  expect(report.host).toMatchObject({ running: true, pid: expect.any(Number) });
  expect(report.host.sweepLagMs).toBeLessThan(30_000);
  expect(report.engine).toEqual({
    reachable: false,
    error: expect.stringContaining('nonexistent/engine.sock'),
  });
  expect(report.containers).toEqual({ running: expect.any(Number), queued: 0 });
  expect(report.channels.find((c) => c.type === 'telegram')).toMatchObject({
    installation: 'enabled',
    connected: false,
    lastError: expect.any(String),
  });
  expect(report.channels.find((c) => c.type === 'webchat')).toMatchObject({ connected: true });
  expect(report.stuckMessages).toEqual([
    expect.objectContaining({
      messageId: expect.stringMatching(/^in_/),
      status: 'failed',
      tries: 2,
      sessionId: w.sessionOf('doomed')!.id,
    }),
  ]);
  const problems = report.problems.join('\n');
  expect(problems).toMatch(/container engine does not answer/);
  expect(problems).toMatch(/channel telegram is not connected .*warren channels test telegram/);
  const [stuck] = report.stuckMessages;
  expect(problems).toContain(
    `message ${stuck!.messageId} in session ${stuck!.sessionId} failed after 2 tries`,
  );
  expect(problems).not.toMatch(/host is not running/);
});

test('the screen names the same problems', async () => {
  const result = await status([]);
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/^host: +running \(pid \d+/m);
  expect(result.stdout).toMatch(/^engine: +DOES NOT ANSWER/m);
  expect(result.stdout).toMatch(/^telegram +enabled +NO /m);
  expect(result.stdout).toMatch(new RegExp(`^${w.sessionOf('doomed')!.id} +in_\\S+ +failed +2 `, 'm'));
  const problems = result.stdout.slice(result.stdout.indexOf('problems:'));
  expect(problems.split('\n').filter((l) => l.startsWith('  - '))).toHaveLength(
    (JSON.parse((await status(['--json'])).stdout) as StatusReport).problems.length,
  );
});

test('with no host running it says so, and how to start one; bad input exits 2', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-status-'));
  expect((await runWarrenCli(['init'], { dataDir })).code).toBe(0);
  const result = await runWarrenCli(['status', '--json'], { dataDir, port: '1', env: NO_ENGINE });
  expect(result.code).toBe(1);
  const report = JSON.parse(result.stdout) as StatusReport;
  expect(report.host).toEqual({
    running: false,
    pid: null,
    startedAt: null,
    lastBeatAt: null,
    sweepLagMs: null,
    lastSweepMs: null,
  });
  expect(report.containers).toBeNull();
  expect(report.problems[0]).toMatch(/host is not running: start it with `warren start`/);
  const bad = await runWarrenCli(['status', 'everything'], { dataDir });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/warren status: unexpected "everything"/);
});
