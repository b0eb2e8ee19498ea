// Where the time of a warm reply goes, read back after the run from what the parts record anyway:
// the client's timings, the session files' timestamps and the runner's "turn completed" log lines.
// Every clock here is the same machine's wall clock (containers share the kernel's), at 1 ms resolution.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ReplyTiming } from './chat-client.ts';
import { median } from './stats.ts';

/** Medians over the samples, in ms; each segment ends where the next begins. */
export interface Breakdown {
  n: number;
  /** POST sent → the web chat channel accepted it (the message's timestamp). */
  http_in_ms: number | null;
  /** accepted → the runner's turn started: routing, inbound.db write, runner wake-up, read, claim write. */
  route_wake_claim_ms: number | null;
  /** (overlaps the above) POST sent → 202 received: routing and the durable inbound write, plus HTTP. */
  accept_202_ms: number | null;
  /** turn start → reply row stamped: MCP tools connect, script read, provider, formatting. */
  turn_ms: number | null;
  /** reply stamped → turn logged: the outbound.db commit (replies + acks, synchronous=FULL). */
  outbound_write_ms: number | null;
  /** committed → channel send done: host file watch wake, delivery pass reads, send to the channel. */
  delivery_wake_send_ms: number | null;
  /** channel send done → onDelivered: delivery attempt row, `delivered` write (fsync), outbox cleanup. */
  delivery_record_ms: number | null;
  /**
   * Only when the runner started after the message arrived (cold): accepted → "runner ready" logged
   * (session creation, container create and start, node and runner start-up), and ready → turn start.
   */
  container_start_ms?: number | null;
  runner_first_claim_ms?: number | null;
}

/** One sample's moments, epoch ms. */
export interface Marks {
  sent: number;
  accepted: number;
  inbound: number;
  turnStart: number;
  replyStamped: number;
  turnLogged: number;
  channelSent: number;
  delivered: number;
  /** The runner's latest start before the turn ("runner ready"). */
  runnerReady: number | null;
}

export interface SampleMarks {
  marks: Marks[];
  /** Samples whose rows or log lines could not all be found (left out). */
  unmatched: number;
}

/**
 * Reads each sample's moments back from its session (after the host stopped, so logs are complete).
 * A sample counts only if the reply row answers the very message that was posted.
 */
export function readMarks(dataDir: string, samples: readonly ReplyTiming[]): SampleMarks {
  const bySession = new Map<string, ReplyTiming[]>();
  for (const s of samples) bySession.set(s.sessionId, [...(bySession.get(s.sessionId) ?? []), s]);
  const marks: Marks[] = [];
  let unmatched = 0;
  for (const [sessionId, timings] of bySession) {
    const folder = findSessionFolder(dataDir, sessionId);
    const log = readRunnerLog(join(dataDir, 'logs', 'sessions', `${sessionId}.log`));
    const inbound = folder ? new Database(join(folder, 'in', 'inbound.db'), { readonly: true }) : null;
    const outbound = folder ? new Database(join(folder, 'out', 'outbound.db'), { readonly: true }) : null;
    try {
      for (const t of timings) {
        const m = inbound && outbound ? marksOf(t, inbound, outbound, log) : null;
        if (m) marks.push(m);
        else unmatched++;
      }
    } finally {
      inbound?.close();
      outbound?.close();
    }
  }
  return { marks, unmatched };
}

/** Server-side latency of each sample: the channel accepted the message → the host reported the reply delivered. */
export const serverLatencies = (marks: readonly Marks[]) => marks.map((m) => m.delivered - m.inbound);

/** The channel accepted the message → the channel took the reply (before the `delivered` record is written). */
export const toChannelLatencies = (marks: readonly Marks[]) => marks.map((m) => m.channelSent - m.inbound);

export function breakdownOf(marks: readonly Marks[]): Breakdown {
  const seg = (from: keyof Marks, to: keyof Marks) => median(marks.map((m) => m[to]! - m[from]!));
  const cold = marks.length > 0 && marks.every((m) => m.runnerReady !== null && m.runnerReady >= m.inbound);
  return {
    n: marks.length,
    http_in_ms: seg('sent', 'inbound'),
    route_wake_claim_ms: seg('inbound', 'turnStart'),
    accept_202_ms: seg('sent', 'accepted'),
    turn_ms: seg('turnStart', 'replyStamped'),
    outbound_write_ms: seg('replyStamped', 'turnLogged'),
    delivery_wake_send_ms: seg('turnLogged', 'channelSent'),
    delivery_record_ms: seg('channelSent', 'delivered'),
    ...(cold
      ? {
          container_start_ms: seg('inbound', 'runnerReady'),
          runner_first_claim_ms: seg('runnerReady', 'turnStart'),
        }
      : {}),
  };
}

function marksOf(
  t: ReplyTiming,
  inbound: Database.Database,
  outbound: Database.Database,
  log: RunnerLog,
): Marks | null {
  const messageOutId = t.key.slice(t.key.indexOf(':') + 1);
  const reply = outbound
    .prepare('SELECT in_reply_to AS inReplyTo, timestamp FROM messages_out WHERE id = ?')
    .get(messageOutId) as { inReplyTo: string; timestamp: string } | undefined;
  if (!reply) return null;
  const message = inbound
    .prepare(
      "SELECT timestamp, json_extract(content, '$.platformMessageId') AS platformId FROM messages_in WHERE id = ?",
    )
    .get(reply.inReplyTo) as { timestamp: string; platformId: string } | undefined;
  const delivered = inbound
    .prepare('SELECT delivered_at AS at FROM delivered WHERE message_out_id = ?')
    .get(messageOutId) as { at: string } | undefined;
  const turn = log.turns.get(reply.inReplyTo);
  // The reply must answer the very message that was posted: otherwise the timing is not its own.
  if (!message || message.platformId !== t.id || !delivered || !turn) return null;
  const turnStart = turn.loggedAt - turn.ms;
  const runnerReady = log.ready.filter((at) => at <= turnStart).at(-1) ?? null;
  return {
    sent: t.sentAtEpochMs,
    accepted: t.sentAtEpochMs + t.acceptedMs,
    inbound: Date.parse(message.timestamp),
    turnStart,
    replyStamped: Date.parse(reply.timestamp),
    turnLogged: turn.loggedAt,
    channelSent: Date.parse(delivered.at),
    delivered: t.deliveredAtEpochMs,
    runnerReady,
  };
}

interface RunnerLog {
  /** "turn completed" lines, by the inbound ids they acked. */
  turns: Map<string, { loggedAt: number; ms: number }>;
  /** "runner ready" times, in order. */
  ready: number[];
}

function readRunnerLog(file: string): RunnerLog {
  const log: RunnerLog = { turns: new Map(), ready: [] };
  if (!existsSync(file)) return log;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const json = line.slice(line.indexOf('{'));
    if (!json.includes('"turn completed"') && !json.includes('"runner ready"')) continue;
    try {
      // pino lines: time is epoch milliseconds. A turn names the messages it took as `corr` (the one
      // it answers) and `batch` (all, when several); older runners logged `ackIds`.
      const entry = JSON.parse(json) as {
        msg: string;
        time: number;
        ms: number;
        corr?: string;
        batch?: string[];
        ackIds?: string[];
      };
      const at = entry.time;
      if (entry.msg === 'runner ready') log.ready.push(at);
      else {
        const ids = entry.batch ?? entry.ackIds ?? (entry.corr ? [entry.corr] : []);
        for (const id of ids) log.turns.set(id, { loggedAt: at, ms: entry.ms });
      }
    } catch {
      // a line cut by log rotation: that sample is counted as unmatched
    }
  }
  return log;
}

function findSessionFolder(dataDir: string, sessionId: string): string | undefined {
  const root = join(dataDir, 'sessions');
  for (const group of existsSync(root) ? readdirSync(root) : []) {
    const folder = join(root, group, sessionId);
    if (existsSync(folder)) return folder;
  }
  return undefined;
}
