// Two admins deciding the same approvals at the same moment, from two OS processes on one database
// file: BEGIN IMMEDIATE and the conditional UPDATE let exactly one decision through per approval, and
// its effect is applied once, for every kind. One process approves, the other rejects, so an effect
// applied by the loser would show.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, test } from 'vitest';
import { getApproval, type Approval } from '../../src/db/approvals.ts';
import { listAuditEvents } from '../../src/db/audit.ts';
import { createMessagingGroup } from '../../src/db/messaging-groups.ts';
import { addIdentity, createUser } from '../../src/db/users.ts';
import { createWorld } from '../harness/approvals.ts';
import { startRace } from '../harness/race-start.ts';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const w = createWorld();
// The deciding processes use the machine's clock (expiry is checked against it): the world starts there.
w.advance(Date.now() - w.now().getTime());
afterAll(() => w.close());

type Outcome = { id: string; ok: boolean; code?: string };

async function decider(
  userId: string,
  decision: 'approve' | 'reject',
  raceDir: string,
  approvals: Approval[],
) {
  const list = approvals.map((a) => `${a.id},${a.payloadHash}`).join(';');
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/fixtures/decide-approvals.ts',
      join(w.dataDir, 'warren.db'),
      userId,
      decision,
      raceDir,
      list,
    ],
    { cwd: repoRoot },
  );
  return JSON.parse(stdout) as Outcome[];
}

async function askAll(round: number): Promise<Approval[]> {
  const iso = w.now().toISOString();
  const session = w.session(w.main).id;
  const requests = [];
  const sam = createUser(w.db, { displayName: `Sam ${round}` }, iso);
  addIdentity(w.db, { userId: sam.id, kind: 'rich', externalId: `sam-${round}` }, 'test', iso);
  const kim = createUser(w.db, { displayName: `Kim ${round}` }, iso);
  const room = createMessagingGroup(w.db, { channelType: 'rich', platformId: `room-${round}` }, iso);
  requests.push(
    {
      kind: 'new_sender' as const,
      agentGroupId: w.main.id,
      requestedBy: sam.id,
      payload: {
        userId: sam.id,
        senderName: null,
        channelType: 'rich',
        senderId: `sam-${round}`,
        messagingGroupId: room.id,
        chatName: null,
      },
    },
    {
      kind: 'new_channel' as const,
      requestedBy: kim.id,
      payload: {
        messagingGroupId: room.id,
        channelType: 'rich',
        platformId: `room-${round}`,
        isGroup: true,
        suggestedAgentGroupId: w.main.id,
      },
    },
  );
  for (const [kind, payload] of [
    ['install_packages', { apt: [`pkg${round}`], reason: 'r' }],
    ['add_mcp_server', { name: `srv${round}`, command: 'node', args: [], env: { K: 'v' } }],
    ['create_agent', { name: `Helper ${round}`, instructions: 'help' }],
    ['agent_action', { action: 'pay', summary: 's', payload: { round } }],
  ] as const) {
    requests.push({
      kind,
      agentGroupId: w.main.id,
      sessionId: session,
      requestedBy: `agent:${w.main.id}`,
      payload,
    });
  }
  const approvals: Approval[] = [];
  for (const r of requests) {
    const outcome = await w.engine.request(r);
    if (!outcome.ok) throw new Error(outcome.error);
    approvals.push(outcome.approval);
  }
  return approvals;
}

test('two processes decide the same approvals at once: one decision each, effects applied once', async () => {
  const approvals: Approval[] = [];
  for (let round = 0; round < 8; round++) approvals.push(...(await askAll(round)));
  const raceDir = mkdtempSync(join(w.dataDir, 'race-'));
  const [approving, rejecting] = await Promise.all([
    decider(w.owner.user.id, 'approve', raceDir, approvals),
    decider(w.globalAdmin.user.id, 'reject', raceDir, approvals),
    startRace(raceDir, 2),
  ]);

  let approvedCount = 0;
  for (const a of approvals) {
    const mine = approving.find((o) => o.id === a.id)!;
    const theirs = rejecting.find((o) => o.id === a.id)!;
    expect([mine.ok, theirs.ok].filter(Boolean)).toHaveLength(1);
    expect((mine.ok ? theirs : mine).code).toBe('already_decided');
    const decided = getApproval(w.db, a.id)!;
    expect(decided.status).toBe(mine.ok ? 'approved' : 'rejected');
    if (mine.ok) approvedCount++;
    const audit = listAuditEvents(w.db, { target: { kind: 'approval', id: a.id } });
    expect(audit.filter((e) => e.action === 'approval.decided')).toHaveLength(1);
    expect(audit.filter((e) => e.action === 'approval.decision_refused')).toHaveLength(1);
  }
  // Effects, counted in the database: exactly the approved ones, each once.
  const count = (sql: string, ...args: unknown[]) =>
    w.db
      .prepare(sql)
      .pluck()
      .get(...args) as number;
  const approvedOf = (kind: string) =>
    approvals.filter((a) => a.kind === kind && getApproval(w.db, a.id)!.status === 'approved');
  expect(
    count(
      "SELECT count(*) FROM identity_events WHERE event = 'role_changed' AND json_extract(after, '$.role') = 'member'",
    ),
  ).toBe(approvedOf('new_sender').length + approvedOf('new_channel').length);
  expect(count('SELECT count(*) FROM wirings')).toBe(approvedOf('new_channel').length);
  expect(count('SELECT count(*) FROM messaging_groups WHERE denied_at IS NOT NULL')).toBe(
    approvals.filter((a) => a.kind === 'new_channel').length - approvedOf('new_channel').length,
  );
  expect(count("SELECT count(*) FROM agent_groups WHERE folder LIKE 'helper-%'")).toBe(
    approvedOf('create_agent').length,
  );
  expect(count('SELECT count(*) FROM agent_destinations')).toBe(approvedOf('create_agent').length);
  const config = w.db
    .prepare('SELECT container_config FROM agent_groups WHERE id = ?')
    .pluck()
    .get(w.main.id) as string;
  const parsed = JSON.parse(config) as { packages?: { apt: string[] }; mcpServers?: Record<string, unknown> };
  expect((parsed.packages?.apt ?? []).length).toBe(approvedOf('install_packages').length);
  expect(Object.keys(parsed.mcpServers ?? {}).length).toBe(approvedOf('add_mcp_server').length);
  console.log(`racing deciders: ${approvedCount} of ${approvals.length} approved, the rest rejected`);
}, 60_000);
