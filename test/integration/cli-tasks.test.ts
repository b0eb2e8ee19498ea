// `warren cron next` and `warren tasks …` as an operator runs them: the real command, a real data folder.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { runWarrenCli } from '../harness/warren-cli.ts';
import { getAgentGroupByFolder } from '../../src/db/agent-groups.ts';
import { openCentralDb } from '../../src/db/connection.ts';
import { createMessagingGroup } from '../../src/db/messaging-groups.ts';
import { createSession } from '../../src/db/sessions.ts';
import { applyTaskAction } from '../../src/host/scheduling/index.ts';
import { createSessionFiles, sessionPaths, writeRouting } from '../../src/host/sessions/index.ts';

const warren = (args: string[]) => runWarrenCli(args);

describe('warren cron next', () => {
  test('prints the next runs as ISO-8601 UTC timestamps, one per line, in the given zone', async () => {
    const result = await warren([
      'cron',
      'next',
      '0 9 * * 1-5',
      '--tz',
      'America/New_York',
      '--from',
      '2026-03-06T00:00:00Z',
      '--count',
      '3',
    ]);
    expect(result).toEqual({
      code: 0,
      stdout: '2026-03-06T14:00:00.000Z\n2026-03-09T13:00:00.000Z\n2026-03-10T13:00:00.000Z\n',
      stderr: expect.any(String),
    });
  });

  test('macros work, and five runs are the default', async () => {
    const result = await warren(['cron', 'next', '@daily', '--tz', 'UTC', '--from', '2026-01-01T12:00:00Z']);
    expect(result.stdout.trim().split('\n')).toEqual([
      '2026-01-02T00:00:00.000Z',
      '2026-01-03T00:00:00.000Z',
      '2026-01-04T00:00:00.000Z',
      '2026-01-05T00:00:00.000Z',
      '2026-01-06T00:00:00.000Z',
    ]);
  });

  test.each([
    [['0 9 * *'], 'it has 4 field(s)'],
    [['0 9 * * *', '--tz', 'Mars/Olympus'], 'unknown time zone "Mars/Olympus"'],
    [['0 9 * * *', '--from', 'yesterday'], '--from "yesterday" is not an ISO-8601 time'],
    [['0 9 * * *', '--count', '0'], '--count must be a whole number from 1 to 1000'],
    [[], 'give the expression in quotes'],
  ])('%j exits 2 with a clear message and prints nothing', async (args, message) => {
    const result = await warren(['cron', 'next', ...args]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
  });
});

describe('warren tasks', () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-cli-tasks-'));
  const dataDir = join(root, 'data');
  const dir = ['--data-dir', dataDir, '--groups-dir', join(root, 'groups')];
  const taskId = 'task_cli_1';
  let sessionId = '';

  beforeAll(async () => {
    expect((await warren(['init', ...dir])).code).toBe(0);
    const db = openCentralDb(join(dataDir, 'warren.db'));
    const now = new Date().toISOString();
    const group = getAgentGroupByFolder(db, 'main')!;
    const chat = createMessagingGroup(
      db,
      { channelType: 'webchat', platformId: 'ops', unknownSenderPolicy: 'public' },
      now,
    );
    const session = createSession(
      db,
      { agentGroupId: group.id, messagingGroupId: chat.id, threadId: null },
      now,
    );
    sessionId = session.id;
    const paths = sessionPaths(dataDir, group.id, session.id);
    createSessionFiles(paths);
    writeRouting(paths, { channelType: 'webchat', platformId: 'ops', threadId: null });
    const applied = applyTaskAction(
      paths,
      {
        id: 'out_1',
        timestamp: now,
        action: 'schedule_task',
        payload: { taskId, prompt: 'nightly backup check', cron: '0 3 * * *', timezone: 'Europe/Lisbon' },
      },
      { now, defaultTimezone: 'UTC', maxTasks: 50 },
    );
    expect(applied.ok).toBe(true);
    db.close();
  });

  test('list shows the task with its schedule, zone and next run', async () => {
    const result = await warren(['tasks', 'list', ...dir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^TASK\s+STATUS\s+SCHEDULE\s+ZONE\s+NEXT RUN \(UTC\)/);
    expect(result.stdout).toContain(`${taskId}  active  0 3 * * *  Europe/Lisbon`);
    const json = JSON.parse((await warren(['tasks', 'list', '--json', ...dir])).stdout) as unknown[];
    expect(json).toMatchObject([{ taskId, status: 'active', cron: '0 3 * * *', sessionId }]);
  });

  test('show lists the runs and the next slots', async () => {
    const result = await warren(['tasks', 'show', taskId, ...dir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('schedule    0 3 * * *');
    expect(result.stdout).toContain('catch-up    latest (default)');
    expect(result.stdout).toContain('then:');
  });

  test('pause, run-now, resume and cancel; run-now says the run waits for the host', async () => {
    expect((await warren(['tasks', 'pause', taskId, ...dir])).stdout).toBe(`task ${taskId} paused\n`);
    const ran = await warren(['tasks', 'run-now', taskId, ...dir]);
    expect(ran.stdout).toContain(
      `task ${taskId}: a run is due now; the host is not running: it is picked up when`,
    );
    const db = openCentralDb(join(dataDir, 'warren.db'));
    expect(
      db.prepare('SELECT next_wake_at FROM sessions WHERE id = ?').pluck().get(sessionId),
    ).not.toBeNull();
    db.close();
    expect((await warren(['tasks', 'resume', taskId, ...dir])).stdout).toContain(
      `task ${taskId} resumed; next run`,
    );
    expect((await warren(['tasks', 'cancel', taskId, ...dir])).stdout).toBe(`task ${taskId} cancelled\n`);
    expect((await warren(['tasks', 'list', ...dir])).stdout).toContain('no tasks');
    expect((await warren(['tasks', 'list', '--all', ...dir])).stdout).toContain(`${taskId}  cancelled`);
  });

  test('an unknown task or subcommand is refused clearly', async () => {
    const unknown = await warren(['tasks', 'pause', 'task_nope', ...dir]);
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('no task task_nope') });
    const bad = await warren(['tasks', 'explode', taskId, ...dir]);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown subcommand "explode"') });
    const missing = await warren(['tasks', 'pause', ...dir]);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('give the task id') });
  });
});
