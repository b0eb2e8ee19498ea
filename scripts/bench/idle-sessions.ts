// Idle sessions must cost nothing (DESIGN §9): many sessions on disk, none running, and a host whose
// memory and sweep tick do not grow with them.
import { copyFileSync, mkdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openCentralDb } from '../../src/db/connection.ts';
import { newId } from '../../src/db/ids.ts';
import { createSession } from '../../src/db/sessions.ts';
import { DEFAULT_GROUP_FOLDER, initDataFolder } from '../../src/host/data-folder.ts';
import { createLogger } from '../../src/host/logger.ts';
import { createSessionFiles, sessionPaths } from '../../src/host/sessions/index.ts';
import { createSweep } from '../../src/host/sweep.ts';
import { getAgentGroupByFolder } from '../../src/db/agent-groups.ts';
import { benchConfig, startBenchHost, type BenchHost } from './host.ts';
import { openFileDescriptors, rssAfterGcMb } from './memory.ts';
import type { PhaseContext } from './plan.ts';
import { progress } from './progress.ts';
import { round, summarize } from './stats.ts';

export interface SeedReport {
  sessions: number;
  method: 'create' | 'copy';
  rows_ms: number;
  files_ms: number;
  filesystem: string;
  /** What else ran meanwhile. */
  while: string;
}

/**
 * Session rows (each with its own chat) in one transaction. Their folders are made afterwards, by
 * `createSessionFilesShard` (the real function, in parallel processes) or `copySessionFiles`.
 */
export async function seedSessionRows(dataDir: string, groupsDir: string, count: number) {
  const config = benchConfig({ dataDir, groupsDir, maxContainers: 1 });
  const { db } = await initDataFolder(config, () => new Date());
  try {
    const started = performance.now();
    const group = getAgentGroupByFolder(db, DEFAULT_GROUP_FOLDER)!;
    const now = new Date().toISOString();
    // Chats by one prepared statement (validating 10,000 of them costs seconds); sessions by createSession.
    const insertChat = db.prepare(
      `INSERT INTO messaging_groups (id, channel_type, platform_id, is_group, unknown_sender_policy, created_at)
       VALUES (?, 'webchat', ?, 0, 'public', ?)`,
    );
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const chatId = newId('mg');
        insertChat.run(chatId, `idle-${i}`, now);
        createSession(db, { agentGroupId: group.id, messagingGroupId: chatId, threadId: null }, now);
      }
    })();
    return performance.now() - started;
  } finally {
    db.close();
  }
}

/** Every session of the data folder, in a stable order (so shards split it the same way). */
function listSessions(dataDir: string): { id: string; agentGroupId: string }[] {
  const db = new Database(join(dataDir, 'warren.db'), { readonly: true });
  try {
    return db.prepare('SELECT id, agent_group_id AS agentGroupId FROM sessions ORDER BY id').all() as {
      id: string;
      agentGroupId: string;
    }[];
  } finally {
    db.close();
  }
}

export interface Shard {
  index: number;
  of: number;
}

/** This shard's sessions: every `of`-th one, starting at `index`. */
const sessionsOf = (dataDir: string, shard: Shard) =>
  listSessions(dataDir).filter((_, i) => i % shard.of === shard.index);

/** createSessionFiles for each session of the shard; returns how many. */
export function createSessionFilesShard(dataDir: string, shard: Shard): number {
  const sessions = sessionsOf(dataDir, shard);
  for (const s of sessions) createSessionFiles(sessionPaths(dataDir, s.agentGroupId, s.id));
  return sessions.length;
}

/** The fast way: createSessionFiles once, then its two files copied into every session folder. */
export function copySessionFiles(dataDir: string, templateDir: string): number {
  const template = sessionPaths(templateDir, 'template', 'template');
  createSessionFiles(template);
  const sessions = listSessions(dataDir);
  for (const s of sessions) {
    const paths = sessionPaths(dataDir, s.agentGroupId, s.id);
    mkdirSync(paths.inbox, { recursive: true });
    mkdirSync(paths.outbox, { recursive: true });
    copyFileSync(template.inbound, paths.inbound);
    copyFileSync(template.outbound, paths.outbound);
  }
  return sessions.length;
}

/**
 * In a fresh process: start a host on the data folder, read its memory after a GC, then time sweep
 * ticks. The host does not expose its sweep, so the ticks are those of a second sweep built by
 * createSweep with the same dependencies (the same central DB file, a pool with nothing running).
 */
export async function idlePhase(ctx: PhaseContext) {
  const bench = await startBenchHost({ dataDir: ctx.dataDir, groupsDir: ctx.groupsDir, maxContainers: 4 });
  let figures: Awaited<ReturnType<typeof measureIdleHost>>;
  try {
    figures = await measureIdleHost(bench, ctx);
  } finally {
    const stop = await bench.stop();
    if (stop.error) progress(`the host did not stop cleanly: ${stop.error}`);
  }
  return {
    ...figures,
    measured:
      'RSS of a fresh process running only the host, after start-up and a GC; sweep ticks of a sweep ' +
      'built with createSweep on the same central DB and data folder with no container running ' +
      "(the host does not expose its own), timed by the sweep's own report",
  };
}

async function measureIdleHost(bench: BenchHost, ctx: PhaseContext) {
  const rssMb = await rssAfterGcMb();
  const fds = openFileDescriptors();
  const db = openCentralDb(bench.config.centralDbPath);
  try {
    const count = db.prepare("SELECT count(*) FROM sessions WHERE status = 'active'").pluck().get() as number;
    progress(`host with ${count} idle sessions started in ${bench.startMs.toFixed(0)} ms; RSS ${rssMb} MB`);
    const sweep = createSweep({
      db,
      dataDir: ctx.dataDir,
      clock: () => new Date(),
      log: createLogger('warn'),
      pool: { running: () => [], wake: () => {}, stop: async () => {} },
      delivery: { deliverSession: async () => {} },
      closedRetentionMs: bench.config.retention.closedSessionsDays * 86_400_000,
    });
    const ticks: number[] = [];
    for (let i = 0; i < ctx.plan.idle.sweepTicks; i++) ticks.push((await sweep.tick()).ms);
    const tick = summarize(ticks, 3);
    progress(`sweep tick p50 ${tick.p50_ms} ms, max ${tick.max_ms} ms over ${tick.n} ticks`);
    return {
      count,
      host_start_ms: round(bench.startMs),
      host_rss_mb: rssMb,
      open_fds: fds,
      sweep_tick_ms: tick.p50_ms,
      sweep_tick_max_ms: tick.max_ms,
      sweep_tick: tick,
    };
  } finally {
    db.close();
  }
}
