// `npm run bench:scheduling`: what one sweep tick costs with recurring tasks, due and not due.
// Real central database and session files, the real scheduler and sweep; no containers (a tick only
// writes rows and asks the pool to wake sessions). Progress goes to stderr; stdout is one JSON object.
//
// Figures:
// - idle:    1,000 recurring tasks across 200 sessions, none due: the tick reads one index.
// - allDue:  the same 1,000 tasks all due at once (200 sessions): every series writes its next slot.
// - scaling: 100 due tasks (20 sessions) with 0, 900 and 4,900 tasks that are not due beside them:
//            the tick must not grow with the tasks that are not due.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { createAgentGroup } from '../src/db/agent-groups.ts';
import { openCentralDb, type Db } from '../src/db/connection.ts';
import { createMessagingGroup } from '../src/db/messaging-groups.ts';
import { createSession } from '../src/db/sessions.ts';
import { createScheduler } from '../src/host/scheduling/index.ts';
import {
  createSessionFiles,
  sessionPaths,
  withSessionFile,
  writeRouting,
  type SessionPaths,
} from '../src/host/sessions/index.ts';
import { createSweep } from '../src/host/sweep.ts';

const TASKS_PER_SESSION = 5;
const log = pino({ level: 'silent' });
const progress = (text: string) => process.stderr.write(`bench:scheduling ${text}\n`);

interface World {
  db: Db;
  dataDir: string;
  setTime(iso: string): void;
  /** Wall time (includes waiting for the disk and for a busy machine) and this process's CPU time. */
  tick(): Promise<{ ms: number; cpuMs: number; woken: number }>;
  /** Sessions with TASKS_PER_SESSION recurring tasks each. */
  addSessions(count: number, cron: string): SessionPaths[];
  /** Marks every due task run completed, as runners would (so history looks like a live install). */
  completeDue(paths: SessionPaths[]): void;
  close(): void;
}

function world(): World {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-bench-sched-'));
  let now = new Date('2026-06-01T08:00:00.000Z');
  const clock = () => new Date(now);
  const db = openCentralDb(join(dataDir, 'warren.db'));
  const group = createAgentGroup(
    db,
    { name: 'Main', folder: 'main', provider: 'scripted', timezone: 'UTC' },
    now.toISOString(),
  );
  const scheduler = createScheduler({
    db,
    dataDir,
    clock,
    log,
    notifyUser: async () => true,
    wake: () => {},
  });
  let woken = 0;
  const sweep = createSweep({
    db,
    dataDir,
    clock,
    log,
    pool: { running: () => [], wake: () => void woken++, stop: async () => {} },
    delivery: { deliverSession: async () => {} },
    scheduler,
    closedRetentionMs: 365 * 86_400_000,
  });
  let chats = 0;
  return {
    db,
    dataDir,
    setTime: (iso) => void (now = new Date(iso)),
    async tick() {
      woken = 0;
      const cpu = process.cpuUsage();
      const report = await sweep.tick();
      const used = process.cpuUsage(cpu);
      return { ms: report.ms, cpuMs: (used.user + used.system) / 1000, woken };
    },
    addSessions(count, cron) {
      const created: SessionPaths[] = [];
      for (let i = 0; i < count; i++) {
        const chat = `bench-${chats++}`;
        const mg = createMessagingGroup(
          db,
          { channelType: 'webchat', platformId: chat, unknownSenderPolicy: 'public' },
          now.toISOString(),
        );
        const session = createSession(
          db,
          { agentGroupId: group.id, messagingGroupId: mg.id, threadId: null },
          now.toISOString(),
        );
        const paths = sessionPaths(dataDir, group.id, session.id);
        createSessionFiles(paths);
        writeRouting(paths, { channelType: 'webchat', platformId: chat, threadId: null });
        for (let t = 0; t < TASKS_PER_SESSION; t++) {
          const result = scheduler.apply(session.id, {
            id: `action-${chat}-${t}`,
            timestamp: now.toISOString(),
            action: 'schedule_task',
            payload: { taskId: `task_${chat}_${t}`, prompt: `report ${t}`, cron },
          });
          if (!result?.ok) throw new Error(`could not schedule: ${JSON.stringify(result)}`);
        }
        created.push(paths);
      }
      return created;
    },
    completeDue(paths) {
      const at = now.toISOString();
      for (const p of paths) {
        withSessionFile(p, 'inbound', 'write', (d) =>
          d
            .prepare(
              "UPDATE messages_in SET status = 'completed' WHERE status = 'pending' AND process_after <= ?",
            )
            .run(at),
        );
      }
    },
    close() {
      db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (ms: number) => Math.round(ms * 100) / 100;
const hour = (h: number, rest = ':00:01') => `2026-06-01T${String(h).padStart(2, '0')}${rest}.000Z`;

async function idleAndAllDue() {
  const w = world();
  progress('creating 200 sessions with 5 hourly tasks each');
  const sessions = w.addSessions(200, '0 * * * *');
  const idle: number[] = [];
  const due: { ms: number; cpuMs: number; woken: number }[] = [];
  // How long the event loop is held at a stretch while a due tick runs (it yields between batches).
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  for (let h = 9; h <= 14; h++) {
    w.setTime(hour(h - 1, ':30:00'));
    for (let i = 0; i < 10; i++) idle.push((await w.tick()).ms);
    w.setTime(hour(h));
    if (h > 9) loopDelay.enable();
    due.push(await w.tick());
    loopDelay.disable();
    w.completeDue(sessions);
  }
  w.close();
  // The first due tick also compiles the expression and warms the files: reported apart.
  const [first, ...rest] = due;
  return {
    idle: {
      sessions: 200,
      tasks: 1000,
      dueTasks: 0,
      ticks: idle.length,
      medianMs: round(median(idle)),
      maxMs: round(Math.max(...idle)),
    },
    allDue: {
      sessions: 200,
      tasks: 1000,
      dueTasks: 1000,
      sessionsWoken: first!.woken,
      firstTickMs: round(first!.ms),
      medianMs: round(median(rest.map((d) => d.ms))),
      medianCpuMs: round(median(rest.map((d) => d.cpuMs))),
      perDueTaskMs: round(median(rest.map((d) => d.ms)) / 1000),
      // Event-loop delay while due ticks ran: p99 shows the batches; max also catches the OS
      // pausing the process on a busy machine.
      eventLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6),
      eventLoopDelayMaxMs: round(loopDelay.max / 1e6),
      ticks: due.length,
    },
  };
}

async function scaling() {
  const rows: {
    tasksNotDue: number;
    dueTasks: number;
    medianMs: number;
    medianCpuMs: number;
    idleTickMedianMs: number;
  }[] = [];
  for (const idleSessions of [0, 180, 980]) {
    const w = world();
    progress(`20 sessions due, ${idleSessions} sessions not due`);
    const due = w.addSessions(20, '0 * * * *');
    w.addSessions(idleSessions, '0 23 * * *'); // daily at 23:00: never due during the measured hours
    const ticks: number[] = [];
    const cpu: number[] = [];
    const idle: number[] = [];
    for (let h = 9; h <= 15; h++) {
      w.setTime(hour(h - 1, ':30:00'));
      for (let i = 0; i < 5; i++) idle.push((await w.tick()).ms);
      w.setTime(hour(h));
      const { ms, cpuMs, woken } = await w.tick();
      if (woken !== 20) throw new Error(`expected 20 sessions woken, got ${woken}`);
      if (h > 9) {
        ticks.push(ms); // the first due tick warms up
        cpu.push(cpuMs);
      }
      w.completeDue(due);
    }
    rows.push({
      tasksNotDue: idleSessions * TASKS_PER_SESSION,
      dueTasks: 20 * TASKS_PER_SESSION,
      medianMs: round(median(ticks)),
      medianCpuMs: round(median(cpu)),
      idleTickMedianMs: round(median(idle)),
    });
    w.close();
  }
  return rows;
}

const started = performance.now();
const { idle, allDue } = await idleAndAllDue();
const scaled = await scaling();
const result = {
  benchmark: 'scheduling sweep tick',
  // Wall times on a shared machine follow its load; CPU times do not.
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    node: process.version,
    loadAverage1m: round(loadavg()[0]!),
  },
  idle,
  allDue,
  scaling: scaled,
  notDueCostGrowth: round(scaled.at(-1)!.medianCpuMs / scaled[0]!.medianCpuMs),
  totalSeconds: round((performance.now() - started) / 1000),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
