// What `warren status` reports (docs/operations.md), gathered from the central database, the session
// files and the container engine's socket: no model call, and no help from the host, which may be the
// thing that is broken. Plain data out; `problems` names each thing wrong with what to do about it.
import { listChannelInstallations } from '../db/channel-installations.ts';
import type { Db } from '../db/connection.ts';
import { countFailedAttemptsSince, listRecentAttempts } from '../db/deliveries.ts';
import { countHeldMessages } from '../db/held-messages.ts';
import { readHeartbeat, type Heartbeat } from '../db/host-heartbeat.ts';
import { countPendingApprovals } from '../db/approvals.ts';
import { listActiveSessions } from '../db/sessions.ts';
import { errorText } from '../shared/error-text.ts';
import { channelTypeOf } from './channels/index.ts';
import { sessionPaths, troubledMessages, type TroubledMessage } from './sessions/index.ts';

export interface StatusReport {
  /** Bumped when a field changes meaning or goes; new fields may be added without it. */
  version: 1;
  generatedAt: string;
  host: {
    running: boolean;
    pid: number | null;
    startedAt: string | null;
    lastBeatAt: string | null;
    /** Since the host last reported a sweep pass, while it runs; null when it does not. */
    sweepLagMs: number | null;
    lastSweepMs: number | null;
  };
  engine: { reachable: boolean; error: string | null };
  /** As the running host last counted them; null when no host runs. */
  containers: { running: number; queued: number } | null;
  channels: StatusChannel[];
  approvals: { pending: number };
  heldMessages: number;
  deliveries: { failedLastDay: number; recentFailures: StatusFailure[] };
  stuckMessages: (TroubledMessage & { sessionId: string; agentGroupId: string })[];
  problems: string[];
}

export interface StatusChannel {
  type: string;
  /** The installation's status (`enabled`, `disabled`, `error`); `built-in` for web chat and the terminal. */
  installation: 'enabled' | 'disabled' | 'error' | 'built-in';
  /** null: no running host reported on it. */
  connected: boolean | null;
  lastInboundAt: string | null;
  lastOutboundAt: string | null;
  lastError: string | null;
}

export interface StatusFailure {
  at: string;
  sessionId: string | null;
  channelType: string;
  chatId: string | null;
  errorCode: string | null;
  error: string | null;
}

export interface StatusSources {
  db: Db;
  dataDir: string;
  now: Date;
  /** Whether the host answers on its port. */
  hostRunning: boolean;
  /** Pings the container engine; resolves with why it is unreachable, or null when it answers. */
  engineProblem: () => Promise<string | null>;
}

/** A beat older than this many sweep intervals (and at least 30 s) means the host's loop is stuck. */
const STALL_INTERVALS = 5;
const STUCK_SCAN_SESSIONS = 500;
const DAY_MS = 86_400_000;

export async function gatherStatus(sources: StatusSources): Promise<StatusReport> {
  const { db, now, hostRunning } = sources;
  const since = new Date(now.getTime() - DAY_MS).toISOString();
  const beat = hostRunning ? readHeartbeat(db) : undefined;
  const engineProblem = await sources.engineProblem().catch((err: unknown) => errorText(err));
  const report: StatusReport = {
    version: 1,
    generatedAt: now.toISOString(),
    host: hostPart(beat, hostRunning, now),
    engine: { reachable: engineProblem === null, error: engineProblem },
    containers: beat?.containers ?? null,
    channels: channelsPart(db, beat),
    approvals: { pending: countPendingApprovals(db) },
    heldMessages: countHeldMessages(db),
    deliveries: {
      failedLastDay: countFailedAttemptsSince(db, since),
      recentFailures: listRecentAttempts(db, { failedOnly: true, limit: 5 })
        .filter((a) => a.startedAt >= since)
        .map((a) => ({
          at: a.startedAt,
          sessionId: a.sessionId,
          channelType: a.channelType,
          chatId: a.chatId,
          errorCode: a.errorCode,
          error: a.error,
        })),
    },
    stuckMessages: stuckPart(sources, since),
    problems: [],
  };
  report.problems = problemsOf(report, beat);
  return report;
}

function hostPart(beat: Heartbeat | undefined, running: boolean, now: Date): StatusReport['host'] {
  return {
    running,
    pid: beat?.pid ?? null,
    startedAt: beat?.startedAt ?? null,
    lastBeatAt: beat?.beatAt ?? null,
    sweepLagMs: beat ? Math.max(0, now.getTime() - Date.parse(beat.beatAt)) : null,
    lastSweepMs: beat?.sweepMs ?? null,
  };
}

function channelsPart(db: Db, beat: Heartbeat | undefined): StatusChannel[] {
  const reported = (type: string) => beat?.channels[type];
  const row = (type: string, installation: StatusChannel['installation']): StatusChannel => {
    const health = reported(type);
    return {
      type,
      installation,
      connected: health?.connected ?? null,
      lastInboundAt: health?.lastInboundAt ?? null,
      lastOutboundAt: health?.lastOutboundAt ?? null,
      lastError: health?.lastError ?? null,
    };
  };
  return [
    row('webchat', 'built-in'),
    row('cli', 'built-in'),
    ...listChannelInstallations(db).map((i) => row(channelTypeOf(i), i.status)),
  ];
}

/** Messages a crash interrupted, in the active sessions (the most recently active first, bounded). */
function stuckPart(sources: StatusSources, since: string): StatusReport['stuckMessages'] {
  const stuck: StatusReport['stuckMessages'] = [];
  const sessions = listActiveSessions(sources.db)
    .sort((a, b) => (b.lastActive ?? b.createdAt).localeCompare(a.lastActive ?? a.createdAt))
    .slice(0, STUCK_SCAN_SESSIONS);
  for (const session of sessions) {
    try {
      const paths = sessionPaths(sources.dataDir, session.agentGroupId, session.id);
      for (const message of troubledMessages(paths, since, 5)) {
        stuck.push({ ...message, sessionId: session.id, agentGroupId: session.agentGroupId });
      }
    } catch {
      // A session whose inbound.db is missing or locked has nothing to show here.
    }
  }
  return stuck;
}

function problemsOf(report: StatusReport, beat: Heartbeat | undefined): string[] {
  const problems: string[] = [];
  if (!report.host.running) problems.push('the host is not running: start it with `warren start`');
  if (beat && report.host.sweepLagMs !== null) {
    const stalledAfter = Math.max(30_000, STALL_INTERVALS * beat.sweepIntervalMs);
    if (report.host.sweepLagMs > stalledAfter)
      problems.push(
        `the host answers but has not swept for ${Math.round(report.host.sweepLagMs / 1000)} s: its loop is stuck; see its log, then restart it`,
      );
  }
  if (!report.engine.reachable)
    problems.push(
      `the container engine does not answer (${report.engine.error}): start it (bash scripts/setup-container-engine.sh) or set DOCKER_HOST`,
    );
  for (const channel of report.channels) {
    if (channel.connected === false)
      problems.push(
        `channel ${channel.type} is not connected${channel.lastError ? ` (${channel.lastError})` : ''}: check \`warren channels test ${channel.type}\``,
      );
  }
  for (const message of report.stuckMessages) {
    problems.push(
      message.status === 'failed'
        ? `message ${message.messageId} in session ${message.sessionId} failed after ${message.tries} tries (its runner kept crashing): see \`warren sessions show ${message.sessionId}\``
        : `message ${message.messageId} in session ${message.sessionId} is waiting for try ${message.tries + 1} after its runner crashed: see \`warren sessions show ${message.sessionId}\``,
    );
  }
  if (report.deliveries.failedLastDay > 0)
    problems.push(
      `${report.deliveries.failedLastDay} delivery attempt(s) failed in the last 24 h: \`warren deliveries list --failed\``,
    );
  return problems;
}
