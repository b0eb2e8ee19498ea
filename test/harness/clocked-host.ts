// A host without containers, driven by a clock the test moves: a real central database and real
// session files, the real scheduler, sweep and delivery, and the real runner code run in-process
// where a container would run it. `restart()` drops the host's parts and builds them again on the
// same files (what a host restart looks like to the data), so tests can stop Warren for three hours
// without waiting three hours.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { closeRunnerSession, openRunnerSession } from '../../container/agent-runner/src/db/session.ts';
import { createLog } from '../../container/agent-runner/src/log.ts';
import { createScriptedProvider } from '../../container/agent-runner/src/providers/scripted.ts';
import { checkForWork } from '../../container/agent-runner/src/turn.ts';
import { createAgentGroup, type AgentGroup } from '../../src/db/agent-groups.ts';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import { createMessagingGroup } from '../../src/db/messaging-groups.ts';
import {
  createSession,
  resetContainerStatuses,
  scheduleWake,
  setContainerStatus,
  wakeInterruptedSessions,
  type Session,
} from '../../src/db/sessions.ts';
import type { Channel, OutboundMessage } from '../../src/host/channels/channel.ts';
import { createChannelRegistry } from '../../src/host/channels/registry.ts';
import { createDelivery, type Delivery } from '../../src/host/delivery/index.ts';
import { createScheduler, type Scheduler, type SchedulingSettings } from '../../src/host/scheduling/index.ts';
import {
  createSessionFiles,
  foldAcks,
  sessionPaths,
  writeRouting,
  type SessionPaths,
} from '../../src/host/sessions/index.ts';
import { nextTriggerDue } from '../../src/host/sessions/recovery.ts';
import type { Sweep } from '../../src/host/sweep.ts';
import type { ToolResult } from '../../container/agent-runner/src/providers/provider.ts';
import { callAgentTool } from './agent-tool.ts';
import { createSweepWithoutContainers } from './sweep-without-containers.ts';

export interface TestSession {
  session: Session;
  paths: SessionPaths;
  chat: string;
}

export interface ClockedHost {
  readonly dataDir: string;
  readonly groupDir: string;
  readonly group: AgentGroup;
  db: Db;
  scheduler: Scheduler;
  sweep: Sweep;
  delivery: Delivery;
  now(): Date;
  setTime(iso: string): void;
  /** A new chat with its session and files; replies go to web chat `chat`. */
  session(chat?: string): TestSession;
  /** The scripted provider's script for every session. */
  script(value: unknown): void;
  /** What the host asked the pool to start, in order. */
  readonly woken: string[];
  /** What users were told directly by the host (notifyUser). */
  readonly notices: { sessionId: string; key: string; text: string }[];
  /** What reached the web chat channel. */
  readonly sent: OutboundMessage[];
  tick(): ReturnType<Sweep['tick']>;
  /** The runner's loop, in-process: turns until nothing is due. Returns how many turns ran. */
  runTurns(s: TestSession): Promise<number>;
  /** What the host does when a container exits: deliver, fold acks, move tasks, arm the next wake. */
  exit(s: TestSession): Promise<void>;
  /** A wake, a container that runs until idle, and its exit. */
  wakeAndRun(s: TestSession): Promise<number>;
  /** The agent calls one of its tools (a real MCP client, as in a turn); returns the result text. */
  agent(s: TestSession, tool: string, args: Record<string, unknown>): Promise<ToolResult>;
  /** Stop every part of the host and start them again on the same files (startedAt = now). */
  restart(): void;
  close(): Promise<void>;
}

const quiet = () => pino({ level: 'silent' });

export function startClockedHost(
  options: { start: string; settings?: Partial<SchedulingSettings>; timezone?: string } = {
    start: '2026-06-01T08:00:00.000Z',
  },
): ClockedHost {
  const root = mkdtempSync(join(tmpdir(), 'warren-clocked-'));
  const dataDir = join(root, 'data');
  const groupDir = join(root, 'groups', 'main');
  mkdirSync(groupDir, { recursive: true });
  let now = new Date(options.start);
  const clock = () => new Date(now);
  const woken: string[] = [];
  const notices: ClockedHost['notices'] = [];
  const sent: OutboundMessage[] = [];
  const db0 = openCentralDb(join(dataDir, 'warren.db'));
  const group = createAgentGroup(
    db0,
    { name: 'Main', folder: 'main', provider: 'scripted', timezone: options.timezone ?? 'UTC' },
    now.toISOString(),
  );
  const channel: Channel = {
    type: 'webchat',
    capabilities: 1,
    connect: async () => {},
    disconnect: async () => {},
    send: async (message) => {
      sent.push(message);
      return { platformMessageId: `p${sent.length}` };
    },
    health: () => ({ connected: true, lastInboundAt: null, lastOutboundAt: null, lastError: null }),
  };
  const channels = createChannelRegistry();
  channels.register(channel);

  const build = (db: Db) => {
    const log = quiet();
    const scheduler = createScheduler({
      db,
      dataDir,
      clock,
      log,
      settings: options.settings,
      notifyUser: async (sessionId, key, text) => {
        notices.push({ sessionId, key, text });
        return true;
      },
      wake: (id) => woken.push(id),
    });
    const delivery = createDelivery({
      db,
      dataDir,
      channels,
      clock,
      log,
      wake: (id) => woken.push(id),
      watchFiles: false,
      pollMs: 3_600_000,
      actions: scheduler,
    });
    const sweep = createSweepWithoutContainers({
      db,
      dataDir,
      clock,
      log,
      wake: (id) => woken.push(id),
      delivery,
      scheduler,
      closedRetentionMs: 30 * 86_400_000,
    });
    return { scheduler, delivery, sweep };
  };

  let parts = build(db0);
  const host: ClockedHost = {
    dataDir,
    groupDir,
    group,
    db: db0,
    scheduler: parts.scheduler,
    sweep: parts.sweep,
    delivery: parts.delivery,
    woken,
    notices,
    sent,
    now: clock,
    setTime(iso) {
      now = new Date(iso);
    },
    session(chat = `chat-${Math.random().toString(36).slice(2, 8)}`) {
      const mg = createMessagingGroup(
        host.db,
        { channelType: 'webchat', platformId: chat, unknownSenderPolicy: 'public' },
        now.toISOString(),
      );
      const session = createSession(
        host.db,
        { agentGroupId: group.id, messagingGroupId: mg.id, threadId: null },
        now.toISOString(),
      );
      const paths = sessionPaths(dataDir, group.id, session.id);
      createSessionFiles(paths);
      writeRouting(paths, { channelType: 'webchat', platformId: chat, threadId: null });
      return { session, paths, chat };
    },
    script(value) {
      writeFileSync(join(groupDir, 'script.json'), JSON.stringify(value));
    },
    tick: () => host.sweep.tick(),
    async runTurns(s) {
      setContainerStatus(host.db, s.session.id, 'running');
      const runner = openRunnerSession({
        sessionId: s.session.id,
        inboundPath: s.paths.inbound,
        outboundPath: s.paths.outbound,
      });
      const provider = createScriptedProvider({
        scriptPath: join(groupDir, 'script.json'),
        exit: (code) => {
          throw new Error(`script asked the runner to exit ${code}`);
        },
      });
      let turns = 0;
      try {
        const deps = {
          session: runner,
          provider,
          clock,
          log: createLog({ sessionId: s.session.id, clock, write: () => {} }),
          heartbeat: () => {},
          heartbeatMs: 60_000,
          timezone: group.timezone ?? 'UTC',
          inDir: s.paths.inDir,
          workspace: groupDir,
          outboxDir: s.paths.outbox,
          signal: new AbortController().signal,
        };
        while ((await checkForWork(deps)).worked) turns++;
      } finally {
        closeRunnerSession(runner);
      }
      return turns;
    },
    async exit(s) {
      setContainerStatus(host.db, s.session.id, 'stopped');
      await host.delivery.deliverSession(s.session.id);
      foldAcks(s.paths);
      host.scheduler.settleSession(s.session.id);
      const { nextAt } = nextTriggerDue(s.paths, now.toISOString());
      if (nextAt) scheduleWake(host.db, s.session.id, nextAt);
    },
    agent(s, tool, args) {
      return callAgentTool(
        {
          sessionId: s.session.id,
          paths: s.paths,
          clock,
          workspace: groupDir,
          timezone: group.timezone ?? 'UTC',
          address: { channelType: 'webchat', platformId: s.chat, threadId: null },
        },
        tool,
        args,
      );
    },
    async wakeAndRun(s) {
      const turns = await host.runTurns(s);
      await host.exit(s);
      return turns;
    },
    restart() {
      void parts.delivery.stop();
      host.db = openCentralDb(join(dataDir, 'warren.db'));
      // The start-up order of src/host/index.ts: no container survives a restart.
      wakeInterruptedSessions(host.db, now.toISOString());
      resetContainerStatuses(host.db);
      parts = build(host.db);
      host.scheduler = parts.scheduler;
      host.sweep = parts.sweep;
      host.delivery = parts.delivery;
    },
    async close() {
      await parts.delivery.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return host;
}
