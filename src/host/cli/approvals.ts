// `warren approvals list|show|approve|reject`: decide from the terminal, with or without a running
// host. The operator holds the database, so no role check applies (decisions are audited as
// `cli:<login>`); the payload hash is still checked: `approve` needs the hash `show` printed, so
// what is approved is what was read. The host finishes what follows a decision (cards, the
// requester, held messages, image builds) at its next sweep, or when it next starts.
import { readFileSync } from 'node:fs';
import { getApproval, listApprovals, type Approval } from '../../db/approvals.ts';
import type { Config } from '../config.ts';
import { withCentralDb } from './central-db.ts';
import { renderTable } from './table.ts';

export interface ApprovalsIo {
  config: Config;
  /** The subcommand and its arguments. */
  args: string[];
  all: boolean;
  json: boolean;
  hash?: string;
  note?: string;
  choice?: string;
  /** approve: a JSON file with the edited payload (agent_action only). */
  edited?: string;
  now: Date;
  actor: string;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export const APPROVALS_HELP = `warren approvals list [--all] [--json]       pending ones (--all: every status)
warren approvals show ID [--json]             every field, and the payload hash to approve with
warren approvals approve ID --hash HASH [--note TEXT] [--choice ID] [--edited FILE.json]
warren approvals reject ID [--note TEXT]
`;

/** A hash prefix this long is enough to say which payload was read. */
const MIN_HASH_PREFIX = 12;

export function runApprovalsCommand(io: ApprovalsIo): Promise<number> {
  const [sub, id] = io.args;
  return withCentralDb({ name: 'approvals', sub, usage: APPROVALS_HELP }, io, async (db) => {
    if (sub === undefined || sub === 'list') {
      const rows = listApprovals(db, { status: io.all ? undefined : 'pending', limit: 1000 });
      if (io.json) io.write(`${JSON.stringify(rows, null, 2)}\n`);
      else if (rows.length === 0) io.write(io.all ? 'no approvals\n' : 'no pending approvals\n');
      else
        io.write(renderTable(['ID', 'KIND', 'STATUS', 'EXPIRES (UTC)', 'ASKED BY', 'GROUP'], rows.map(row)));
      return 0;
    }
    if (!['show', 'approve', 'reject'].includes(sub)) {
      io.fail(`warren approvals: unknown subcommand "${sub}"\n\n${APPROVALS_HELP}`);
      return 2;
    }
    const approval = id ? getApproval(db, id) : undefined;
    if (!approval) {
      io.fail(
        id
          ? `warren approvals ${sub}: there is no approval ${id}\n`
          : `warren approvals ${sub}: give the approval id\n`,
      );
      return id ? 1 : 2;
    }
    if (sub === 'show') {
      io.write(io.json ? `${JSON.stringify(approval, null, 2)}\n` : describe(approval));
      return 0;
    }
    let payloadHash = approval.payloadHash; // reject: refusing whatever it is now is always safe
    if (sub === 'approve') {
      const given = (io.hash ?? '').toLowerCase();
      if (given.length < MIN_HASH_PREFIX) {
        io.fail(
          `warren approvals approve: give --hash with at least ${MIN_HASH_PREFIX} characters of the payload hash ` +
            `that \`warren approvals show ${approval.id}\` printed\n`,
        );
        return 2;
      }
      // The full hash when the prefix matches; what was given otherwise, so the decision is refused.
      payloadHash = approval.payloadHash.startsWith(given) ? approval.payloadHash : given.padEnd(64, '0');
    }
    let editedPayload: unknown;
    if (io.edited !== undefined) {
      try {
        editedPayload = JSON.parse(readFileSync(io.edited, 'utf8'));
      } catch (err) {
        io.fail(
          `warren approvals approve: --edited ${io.edited} is not a readable JSON file (${(err as Error).message})\n`,
        );
        return 2;
      }
    }
    // The approvals engine is loaded only to decide: every other command starts without it.
    const { applyDecision } = await import('../approvals/index.ts');
    const outcome = applyDecision(
      db,
      {
        approvalId: approval.id,
        decision: sub === 'approve' ? 'approve' : 'reject',
        decider: { operator: io.actor },
        payloadHash,
        via: 'cli',
        ...(io.note ? { note: io.note } : {}),
        ...(io.choice ? { choice: io.choice } : {}),
        ...(editedPayload !== undefined ? { editedPayload } : {}),
      },
      io.now.toISOString(),
    );
    if (!outcome.ok) {
      io.fail(`warren approvals ${sub}: ${outcome.error}\n`);
      return 1;
    }
    io.write(
      `${approval.id} ${outcome.approval.status}; the host updates the cards and tells the requester at its next ` +
        `sweep (within ${io.config.sweepIntervalMs} ms when it is running, else when it starts)\n`,
    );
    return 0;
  });
}

function row(a: Approval): string[] {
  return [a.id, a.kind, a.status, a.expiresAt, a.requestedBy, a.agentGroupId ?? '-'];
}

function describe(a: Approval): string {
  const lines = [
    `approval     ${a.id}`,
    `kind         ${a.kind}`,
    `status       ${a.status}${a.decidedBy ? ` (by ${a.decidedBy} at ${a.decidedAt})` : ''}`,
    `asked by     ${a.requestedBy}${a.sessionId ? ` (session ${a.sessionId})` : ''}`,
    `agent group  ${a.agentGroupId ?? '- (owners and global admins decide)'}`,
    `expires      ${a.expiresAt}, then ${a.expiryAction === 'approve' ? 'APPROVED' : 'rejected'}`,
    `payload hash ${a.payloadHash}`,
    ...(a.note ? [`note         ${a.note}`] : []),
    '',
    a.renderedEffect,
  ];
  if (a.status === 'pending') {
    lines.push('', `approve with: warren approvals approve ${a.id} --hash ${a.payloadHash.slice(0, 16)}`);
  }
  if (a.appliedPayload && a.decision?.edited) {
    lines.push('', 'applied (edited by the reviewer):', JSON.stringify(a.appliedPayload, null, 2));
  }
  return `${lines.join('\n')}\n`;
}
