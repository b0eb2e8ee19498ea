// `warren status`: what is wrong, on one screen, from the database, the session files and the engine's
// socket (status-report.ts). `--json` prints the same report as a stable document (docs/operations.md).
// The exit code is 0 when nothing is wrong and 1 when something is: scripts and health checks can use it.
import type { Config } from '../config.ts';
import { findEngineSocket } from '../containers/index.ts';
import { withCentralDb } from './central-db.ts';
import { gatherStatus, type StatusReport } from '../status-report.ts';
import { renderTable } from './table.ts';

export const STATUS_HELP = `warren status [--json]
what is wrong, on one screen: whether the host runs and sweeps, the container engine, containers running
and queued, each channel (connected, last message in and out, last error), pending approvals, held
messages, failed deliveries and messages a crashed runner left behind; then each problem with what to do.
No model is called and the host need not run. Exit code 1 when there is a problem.
--json: the same as a JSON document (docs/operations.md).
`;

export interface StatusIo {
  config: Config;
  args: string[];
  json: boolean;
  hostRunning: () => Promise<boolean>;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export function runStatusCommand(io: StatusIo): Promise<number> {
  const [sub] = io.args;
  return withCentralDb({ name: 'status', sub, usage: STATUS_HELP }, io, async (db) => {
    if (sub !== undefined) {
      io.fail(`warren status: unexpected "${sub}"\n\n${STATUS_HELP}`);
      return 2;
    }
    const report = await gatherStatus({
      db,
      dataDir: io.config.dataDir,
      now: new Date(),
      hostRunning: await io.hostRunning(),
      engineProblem: () =>
        findEngineSocket(io.config.dockerHost).then(
          () => null,
          (err: unknown) => (err instanceof Error ? err.message : String(err)),
        ),
    });
    io.write(io.json ? `${JSON.stringify(report, null, 2)}\n` : statusText(report));
    return report.problems.length === 0 ? 0 : 1;
  });
}

export function statusText(r: StatusReport): string {
  const ago = (iso: string | null) => (iso ? `${iso}` : '-');
  const host = r.host.running
    ? `running (pid ${r.host.pid ?? '?'}, since ${ago(r.host.startedAt)}; last sweep ${
        r.host.sweepLagMs === null ? '?' : `${(r.host.sweepLagMs / 1000).toFixed(1)} s ago`
      }, took ${r.host.lastSweepMs ?? '?'} ms)`
    : 'not running';
  const lines = [
    `host:        ${host}`,
    `engine:      ${r.engine.reachable ? 'answers' : `DOES NOT ANSWER: ${r.engine.error}`}`,
    `containers:  ${r.containers ? `${r.containers.running} running, ${r.containers.queued} queued` : '- (no host)'}`,
    `approvals:   ${r.approvals.pending} pending; ${r.heldMessages} held message(s) waiting on them`,
    `deliveries:  ${r.deliveries.failedLastDay} failed attempt(s) in the last 24 h`,
    '',
    renderTable(
      ['CHANNEL', 'INSTALLATION', 'CONNECTED', 'LAST IN', 'LAST OUT', 'LAST ERROR'],
      r.channels.map((c) => [
        c.type,
        c.installation,
        c.connected === null ? '-' : c.connected ? 'yes' : 'NO',
        ago(c.lastInboundAt),
        ago(c.lastOutboundAt),
        c.lastError ?? '',
      ]),
    ).trimEnd(),
  ];
  if (r.stuckMessages.length > 0) {
    lines.push(
      '',
      renderTable(
        ['SESSION', 'MESSAGE', 'STATUS', 'TRIES', 'SINCE'],
        r.stuckMessages.map((m) => [m.sessionId, m.messageId, m.status, String(m.tries), m.timestamp]),
      ).trimEnd(),
    );
  }
  lines.push(
    '',
    r.problems.length === 0 ? 'no problems' : `problems:\n${r.problems.map((p) => `  - ${p}`).join('\n')}`,
  );
  return `${lines.join('\n')}\n`;
}
