// The agent's approval tools as a turn calls them (real MCP client, real session files), through
// delivery's action hook into the engine: one approval per request, checked again on the host.
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { listApprovals } from '../../src/db/approvals.ts';
import { withSessionFile, type SessionPaths } from '../../src/host/sessions/index.ts';
import { createWorld, type World } from '../harness/approvals.ts';

let w: World;
beforeEach(() => {
  w = createWorld();
});
afterEach(() => w.close());

const delivered = (paths: SessionPaths) =>
  withSessionFile(paths, 'inbound', 'read', (db) =>
    db.prepare('SELECT message_out_id AS id, status FROM delivered').all(),
  ) as { id: string; status: string }[];
const systemNotes = (paths: SessionPaths) =>
  (
    withSessionFile(paths, 'inbound', 'read', (db) =>
      db.prepare("SELECT content FROM messages_in WHERE kind = 'system' ORDER BY seq").pluck().all(),
    ) as string[]
  ).map((c) => JSON.parse(c) as Record<string, unknown>);

test.each([
  [
    'request_approval',
    { action: 'send_invoice', summary: 'Invoice ACME', payload: { amount: 120 } },
    'agent_action',
  ],
  ['install_packages', { apt: ['jq'], reason: 'JSON' }, 'install_packages'],
  [
    'add_mcp_server',
    { name: 'files', command: 'node', args: ['fs.js'], env: { ROOT: '/workspace' } },
    'add_mcp_server',
  ],
  ['create_agent', { name: 'Scout', instructions: 'You look things up.' }, 'create_agent'],
])('%s asks for one approval of its kind, with cards to the approvers', async (tool, args, kind) => {
  const s = w.session(w.main);
  const result = await w.agent(s, tool, args);
  expect(result.isError).toBe(false);
  const [approval, ...more] = listApprovals(w.db, { limit: 10 });
  expect(more).toEqual([]);
  expect(approval).toMatchObject({
    kind,
    status: 'pending',
    sessionId: s.id,
    agentGroupId: w.main.id,
    requestedBy: `agent:${w.main.id}`,
  });
  expect(delivered(s.paths)).toEqual([{ id: expect.any(String), status: 'delivered' }]);
  // Owner (numbered text), global admin (card); Ada administers another group, Mallory nothing.
  expect(w.text.sent.filter((m) => m.chatId === w.owner.dm)).toHaveLength(1);
  expect(w.rich.sent.filter((m) => m.chatId === w.globalAdmin.dm)).toHaveLength(1);
  expect(w.rich.sent.filter((m) => m.chatId === w.otherAdmin.dm || m.chatId === w.outsider.dm)).toEqual([]);
});

test('the outcome reaches the agent with the seq of its request', async () => {
  const s = w.session(w.main);
  const { seq } = JSON.parse(
    (await w.agent(s, 'request_approval', { action: 'a', summary: 'b', payload: {} })).text,
  ) as {
    seq: number;
  };
  const [approval] = listApprovals(w.db, { limit: 1 });
  await w.engine.submitDecision({
    approvalId: approval!.id,
    decision: 'reject',
    decider: { userId: w.owner.user.id },
    payloadHash: approval!.payloadHash,
    note: 'not today',
    via: 'api',
  });
  await w.engine.settled();
  expect(systemNotes(s.paths)).toEqual([
    expect.objectContaining({
      event: 'approval_decided',
      requestSeq: seq,
      status: 'rejected',
      approved: false,
      note: 'not today',
    }),
  ]);
});

test('the tool refuses what the host would refuse, and writes nothing', async () => {
  const s = w.session(w.main);
  const result = await w.agent(s, 'install_packages', { apt: ['../../etc/passwd'], reason: 'x' });
  expect(result).toMatchObject({ isError: true, text: expect.stringMatching(/Debian package name/) });
  expect(listApprovals(w.db, { limit: 10 })).toEqual([]);
});

test('a row the runner did not check is refused by the host and the agent is told why', async () => {
  const s = w.session(w.main);
  const out = new Database(s.paths.outbound);
  out
    .prepare(
      `INSERT INTO messages_out (id, seq, timestamp, kind, content) VALUES ('bad-1', 1, ?, 'system', ?)`,
    )
    .run(
      w.now().toISOString(),
      JSON.stringify({ op: 'action', action: 'add_mcp_server', payload: { name: 'x y', command: '' } }),
    );
  out.close();
  await w.delivery.deliverSession(s.id);
  expect(listApprovals(w.db, { limit: 10 })).toEqual([]);
  expect(delivered(s.paths)).toEqual([{ id: 'bad-1', status: 'failed' }]);
  expect(systemNotes(s.paths)).toEqual([
    expect.objectContaining({
      event: 'approval_request_refused',
      action: 'add_mcp_server',
      messageOutId: 'bad-1',
    }),
  ]);
  expect(w.woken).toContain(s.id);
});

test('the same action row handed over twice (a crash before it was recorded) asks once', async () => {
  const s = w.session(w.main);
  const row = {
    id: 'out-1',
    timestamp: w.now().toISOString(),
    action: 'create_agent',
    payload: { name: 'Twin', instructions: 'i' },
  };
  await w.engine.actions.apply(s.id, row);
  await w.engine.actions.apply(s.id, row);
  expect(listApprovals(w.db, { limit: 10 })).toHaveLength(1);
});
