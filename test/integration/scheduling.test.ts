// Scheduled tasks end to end without containers: the agent's tools, delivery applying the actions,
// the sweep and container exits moving series forward, restarts, downtime and failures, all on real
// session files with a clock the test moves (test/harness/clocked-host.ts).
import Database from 'better-sqlite3';
import { afterEach, describe, expect, test } from 'vitest';
import {
  ackMessages,
  closeRunnerSession,
  openRunnerSession,
  writeMessagesOut,
} from '../../container/agent-runner/src/db/session.ts';
import { listAuditEvents } from '../../src/db/audit.ts';
import { INBOUND_DDL, INBOUND_TABLES } from '../../src/shared/session-contract.ts';
import { type TaskContent } from '../../src/shared/session-content.ts';
import { getSession, listDueWakes, setContainerStatus, takeWakes } from '../../src/db/sessions.ts';
import { createScheduler, listTasks, operateTask, showTask } from '../../src/host/scheduling/index.ts';
import { closeKeptFilesUnder, withSessionFile } from '../../src/host/sessions/index.ts';
import { startClockedHost, type ClockedHost, type TestSession } from '../harness/clocked-host.ts';
import pino from 'pino';

const SCRIPT = {
  rules: [{ match: '^flaky', steps: [{ error: 'model overloaded' }] }],
  default: [{ reply: 'ran: {{text}}' }],
};
const at = (hhmm: string, seconds = '00') => `2026-06-01T${hhmm}:${seconds}.000Z`;

let host: ClockedHost;
afterEach(() => host?.close());

function start(startAt = at('08:30'), settings = {}) {
  host = startClockedHost({ start: startAt, settings });
  host.script(SCRIPT);
  return host;
}

interface Row {
  id: string;
  status: string;
  slot: string;
  recurrence: string | null;
  content: TaskContent;
}
function taskRows(s: TestSession): Row[] {
  const db = new Database(s.paths.inbound, { readonly: true });
  const rows = db
    .prepare("SELECT id, status, recurrence, content FROM messages_in WHERE kind = 'task' ORDER BY seq")
    .all() as { id: string; status: string; recurrence: string | null; content: string }[];
  db.close();
  return rows.map((r) => {
    const content = JSON.parse(r.content) as TaskContent;
    return { ...r, content, slot: content.scheduledFor };
  });
}
const slots = (s: TestSession) => taskRows(s).map((r) => `${r.slot.slice(11, 16)} ${r.status}`);
function systemRows(s: TestSession) {
  const db = new Database(s.paths.inbound, { readonly: true });
  const rows = db
    .prepare("SELECT trigger, content FROM messages_in WHERE kind = 'system' ORDER BY seq")
    .all() as { trigger: number; content: string }[];
  db.close();
  return rows.map((r) => ({
    trigger: r.trigger,
    ...(JSON.parse(r.content) as Record<string, unknown>),
  })) as ({
    trigger: number;
  } & Record<string, unknown>)[];
}
const repliesTo = (s: TestSession) =>
  host.sent.filter((m) => m.chatId === s.chat).map((m) => (m.kind === 'send' ? m.text : m.kind));
const nextWake = (s: TestSession) =>
  (host.db.prepare('SELECT next_wake_at FROM sessions WHERE id = ?').pluck().get(s.session.id) as
    string | null) ?? null;

/** The agent calls schedule_task in a turn; the host applies the action when it delivers. */
async function schedule(s: TestSession, args: Record<string, unknown>): Promise<string> {
  const result = await host.agent(s, 'schedule_task', args);
  expect(result.isError, result.text).toBe(false);
  await host.delivery.deliverSession(s.session.id);
  return (JSON.parse(result.text) as { taskId: string }).taskId;
}

/** A fresh host whose session has an hourly "report" task, first due at 09:00. */
async function startWithHourlyReport(): Promise<{ s: TestSession; taskId: string }> {
  start();
  const s = host.session();
  const taskId = await schedule(s, { prompt: 'report', cron: '0 * * * *' });
  return { s, taskId };
}

/** Opens the session's files as its runner would, for `use`, then closes them. */
function asRunner<T>(s: TestSession, use: (runner: ReturnType<typeof openRunnerSession>) => T): T {
  const runner = openRunnerSession({
    sessionId: s.session.id,
    inboundPath: s.paths.inbound,
    outboundPath: s.paths.outbound,
  });
  try {
    return use(runner);
  } finally {
    closeRunnerSession(runner);
  }
}

/** The sweep at `time`, then the container it starts runs until idle and exits. */
async function runAt(s: TestSession, time: string): Promise<number> {
  host.setTime(time);
  const before = host.woken.length;
  await host.tick();
  if (!host.woken.slice(before).includes(s.session.id)) return 0;
  return host.wakeAndRun(s);
}

describe('a recurring task', () => {
  test('each slot runs once, on time, and the series moves on from slot to slot', async () => {
    start();
    const s = host.session();
    const taskId = await schedule(s, { prompt: 'hourly report', cron: '0 * * * *' });
    expect(taskId).toMatch(/^task_/);
    expect(slots(s)).toEqual(['09:00 pending']);
    expect(nextWake(s)).toBe(at('09:00'));

    expect(await runAt(s, at('09:00', '01'))).toBe(1);
    expect(slots(s)).toEqual(['09:00 completed', '10:00 pending']);
    expect(await runAt(s, at('10:00', '01'))).toBe(1);
    expect(slots(s)).toEqual(['09:00 completed', '10:00 completed', '11:00 pending']);
    expect(repliesTo(s)).toEqual(['ran: hourly report', 'ran: hourly report']);
    expect(nextWake(s)).toBe(at('11:00'));
    expect(await runAt(s, at('10:30'))).toBe(0);
  });

  test('its rows carry the series: task id, cron, canonical zone, slot', async () => {
    start();
    const s = host.session();
    const taskId = await schedule(s, {
      prompt: 'standup',
      cron: '0 9 * * 1-5',
      timezone: 'US/Eastern',
      catch_up: 'skip',
    });
    const [row] = taskRows(s);
    expect(row).toMatchObject({
      status: 'pending',
      recurrence: '0 9 * * 1-5',
      slot: '2026-06-01T13:00:00.000Z', // 09:00 EDT
      content: { taskId, prompt: 'standup', catchUp: 'skip' },
    });
    const db = new Database(s.paths.inbound, { readonly: true });
    expect(db.prepare("SELECT series_id, timezone FROM messages_in WHERE kind = 'task'").get()).toEqual({
      series_id: taskId,
      timezone: 'America/New_York',
    });
    db.close();
  });

  test('a failed run does not end the series; three failures in a row pause it and the owner is told', async () => {
    start();
    const s = host.session();
    const taskId = await schedule(s, { prompt: 'flaky job', cron: '0 * * * *' });
    expect(await runAt(s, at('09:00', '01'))).toBe(1);
    expect(await runAt(s, at('10:00', '01'))).toBe(1);
    expect(slots(s)).toEqual(['09:00 failed', '10:00 failed', '11:00 pending']);
    expect(host.notices).toEqual([]);

    expect(await runAt(s, at('11:00', '01'))).toBe(1);
    expect(slots(s)).toEqual(['09:00 failed', '10:00 failed', '11:00 failed', '12:00 paused']);
    expect(host.notices).toHaveLength(1);
    expect(host.notices[0]!.text).toContain(`(${taskId}) failed 3 times in a row and is paused`);
    expect(systemRows(s)).toContainEqual(
      expect.objectContaining({ event: 'task_paused', taskId, trigger: 0, failures: 3 }),
    );
    expect(await runAt(s, at('12:00', '01'))).toBe(0);

    // Resumed (by the agent): it continues at the next slot, and old failures no longer count.
    host.script({ default: [{ reply: 'fixed: {{text}}' }] });
    host.setTime(at('12:30'));
    expect((await host.agent(s, 'resume_task', { task_id: taskId })).isError).toBe(false);
    await host.delivery.deliverSession(s.session.id);
    expect(slots(s).at(-1)).toBe('13:00 pending');
    expect(await runAt(s, at('13:00', '01'))).toBe(1);
    expect(repliesTo(s).at(-1)).toBe('fixed: flaky job');
    expect(host.notices).toHaveLength(1);
  });

  test('after a resume, a new failure does not pause it again at once', async () => {
    start(at('08:30'), { maxFailures: 2 });
    const s = host.session();
    const taskId = await schedule(s, { prompt: 'flaky job', cron: '0 * * * *' });
    await runAt(s, at('09:00', '01'));
    await runAt(s, at('10:00', '01'));
    expect(slots(s).at(-1)).toBe('11:00 paused');
    host.setTime(at('10:30'));
    expect(operateTask(host.db, host.dataDir, taskId, 'resume', 'cli:test', at('10:30')).ok).toBe(true);
    await runAt(s, at('11:00', '01'));
    expect(slots(s).slice(-2)).toEqual(['11:00 failed', '12:00 pending']);
  });
});

describe('exactly once', () => {
  test('restart while a run is due: it fires once', async () => {
    const { s } = await startWithHourlyReport();
    // The host stops before 09:00 and starts again at 09:00:30: the run is due at start-up.
    host.setTime(at('09:00', '30'));
    host.restart();
    expect(await runAt(s, at('09:00', '30'))).toBe(1);
    // And again right after: nothing fires a second time.
    host.setTime(at('09:01'));
    host.restart();
    expect(await runAt(s, at('09:01'))).toBe(0);
    expect(await host.runTurns(s)).toBe(0);
    expect(slots(s)).toEqual(['09:00 completed', '10:00 pending']);
    expect(repliesTo(s)).toEqual(['ran: report']);
  });

  test('host killed while the run was claimed by its container: after the restart it fires once', async () => {
    const { s } = await startWithHourlyReport();
    host.setTime(at('09:00', '01'));
    await host.tick();
    expect(host.woken).toContain(s.session.id);
    // A container starts and claims the run; then the host is killed (kill -9): nothing else happens.
    setContainerStatus(host.db, s.session.id, 'running');
    asRunner(s, (runner) => ackMessages(runner, [taskRows(s)[0]!.id], 'processing', at('09:00', '02')));

    host.setTime(at('09:02'));
    host.restart();
    expect(await runAt(s, at('09:02'))).toBe(1);
    expect(await runAt(s, at('09:03'))).toBe(0);
    expect(slots(s)).toEqual(['09:00 completed', '10:00 pending']);
    expect(repliesTo(s)).toEqual(['ran: report']);
  });

  test('two sweeps racing on the same due task, step by step: one writes the next slot and wakes', async () => {
    const { s } = await startWithHourlyReport();
    host.setTime(at('09:00', '01'));
    const now = at('09:00', '01');
    // A second host process: its own connection, scheduler and start time.
    const db2 = new Database(host.db.name);
    db2.pragma('busy_timeout = 5000');
    const scheduler2 = createScheduler({
      db: db2,
      dataDir: host.dataDir,
      clock: () => new Date(now),
      log: pino({ level: 'silent' }),
      notifyUser: async () => true,
      wake: () => {},
    });
    // Both see the session due; both settle it; both try to take the wake.
    expect(listDueWakes(host.db, now)).toEqual([s.session.id]);
    expect(listDueWakes(db2, now)).toEqual([s.session.id]);
    const first = host.scheduler.settleSession(s.session.id);
    const second = scheduler2.settleSession(s.session.id);
    expect([first?.inserted, second?.inserted]).toEqual([1, 0]);
    const next = new Map([[s.session.id, at('10:00')]]);
    expect(takeWakes(host.db, now, next)).toEqual([s.session.id]);
    expect(takeWakes(db2, now, next)).toEqual([]);
    expect(slots(s)).toEqual(['09:00 pending', '10:00 pending']);
    db2.close();
  });

  test('two sweeps ticking together wake the session once', async () => {
    const { s } = await startWithHourlyReport();
    const sweep1 = host.sweep;
    host.restart(); // a second set of host parts on the same files (another connection)
    host.setTime(at('09:00', '01'));
    await Promise.all([sweep1.tick(), host.sweep.tick()]);
    expect(host.woken.filter((id) => id === s.session.id)).toHaveLength(1);
    expect(slots(s)).toEqual(['09:00 pending', '10:00 pending']);
  });

  test('a slot of a series can only ever be written once (unique index on series and slot)', async () => {
    const { s, taskId } = await startWithHourlyReport();
    const row = taskRows(s)[0]!;
    expect(() =>
      withSessionFile(s.paths, 'inbound', 'write', (db) =>
        db
          .prepare(
            `INSERT INTO messages_in (id, seq, kind, timestamp, series_id, content)
             VALUES ('dup', 1000, 'task', ?, ?, ?)`,
          )
          .run(at('08:31'), taskId, JSON.stringify(row.content)),
      ),
    ).toThrow(/UNIQUE/);
  });

  test('session files made before scheduling get the index when the host opens them for writing', () => {
    start();
    const s = host.session();
    const old = new Database(s.paths.inbound);
    old.exec('DROP INDEX messages_in_task_slot; DROP INDEX messages_in_series;');
    old.close();
    closeKeptFilesUnder(s.paths.root); // as a host started on such files opens them afresh
    withSessionFile(s.paths, 'inbound', 'write', () => undefined);
    const db = new Database(s.paths.inbound, { readonly: true });
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").pluck().all();
    db.close();
    expect(indexes).toEqual(expect.arrayContaining(['messages_in_task_slot', 'messages_in_series']));
    expect(INBOUND_TABLES).toContain('messages_in');
    expect(INBOUND_DDL).not.toContain('messages_in_task_slot'); // old files: added, never required
  });
});

describe('catch-up after the host was stopped for 3 hours (09:30 to 12:30) with an hourly task', () => {
  test.each([
    ['skip', 0, []],
    ['latest', 1, ['12:00 completed']],
    ['all', 3, ['10:00 completed', '11:00 completed', '12:00 completed']],
  ] as const)('%s: %i run(s)', async (policy, expected, ranAfter) => {
    start();
    const s = host.session();
    await schedule(s, { prompt: 'hourly report', cron: '0 * * * *', catch_up: policy });
    expect(await runAt(s, at('09:00', '01'))).toBe(1);
    const repliesBefore = repliesTo(s).length;

    host.setTime(at('12:30'));
    host.restart();
    expect(await runAt(s, at('12:30'))).toBe(expected);
    expect(repliesTo(s).length - repliesBefore).toBe(expected);
    const after = taskRows(s).slice(1);
    expect(
      after.filter((r) => r.status === 'completed').map((r) => `${r.slot.slice(11, 16)} ${r.status}`),
    ).toEqual(ranAfter);
    expect(after.filter((r) => r.status === 'pending').map((r) => r.slot)).toEqual([at('13:00')]);
    if (policy === 'latest') expect(after.find((r) => r.status === 'completed')?.content.missed).toBe(2);
    // Nothing more to catch up on a later pass.
    expect(await runAt(s, at('12:31'))).toBe(0);
  });

  test('all is capped by maxCatchUp', async () => {
    start(at('08:30'), { maxCatchUp: 2 });
    const s = host.session();
    await schedule(s, { prompt: 'r', cron: '0 * * * *', catch_up: 'all' });
    await runAt(s, at('09:00', '01'));
    host.setTime(at('12:30'));
    host.restart();
    expect(await runAt(s, at('12:30'))).toBe(2);
    expect(slots(s)).toEqual([
      '09:00 completed',
      '10:00 cancelled',
      '11:00 completed',
      '12:00 completed',
      '13:00 pending',
    ]);
  });

  test('a run a runner had already taken up is never dropped, even with skip', async () => {
    start();
    const s = host.session();
    await schedule(s, { prompt: 'r', cron: '0 * * * *', catch_up: 'skip' });
    host.setTime(at('09:00', '01'));
    await host.tick();
    asRunner(s, (runner) => ackMessages(runner, [taskRows(s)[0]!.id], 'processing', at('09:00', '02')));
    setContainerStatus(host.db, s.session.id, 'running');
    // The host dies with the 09:00 run claimed and comes back at 10:30: 10:00 was missed (skip drops
    // it), but the claimed 09:00 run is finished, not cancelled.
    host.setTime(at('10:30'));
    host.restart();
    expect(await runAt(s, at('10:30'))).toBe(1);
    expect(slots(s)).toEqual(['09:00 completed', '10:00 cancelled', '11:00 pending']);
  });

  test('a one-shot task missed while the host was down: latest runs it late, skip drops it', async () => {
    start();
    const late = host.session();
    const dropped = host.session();
    await schedule(late, { prompt: 'remind me', at: at('09:15') });
    await schedule(dropped, { prompt: 'remind me', at: at('09:15'), catch_up: 'skip' });
    host.setTime(at('10:00'));
    host.restart();
    expect(await runAt(late, at('10:00'))).toBe(1);
    expect(await runAt(dropped, at('10:00'))).toBe(0);
    expect(slots(late)).toEqual(['09:15 completed']);
    expect(slots(dropped)).toEqual(['09:15 cancelled']);
  });
});

describe('one-shot tasks and delayed messages', () => {
  test('a reminder at an absolute time runs once and the task is finished', async () => {
    start();
    const s = host.session();
    const taskId = await schedule(s, { prompt: 'stretch', at: '2026-06-01T11:15:00+02:00' });
    expect(slots(s)).toEqual(['09:15 pending']);
    expect(await runAt(s, at('09:14'))).toBe(0);
    expect(await runAt(s, at('09:15', '01'))).toBe(1);
    expect(await runAt(s, at('10:15'))).toBe(0);
    expect(listTasks(host.db, host.dataDir, { all: true }).tasks).toMatchObject([
      { taskId, status: 'finished', lastRun: { scheduledFor: at('09:15'), status: 'completed' } },
    ]);
  });

  test('send_message with deliver_after is held until then, and the sweep delivers it', async () => {
    start();
    const s = host.session();
    const sent = await host.agent(s, 'send_message', {
      text: 'good morning',
      deliver_after: '2026-06-01T09:00:00Z',
    });
    expect(sent.isError).toBe(false);
    await host.delivery.deliverSession(s.session.id);
    expect(repliesTo(s)).toEqual([]);
    expect(nextWake(s)).toBe(at('09:00'));
    host.setTime(at('09:00', '01'));
    await host.tick();
    await host.delivery.deliverSession(s.session.id);
    expect(repliesTo(s)).toEqual(['good morning']);
  });
});

describe('the agent’s tools check what they can before anything is written', () => {
  test.each([
    [{ prompt: 'x', cron: '0 9 * *' }, 'it has 4 field(s)'],
    [{ prompt: 'x', cron: '0 9 * * *', timezone: 'Mars/Base' }, 'unknown time zone "Mars/Base"'],
    [{ prompt: 'x', at: '2026-06-01T08:00:00Z' }, 'is not in the future'],
    [{ prompt: 'x', at: '2026-06-01 09:00' }, 'is not an ISO 8601 time with an offset'],
    [{ prompt: 'x', at: '2026-06-01T09:00:00Z', cron: '0 9 * * *' }, 'not both'],
    [{ prompt: 'x' }, 'give either at (one run) or cron'],
  ])('schedule_task %j', async (args, error) => {
    start();
    const s = host.session();
    const result = await host.agent(s, 'schedule_task', args);
    expect(result).toMatchObject({ isError: true });
    expect(result.text).toContain(error);
    expect(result.text).toContain('nothing was scheduled');
    const out = new Database(s.paths.outbound, { readonly: true });
    expect(out.prepare('SELECT count(*) FROM messages_out').pluck().get()).toBe(0);
    out.close();
  });

  test('changing a task that does not exist lists the ones that do', async () => {
    start();
    const s = host.session();
    const taskId = await schedule(s, { prompt: 'a', cron: '@daily' });
    const result = await host.agent(s, 'pause_task', { task_id: 'task_nope' });
    expect(result).toMatchObject({ isError: true });
    expect(result.text).toContain(`there is no task task_nope in this conversation; your tasks: ${taskId}`);
  });

  test('send_message refuses a deliver_after in the past', async () => {
    start();
    const s = host.session();
    const result = await host.agent(s, 'send_message', { text: 'x', deliver_after: at('08:00') });
    expect(result).toMatchObject({ isError: true });
    expect(result.text).toContain('is not in the future');
  });

  test('list_tasks shows a change as pending until the host applied it, then the task', async () => {
    start();
    const s = host.session();
    const scheduled = await host.agent(s, 'schedule_task', { prompt: 'daily digest', cron: '0 9 * * *' });
    const { taskId } = JSON.parse(scheduled.text) as { taskId: string };
    const before = JSON.parse((await host.agent(s, 'list_tasks', {})).text) as {
      tasks: unknown[];
      pendingChanges: unknown[];
    };
    expect(before).toEqual({ tasks: [], pendingChanges: [{ action: 'schedule_task', taskId, seq: 1 }] });
    await host.delivery.deliverSession(s.session.id);
    const after = JSON.parse((await host.agent(s, 'list_tasks', {})).text) as {
      tasks: unknown[];
      pendingChanges: unknown[];
    };
    expect(after.pendingChanges).toEqual([]);
    expect(after.tasks).toMatchObject([
      {
        taskId,
        status: 'active',
        cron: '0 9 * * *',
        nextRun: at('09:00'),
        nextRunLocal: '2026-06-01 09:00 GMT+00:00',
      },
    ]);
  });

  test('update_task moves the schedule from now on and changes the prompt of runs to come', async () => {
    start();
    const s = host.session();
    const taskId = await schedule(s, { prompt: 'old', cron: '0 * * * *' });
    host.setTime(at('08:40'));
    const result = await host.agent(s, 'update_task', { task_id: taskId, prompt: 'new', cron: '30 * * * *' });
    expect(result.isError, result.text).toBe(false);
    await host.delivery.deliverSession(s.session.id);
    expect(taskRows(s)).toMatchObject([
      { slot: at('09:30'), recurrence: '30 * * * *', content: { prompt: 'new' } },
    ]);
    expect(await runAt(s, at('09:30', '01'))).toBe(1);
    expect(repliesTo(s)).toEqual(['ran: new']);
    expect(slots(s)).toEqual(['09:30 completed', '10:30 pending']);
  });

  test('pause, resume and cancel through the tools', async () => {
    start();
    const s = host.session();
    const taskId = await schedule(s, { prompt: 'p', cron: '0 * * * *' });
    const act = async (tool: string) => {
      expect((await host.agent(s, tool, { task_id: taskId })).isError).toBe(false);
      await host.delivery.deliverSession(s.session.id);
    };
    await act('pause_task');
    expect(slots(s)).toEqual(['09:00 paused']);
    expect(await runAt(s, at('09:00', '01'))).toBe(0);
    host.setTime(at('09:20'));
    await act('resume_task'); // the 09:00 run was missed while paused: it continues at 10:00
    expect(slots(s)).toEqual(['10:00 pending']);
    await act('cancel_task');
    expect(slots(s)).toEqual(['10:00 cancelled']);
    expect(await runAt(s, at('10:00', '01'))).toBe(0);
    const refused = await host.agent(s, 'resume_task', { task_id: taskId });
    expect(refused).toMatchObject({ isError: true });
    expect(refused).toMatchObject({
      isError: true,
      text: `task ${taskId} was cancelled; nothing to resume.`,
    });
  });
});

test('a paused one-shot task whose time passed runs at once when resumed', async () => {
  start();
  const s = host.session();
  const taskId = await schedule(s, { prompt: 'call mum', at: at('09:00') });
  expect(operateTask(host.db, host.dataDir, taskId, 'pause', 'cli:test', at('08:45')).ok).toBe(true);
  expect(await runAt(s, at('09:00', '01'))).toBe(0);
  host.setTime(at('09:30'));
  expect(operateTask(host.db, host.dataDir, taskId, 'resume', 'cli:test', at('09:30')).ok).toBe(true);
  expect(await runAt(s, at('09:30', '01'))).toBe(1);
  expect(repliesTo(s)).toEqual(['ran: call mum']);
});

describe('the host checks every action again (the runner is not trusted)', () => {
  function writeAction(s: TestSession, action: string, payload: Record<string, unknown>) {
    const [row] = asRunner(s, (runner) =>
      writeMessagesOut(runner, [
        { kind: 'system', operation: { op: 'action', action, payload }, timestamp: host.now().toISOString() },
      ]),
    );
    return row!.id;
  }
  function delivered(s: TestSession, id: string) {
    const db = new Database(s.paths.inbound, { readonly: true });
    const row = db
      .prepare('SELECT status, platform_message_id FROM delivered WHERE message_out_id = ?')
      .get(id);
    db.close();
    return row;
  }

  test('an applied action is recorded as delivered, with no platform id; applying it again changes nothing', async () => {
    start();
    const s = host.session();
    const id = writeAction(s, 'schedule_task', { taskId: 'task_a', prompt: 'p', cron: '@hourly' });
    await host.delivery.deliverSession(s.session.id);
    expect(delivered(s, id)).toEqual({ status: 'delivered', platform_message_id: null });
    const again = host.scheduler.apply(s.session.id, {
      id,
      timestamp: host.now().toISOString(),
      action: 'schedule_task',
      payload: { taskId: 'task_a', prompt: 'p', cron: '@hourly' },
    });
    expect(again).toMatchObject({ ok: true, message: 'task task_a is already scheduled' });
    expect(slots(s)).toEqual(['09:00 pending']);
  });

  test.each([
    ['schedule_task', { taskId: 'task_b', prompt: 'p', cron: '* * *' }, 'invalid cron expression "* * *"'],
    [
      'schedule_task',
      { taskId: 'task_b', prompt: 'p', cron: '@daily', timezone: 'Nowhere/X' },
      'unknown time zone',
    ],
    ['schedule_task', { taskId: 'task_b', prompt: 'p', at: '2020-01-01T00:00:00Z' }, 'is in the past'],
    ['schedule_task', { taskId: 'bad id!', prompt: 'p', cron: '@daily' }, 'a task id'],
    ['pause_task', { taskId: 'task_unknown' }, 'there is no task task_unknown'],
    ['delete_everything', { taskId: 'task_b' }, undefined],
  ])('%s %j is refused and the agent told why', async (action, payload, error) => {
    start();
    const s = host.session();
    const id = writeAction(s, action, payload);
    await host.delivery.deliverSession(s.session.id);
    if (error === undefined) {
      // Not a task action: delivery's own path refuses it as unsupported, as before.
      expect(delivered(s, id)).toMatchObject({ status: 'failed' });
      return;
    }
    expect(delivered(s, id)).toEqual({ status: 'failed', platform_message_id: null });
    const [refusal] = systemRows(s);
    expect(refusal).toMatchObject({ event: 'task_action_refused', action, trigger: 1 });
    expect(String(refusal!.error)).toContain(error);
    expect(host.woken).toContain(s.session.id);
    expect(taskRows(s)).toEqual([]);
  });

  test('a conversation holds at most maxTasksPerSession live tasks', async () => {
    start(at('08:30'), { maxTasksPerSession: 2 });
    const s = host.session();
    await schedule(s, { prompt: 'a', cron: '@daily' });
    await schedule(s, { prompt: 'b', cron: '@daily' });
    const third = await host.agent(s, 'schedule_task', { prompt: 'c', cron: '@daily' });
    expect(third.isError).toBe(false);
    await host.delivery.deliverSession(s.session.id);
    expect(systemRows(s)).toMatchObject([
      { event: 'task_action_refused', error: expect.stringContaining('already has 2 tasks') },
    ]);
  });
});

describe('the operator', () => {
  test('run-now adds one run due now and leaves the schedule alone; pause, resume, cancel are audited', async () => {
    start();
    const s = host.session();
    const taskId = await schedule(s, { prompt: 'digest', cron: '0 12 * * *' });
    host.setTime(at('08:45'));
    const ran = operateTask(host.db, host.dataDir, taskId, 'run-now', 'cli:ana', at('08:45'));
    expect(ran).toMatchObject({ ok: true, sessionId: s.session.id, wakeAt: [at('08:45')] });
    expect(await runAt(s, at('08:45', '01'))).toBe(1);
    expect(repliesTo(s)).toEqual(['ran: digest']);
    expect(showTask(host.db, host.dataDir, taskId)).toMatchObject({
      task: { status: 'active', nextRun: at('12:00') },
      upcoming: [
        '2026-06-02T12:00:00.000Z',
        '2026-06-03T12:00:00.000Z',
        '2026-06-04T12:00:00.000Z',
        '2026-06-05T12:00:00.000Z',
        '2026-06-06T12:00:00.000Z',
      ],
    });

    expect(operateTask(host.db, host.dataDir, taskId, 'pause', 'cli:ana', at('08:50'))).toMatchObject({
      ok: true,
    });
    expect(listTasks(host.db, host.dataDir).tasks).toMatchObject([
      { taskId, status: 'paused', nextRun: null },
    ]);
    expect(operateTask(host.db, host.dataDir, taskId, 'resume', 'cli:ana', at('08:51'))).toMatchObject({
      ok: true,
    });
    expect(operateTask(host.db, host.dataDir, taskId, 'cancel', 'cli:ana', at('08:52'))).toMatchObject({
      ok: true,
    });
    expect(listTasks(host.db, host.dataDir).tasks).toEqual([]);
    expect(operateTask(host.db, host.dataDir, 'task_zzz', 'pause', 'cli:ana', at('08:53'))).toMatchObject({
      ok: false,
      error: expect.stringContaining('no task task_zzz'),
    });
    const audit = listAuditEvents(host.db, { target: { kind: 'task', id: taskId } }).map((e) => [
      e.actor,
      e.action,
    ]);
    expect(audit).toEqual([
      ['cli:ana', 'task.cancel'],
      ['cli:ana', 'task.resume'],
      ['cli:ana', 'task.pause'],
      ['cli:ana', 'task.run_now'],
    ]);
  });

  test('a closed conversation’s tasks stop moving', async () => {
    start();
    const s = host.session();
    await schedule(s, { prompt: 'r', cron: '0 * * * *' });
    host.db
      .prepare("UPDATE sessions SET status = 'closed', closed_at = ? WHERE id = ?")
      .run(at('08:40'), s.session.id);
    expect(getSession(host.db, s.session.id)?.status).toBe('closed');
    host.setTime(at('09:00', '01'));
    expect(host.scheduler.settleSession(s.session.id)).toBeUndefined();
    expect(slots(s)).toEqual(['09:00 pending']);
  });
});
