// `warren approvals` and `warren tokens` as an operator runs them: the real command on a real data
// folder, while the engine (the "host") runs in this process and finishes what follows a decision.
import { userInfo } from 'node:os';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runWarrenCli } from '../harness/warren-cli.ts';
import { listCards } from '../../src/db/approval-cards.ts';
import { getApproval, type Approval } from '../../src/db/approvals.ts';
import { listAuditEvents } from '../../src/db/audit.ts';
import { verifyApiToken } from '../../src/db/tokens.ts';
import { withSessionFile } from '../../src/host/sessions/index.ts';
import { createWorld, type World } from '../harness/approvals.ts';

let w: World;
const warren = (args: string[]) => runWarrenCli(args, { dataDir: w.dataDir });

let approval: Approval;
let session: { id: string };
beforeAll(async () => {
  w = createWorld();
  // The CLI decides on the machine's clock: the world's starts there too.
  w.advance(Date.now() - w.now().getTime());
  session = w.session(w.main);
  const outcome = await w.engine.request({
    kind: 'add_mcp_server',
    agentGroupId: w.main.id,
    sessionId: session.id,
    requestedBy: `agent:${w.main.id}`,
    payload: { name: 'weather', command: 'node', args: ['w.js'], env: { API_KEY: 'k-1' } },
  });
  if (!outcome.ok) throw new Error(outcome.error);
  approval = outcome.approval;
});
afterAll(() => w.close());

test('list shows what is pending; show prints every field and the hash to approve with', async () => {
  const list = await warren(['approvals', 'list']);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(new RegExp(`${approval.id}\\s+add_mcp_server\\s+pending`));
  const show = await warren(['approvals', 'show', approval.id]);
  expect(show.stdout).toContain(`payload hash ${approval.payloadHash}`);
  expect(show.stdout).toContain('API_KEY: "k-1"');
  expect(show.stdout).toContain(
    `warren approvals approve ${approval.id} --hash ${approval.payloadHash.slice(0, 16)}`,
  );
});

test('approve needs the hash that was read; a different one is refused and audited', async () => {
  expect((await warren(['approvals', 'approve', approval.id])).code).toBe(2);
  const wrong = await warren(['approvals', 'approve', approval.id, '--hash', 'abcdef012345']);
  expect(wrong).toMatchObject({ code: 1, stderr: expect.stringMatching(/changed after it was shown/) });
  expect(getApproval(w.db, approval.id)!.status).toBe('pending');
  expect(listAuditEvents(w.db, { target: { kind: 'approval', id: approval.id } })[0]).toMatchObject({
    action: 'approval.decision_refused',
    actor: `cli:${userInfo().username}`,
  });
});

test('approve with the hash applies it once; the host then updates the cards and tells the agent', async () => {
  const ok = await warren([
    'approvals',
    'approve',
    approval.id,
    '--hash',
    approval.payloadHash.slice(0, 16),
    '--note',
    'fine',
  ]);
  expect(ok).toMatchObject({ code: 0, stdout: expect.stringContaining(`${approval.id} approved`) });
  expect(getApproval(w.db, approval.id)).toMatchObject({
    status: 'approved',
    decidedBy: `cli:${userInfo().username}`,
    note: 'fine',
    followupsDoneAt: null,
  });
  expect((await warren(['approvals', 'reject', approval.id])).code).toBe(1); // already decided
  // The host's next sweep finishes what the CLI could not do.
  await w.engine.tick();
  await w.engine.settled();
  expect(getApproval(w.db, approval.id)!.followupsDoneAt).not.toBeNull();
  expect(listCards(w.db, { approvalId: approval.id }).every((c) => c.closedAt)).toBe(true);
  const s = w.session(w.main);
  const told = withSessionFile(s.paths, 'inbound', 'read', (db) =>
    db.prepare("SELECT content FROM messages_in WHERE kind = 'system'").pluck().all(),
  ) as string[];
  expect(told.map((t) => JSON.parse(t))).toEqual([
    expect.objectContaining({ event: 'approval_decided', status: 'approved' }),
  ]);
});

test('tokens: created for the owner and printed once, listed by preview, revoked', async () => {
  const created = await warren(['tokens', 'create', 'ci']);
  expect(created.code).toBe(0);
  const token = created.stdout.split('\n')[0]!;
  expect(verifyApiToken(w.db, token, w.now().toISOString())).toMatchObject({
    userId: w.owner.user.id,
    label: 'ci',
  });
  const list = await warren(['tokens', 'list']);
  expect(list.stdout).toContain(`…${token.slice(-4)}`);
  expect(list.stdout).not.toContain(token);
  const id = /(tok_\S+)/.exec(list.stdout)![1]!;
  expect((await warren(['tokens', 'revoke', id])).code).toBe(0);
  expect(verifyApiToken(w.db, token, w.now().toISOString())).toBeUndefined();
  expect((await warren(['tokens', 'create', 'x', '--user', 'nobody'])).code).toBe(1);
});

test('an expired approval cannot be approved from the CLI with the host stopped; it is settled as it expires', async () => {
  // Nothing sweeps here: the engine in this process does not tick, as with the host stopped.
  // Asked two hours ago with a one-minute TTL.
  w.advance(-2 * 3600_000);
  const outcome = await w.engine.request({
    kind: 'add_mcp_server',
    agentGroupId: w.main.id,
    sessionId: session.id,
    requestedBy: `agent:${w.main.id}`,
    payload: { name: 'late', command: 'node', args: ['late.js'], env: {} },
    ttlMs: 60_000,
  });
  w.advance(2 * 3600_000);
  if (!outcome.ok) throw new Error(outcome.error);
  const late = outcome.approval;
  expect(Date.parse(late.expiresAt)).toBeLessThan(Date.now()); // the CLI's clock is past it
  expect(getApproval(w.db, late.id)!.status).toBe('pending');
  const refused = await warren(['approvals', 'approve', late.id, '--hash', late.payloadHash.slice(0, 16)]);
  expect(refused).toMatchObject({
    code: 1,
    stderr: expect.stringMatching(new RegExp(`approval ${late.id} expired at ${late.expiresAt}`)),
  });
  expect(getApproval(w.db, late.id)).toMatchObject({
    status: 'expired_rejected',
    decidedBy: 'expiry',
    appliedPayload: null,
  });
  const audit = listAuditEvents(w.db, { target: { kind: 'approval', id: late.id } }).map((e) => e.action);
  expect(audit).toEqual(expect.arrayContaining(['approval.decision_refused', 'approval.expired']));
  expect(audit).not.toContain('approval.decided');
  expect(
    (await warren(['approvals', 'approve', late.id, '--hash', late.payloadHash.slice(0, 16)])).code,
  ).toBe(1);
});
