// The approvals engine counts each decision once, by outcome, whoever made it, and counts the held
// messages a rejection drops (docs/operations.md).
import { afterEach, beforeEach, expect, test } from 'vitest';
import { createMessagingGroup } from '../../src/db/messaging-groups.ts';
import { addIdentity, createUser } from '../../src/db/users.ts';
import { applyDecision, type Approval } from '../../src/host/approvals/index.ts';
import { createWorld, type World } from '../harness/approvals.ts';
import { parsePrometheusText } from '../harness/prometheus.ts';

let w: World;
beforeEach(() => {
  w = createWorld();
});
afterEach(() => w.close());

async function metrics() {
  return parsePrometheusText((await w.metrics.scrape()).text);
}

/** A stranger's message in a chat of main, held until an admin lets them in. */
async function strangerHeld(): Promise<Approval> {
  const iso = w.now().toISOString();
  const sam = createUser(w.db, { displayName: 'Sam' }, iso);
  addIdentity(w.db, { userId: sam.id, kind: 'rich', externalId: 'sam' }, 'test', iso);
  const lobby = createMessagingGroup(w.db, { channelType: 'rich', platformId: 'lobby', isGroup: true }, iso);
  const outcome = await w.engine.request({
    kind: 'new_sender',
    agentGroupId: w.main.id,
    requestedBy: sam.id,
    payload: {
      userId: sam.id,
      senderName: 'Sam',
      channelType: 'rich',
      senderId: 'sam',
      messagingGroupId: lobby.id,
      chatName: null,
    },
    dedupeKey: `new_sender:${lobby.id}:${sam.id}`,
    hold: {
      ...w.inbound(w.outsider, 'hello, can I join?', { chat: 'lobby' }),
      sender: { id: 'sam', name: 'Sam' },
    },
  });
  if (!outcome.ok) throw new Error(outcome.error);
  return outcome.approval;
}

test('a decision counts once by its outcome, however often the sweep looks again', async () => {
  const approval = await strangerHeld();
  const decided = await w.engine.submitDecision({
    approvalId: approval.id,
    decision: 'approve',
    decider: { userId: w.owner.user.id },
    payloadHash: approval.payloadHash,
    via: 'api',
  });
  expect(decided.ok).toBe(true);
  await w.engine.settled();
  await w.engine.tick();
  await w.engine.settled();

  const m = await metrics();
  expect(m.series('warren_approvals_decided_total')).toEqual([{ labels: { status: 'approved' }, value: 1 }]);
  expect(w.replayed).toHaveLength(1); // admitted: the router counts it when it routes it
  expect(m.series('warren_messages_dropped_total')).toEqual([]);
});

test('a rejection made by the CLI counts when the host’s sweep finishes it, with the held message dropped', async () => {
  const approval = await strangerHeld();
  const outcome = applyDecision(
    w.db,
    {
      approvalId: approval.id,
      decision: 'reject',
      decider: { operator: 'cli:ops' },
      payloadHash: approval.payloadHash,
      via: 'cli',
    },
    w.now().toISOString(),
  );
  expect(outcome.ok).toBe(true);
  expect((await metrics()).series('warren_approvals_decided_total')).toEqual([]);

  await w.engine.tick();
  await w.engine.settled();
  const m = await metrics();
  expect(m.series('warren_approvals_decided_total')).toEqual([{ labels: { status: 'rejected' }, value: 1 }]);
  expect(m.series('warren_messages_dropped_total')).toEqual([
    { labels: { reason: 'sender_rejected' }, value: 1 },
  ]);
});
