// Who may talk to which agent, end to end: the real web chat HTTP API, the real host, real containers
// running the scripted provider, the real approvals engine and admin API (docs/access.md).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { getApproval } from '../../src/db/approvals.ts';
import { addAgentDestination } from '../../src/db/destinations.ts';
import { setUnknownSenderPolicy } from '../../src/db/messaging-groups.ts';
import { addMember } from '../../src/db/roles.ts';
import { setUserDm } from '../../src/db/user-dms.ts';
import { createApiToken } from '../../src/db/tokens.ts';
import type { UnknownSenderPolicy } from '../../src/db/enums.ts';
import { userForAccount } from '../../src/host/access/index.ts';
import { startWarren, waitUntil, type ChatClient, type Reply, type Warren } from '../harness/warren.ts';

const run = promisify(execFile);
const MAX_HOPS = 4;

let warren: Warren;
let ownerToken: string;
let ownerId: string;
const now = () => new Date().toISOString();

beforeAll(async () => {
  warren = await startWarren({
    script: {
      rules: [
        { match: '^start loop', steps: [{ tool: 'send_message', args: { to: 'pong', text: 'ping' } }] },
      ],
    },
    config: { agentMessages: { maxHops: MAX_HOPS } },
  });
  // The operator: owner, with a web chat DM where approval cards arrive, and an API token.
  const owner = warren.wire.owner({ account: 'owner', name: 'Olga', dm: 'owner-dm' });
  ownerToken = createApiToken(warren.wire.db, owner.id, 'e2e', now()).token;
  ownerId = owner.id;
});
afterAll(() => warren?.stop());

/** A web chat room wired to main with the given unknown-sender policy. */
async function room(name: string, policy: UnknownSenderPolicy): Promise<ChatClient> {
  const chat = warren.wire.chat(name);
  setUnknownSenderPolicy(warren.wire.db, chat.id, policy);
  warren.wire.wiring(name, warren.wire.main());
  return warren.chat(name);
}

const dropped = (chat: string) =>
  warren
    .db()
    .prepare('SELECT sender_id AS sender, reason, count FROM dropped_messages WHERE chat_id = ? ORDER BY id')
    .all(chat);

/** Waits until the chat's dropped_messages counts add up to n: the record that those messages were refused. */
function untilDropped(host: Warren, chat: string, n: number): Promise<true> {
  const count = () =>
    host
      .db()
      .prepare('SELECT coalesce(sum(count), 0) FROM dropped_messages WHERE chat_id = ?')
      .pluck()
      .get(chat) as number;
  return waitUntil(
    () => count() >= n,
    10_000,
    () => `${chat}: ${count()} of ${n} messages recorded as dropped`,
  );
}

const heldFor = (approvalId: string) =>
  warren
    .db()
    .prepare('SELECT platform_message_id FROM approval_held_messages WHERE approval_id = ? ORDER BY id')
    .pluck()
    .all(approvalId) as string[];

const approvalsFor = (chat: string) =>
  warren
    .db()
    .prepare(
      `SELECT id, status, dedupe_key AS dedupeKey, payload_hash AS payloadHash FROM approvals
       WHERE kind = 'new_sender' AND json_extract(payload, '$.messagingGroupId') = ?`,
    )
    .all(warren.wire.chat(chat).id) as {
    id: string;
    status: string;
    dedupeKey: string;
    payloadHash: string;
  }[];

/** What agents answered (the host's own notices, e.g. "an admin let you in", answer no message). */
const answersIn = (replies: Reply[]) => replies.filter((r) => r.inReplyTo !== null);
const answers = (chat: ChatClient) => answersIn(chat.replies());

async function decide(approvalId: string, decision: 'approve' | 'reject'): Promise<void> {
  const approval = getApproval(warren.db(), approvalId)!;
  const res = await fetch(`${warren.url}/api/approvals/${approvalId}/decision`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ownerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ decision, payloadHash: approval.payloadHash }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

describe('unknown senders', () => {
  test('strict: an unknown sender gets no answer and is recorded; a member of the agent group does', async () => {
    const chat = await room('strict-room', 'strict');
    await chat.send({ id: 'st-1', text: 'hello?', sender: { id: 'stranger' } });
    await chat.send({ id: 'st-2', text: 'anyone?', sender: { id: 'stranger' } });

    const member = userForAccount(warren.wire.db, { kind: 'webchat', externalId: 'member' }, now());
    addMember(warren.wire.db, member.id, warren.wire.main().id, 'e2e', now());
    // Naming the member's account in the body is not being the member: only their browser is.
    await chat.send({ id: 'st-0', text: 'hi, I am the member', sender: { id: 'member' } });
    // The member's message is the sentinel: an answer to any message before it would come first.
    const before = await chat.sentinel({
      id: 'st-3',
      text: 'hi from a member',
      as: await warren.signIn(member),
    });
    expect(before).toEqual([]);
    expect(dropped('strict-room')).toEqual([
      { sender: 'anon/strict-room/stranger', reason: 'unknown_sender', count: 2 },
      { sender: 'anon/strict-room/member', reason: 'unknown_sender', count: 1 },
    ]);
    expect(approvalsFor('strict-room')).toEqual([]);
  });

  test('public: an unknown sender is answered (and becomes a user, but no member)', async () => {
    const chat = await room('public-room', 'public');
    await chat.send({ id: 'pub-1', text: 'hello', sender: { id: 'passer-by' } });
    expect((await chat.waitForReply((r) => r.inReplyTo === 'pub-1')).text).toBe('echo: hello');
    const user = warren
      .db()
      .prepare(
        `SELECT u.status, (SELECT count(*) FROM agent_group_members m WHERE m.user_id = u.id) AS memberships
         FROM users u JOIN user_identities i ON i.user_id = u.id WHERE i.kind = 'webchat' AND i.external_id = ?`,
      )
      .get('anon/public-room/passer-by');
    expect(user).toEqual({ status: 'active', memberships: 0 });
  });

  test('request_approval: a flood of 50 makes one card; after approval each is answered exactly once, in order', async () => {
    const chat = await room('ask-room', 'request_approval');
    const ownerDm = await warren.chat('owner-dm');
    const ids = Array.from({ length: 50 }, (_, i) => `ask-${i}`);
    await Promise.all(
      ids.map((id) => chat.send({ id, text: `msg ${id}`, sender: { id: 'newcomer', name: 'Nico' } })),
    );

    await ownerDm.waitForReply((r) => r.card !== undefined);
    const [approval, ...more] = approvalsFor('ask-room');
    expect(more).toEqual([]);
    expect(approval).toMatchObject({ status: 'pending' });
    // Cards are recorded before they are sent: one row, one card.
    const cards = warren
      .db()
      .prepare('SELECT count(*) FROM approval_cards WHERE approval_id = ?')
      .pluck()
      .get(approval!.id);
    expect(cards).toBe(1);
    expect(ownerDm.replies().filter((r) => r.card !== undefined)).toHaveLength(1);
    // Every message is held, none routed: no session exists, so nothing in the room can answer.
    await waitUntil(
      () => heldFor(approval!.id).length >= ids.length,
      10_000,
      () => `${heldFor(approval!.id).length} of ${ids.length} messages held`,
    );
    const held = heldFor(approval!.id);
    expect([...held].sort()).toEqual([...ids].sort());
    expect(warren.sessionOf('ask-room')).toBeUndefined();
    expect(chat.replies()).toEqual([]);

    await decide(approval!.id, 'approve');

    await waitUntil(
      () => answers(chat).length >= 50,
      60_000,
      () => `${answers(chat).length} answers`,
    );
    // Replayed in the order they were held: the session's rows follow the held order.
    const session = warren.sessionOf('ask-room')!;
    const rows = sessionRows(session.paths.inbound);
    expect(rows).toEqual(held);
    // The newcomer is a member now: the next message goes straight through. It is the sentinel: a
    // second answer to a held message would come before its reply.
    const before = await chat.sentinel({ id: 'ask-after', text: 'thanks', sender: { id: 'newcomer' } });
    const replies = answersIn(before);
    expect(replies).toHaveLength(50);
    expect(replies.map((r) => r.inReplyTo).sort()).toEqual([...ids].sort());
    expect(approvalsFor('ask-room')).toHaveLength(1);
  });

  test('request_approval: after a rejection nothing is answered, the messages are recorded, no new card', async () => {
    const chat = await room('no-room', 'request_approval');
    await chat.send({ id: 'no-1', text: 'let me in', sender: { id: 'unwanted' } });
    await chat.send({ id: 'no-2', text: 'please', sender: { id: 'unwanted' } });
    const [approval] = await waitUntil(
      () => (approvalsFor('no-room').length > 0 ? approvalsFor('no-room') : undefined),
      10_000,
      () => 'no approval was requested',
    );
    await decide(approval!.id, 'reject');
    await chat.send({ id: 'no-3', text: 'again', sender: { id: 'unwanted' } });
    // All three are recorded as refused (the rejection settles the held two) and no session exists:
    // no agent saw any of them, so nothing can answer.
    await untilDropped(warren, 'no-room', 3);
    expect(dropped('no-room')).toEqual([
      { sender: 'anon/no-room/unwanted', reason: 'sender_rejected', count: 3 },
    ]);
    expect(warren.sessionOf('no-room')).toBeUndefined();
    expect(answers(chat)).toEqual([]);
    expect(approvalsFor('no-room')).toMatchObject([{ status: 'rejected' }]);
  });
});

test('a suspended user gets no answer from any agent, and it is recorded', async () => {
  const sam = userForAccount(warren.wire.db, { kind: 'webchat', externalId: 'sam' }, now());
  const browser = await warren.signIn(sam);
  const chat = await warren.chat('sam-dm', { as: browser }); // auto-wired to main, public
  await chat.send({ id: 'sam-1', text: 'before' });
  await chat.waitForReply((r) => r.inReplyTo === 'sam-1');

  const suspend = await warren_(['users', 'suspend', 'webchat:sam']);
  expect(suspend.stdout).toMatch(/suspended/);
  await chat.send({ id: 'sam-2', text: 'after' });
  await untilDropped(warren, 'sam-dm', 1);
  expect(dropped('sam-dm')).toEqual([{ sender: `user/${sam.id}`, reason: 'user_suspended', count: 1 }]);
  // Someone else's message in the chat is the sentinel: an answer to sam-2 would come before its reply.
  const friend = userForAccount(warren.wire.db, { kind: 'webchat', externalId: 'sam-friend' }, now());
  const before = await chat.sentinel({ as: await warren.signIn(friend) });
  expect(before.map((r) => r.inReplyTo)).toEqual(['sam-1']);
});

test('"/link" in web chat is refused by the host, makes no code and never reaches the agent', async () => {
  // Anyone who knows a chat's name can open its event stream: a code shown there would be theirs.
  const lina = userForAccount(warren.wire.db, { kind: 'webchat', externalId: 'lina' }, now());
  const web = await warren.chat('lina-dm', { as: await warren.signIn(lina) });
  await web.send({ id: 'l-1', text: '/link' });
  await web.waitForReply((r) => /not available in web chat/.test(r.text));
  // An anonymous visitor's handle is anyone's: it may neither ask for nor use a code.
  const other = await warren.chat('lina-laptop');
  await other.send({ id: 'l-2', text: '/link', sender: { id: 'lina' } });
  await other.waitForReply((r) => /not available to anonymous visitors/.test(r.text));
  await other.send({ id: 'l-3', text: '/link ABCDE-FGHJK', sender: { id: 'lina' } });
  await waitUntil(
    () => other.replies().length >= 2,
    10_000,
    () => JSON.stringify(other.replies()),
  );

  expect(warren.db().prepare('SELECT count(*) FROM binding_tokens').pluck().get()).toBe(0);
  // No session was made: no agent saw any of it.
  expect(warren.sessionOf('lina-dm')).toBeUndefined();
  expect(warren.sessionOf('lina-laptop')).toBeUndefined();
});

describe("a local process that knows the owner's account id", () => {
  const ownersDm = () =>
    warren.db().prepare('SELECT messaging_group_id FROM user_dms WHERE user_id = ?').all(ownerId);

  test("posting under it is an anonymous visitor: not the owner, not answered in a strict chat, and the owner's DM stays put", async () => {
    const chat = await room('owners-only', 'strict');
    const dmBefore = ownersDm();
    await chat.send({ id: 'fo-1', text: 'it is me, the owner', sender: { id: 'owner', name: 'Olga' } });
    await untilDropped(warren, 'owners-only', 1);
    expect(dropped('owners-only')).toEqual([
      { sender: 'anon/owners-only/owner', reason: 'unknown_sender', count: 1 },
    ]);
    expect(ownersDm()).toEqual(dmBefore);
    // The real owner, acting through an admin API token, is answered there.
    const res = await fetch(`${warren.url}/webchat/api/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ownerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ chat: 'owners-only', sender: { id: 'whatever' }, text: 'hi', id: 'fo-2' }),
    });
    expect(res.status).toBe(202);
    // Its answer is the sentinel: an answer to fo-1 would have come before it.
    const answer = await chat.waitForReply((r) => r.inReplyTo === 'fo-2');
    expect(chat.replies().slice(0, chat.replies().indexOf(answer))).toEqual([]);
  });

  test("its clicks on the owner's card are refused and the approval stays pending; a wrong token is a 401", async () => {
    // The owner's own post above made that chat their direct chat; cards go to owner-dm again.
    setUserDm(warren.wire.db, ownerId, warren.wire.chat('owner-dm').id, now());
    const chat = await room('asks-owner', 'request_approval');
    const ownerDm = await warren.chat('owner-dm');
    await chat.send({ id: 'ao-1', text: 'let me in', sender: { id: 'intruder' } });
    const card = await ownerDm.waitForReply((r) => r.card !== undefined);
    // The owner's chat stream, opened without sign-in, shows the card but not its decision values.
    const options = (card.card as { options: { label: string; value?: string }[] }).options;
    expect(options.map((o) => o.value)).toEqual([undefined, undefined]);
    // A value obtained anyway (it is the approval id and payload hash) and replayed does nothing.
    const [pending] = approvalsFor('asks-owner');
    const replayed = await fetch(`${warren.url}/webchat/api/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        chat: 'owner-dm',
        sender: { id: 'owner', name: 'Olga' },
        value: `apr:${pending!.id}:approve:${pending!.payloadHash}`,
        messageId: card.id,
      }),
    });
    expect(replayed.status).toBe(202);
    await ownerDm.waitForReply((r) => /^Sorry, only a signed-in person/.test(r.text));
    const forged = await fetch(`${warren.url}/webchat/api/actions`, {
      method: 'POST',
      headers: { authorization: 'Bearer wrn_guessed', 'content-type': 'application/json' },
      body: JSON.stringify({ chat: 'owner-dm', sender: { id: 'owner' }, value: 'x' }),
    });
    expect(forged.status).toBe(401);
    // The replayed click was handled (its "Sorry" came back) and decided nothing; ao-1 is still held
    // and no session exists, so no agent saw it.
    expect(approvalsFor('asks-owner')).toMatchObject([{ status: 'pending' }]);
    expect(heldFor(pending!.id)).toEqual(['ao-1']);
    expect(warren.sessionOf('asks-owner')).toBeUndefined();
    expect(answers(chat)).toEqual([]);
  });
});

test('two agents answering each other stop at the loop cap, and the operator can see why', async () => {
  const main = warren.wire.main();
  const pong = await warren.wire.agent('pong'); // echoes
  addAgentDestination(warren.wire.db, main.id, 'pong', pong.id, now());
  const chat = await warren.chat('loop-room');
  await chat.send({ id: 'loop-1', text: 'start loop', sender: { id: 'looper' } });

  const capped = await waitUntil(
    () =>
      warren
        .db()
        .prepare(
          `SELECT channel_type AS channel, chat_id AS target, sender_id AS source, reason, count FROM dropped_messages
           WHERE reason = 'agent_loop_capped'`,
        )
        .get(),
    60_000,
    () => 'the loop was not capped',
  );
  expect(capped).toEqual({
    channel: 'agent',
    target: pong.id,
    source: main.id,
    reason: 'agent_loop_capped',
    count: 1,
  });
  // main answers a message sent after the cap only once its session has dealt with everything before
  // it (the refusal included): the loop is over, and nothing reached the chat before that answer.
  const before = await chat.sentinel({ sender: { id: 'looper' } });
  expect(before).toEqual([]);
  const agentMessages = warren
    .db()
    .prepare(
      `SELECT status, error_code AS code FROM delivery_attempts WHERE channel_type = 'agent' ORDER BY id`,
    )
    .all();
  expect(agentMessages).toEqual([
    ...Array.from({ length: MAX_HOPS }, () => ({ status: 'delivered', code: null })),
    { status: 'failed', code: 'forbidden' },
  ]);
  // The sending agent was told (a system row that starts no turn), the log says why, `warren dropped` shows it.
  const session = warren.sessionOf('loop-room')!;
  expect(systemEvents(session.paths.inbound)).toEqual(['agent_message_refused']);
  expect(await warren.logs()).toMatch(/agent message refused: this would be agent message 5 in a row/);
  const listing = await warren_(['dropped']);
  expect(listing.stdout).toMatch(new RegExp(`agent_loop_capped\\s+1\\s+agent\\s+${pong.id}\\s+${main.id}`));
});

function warren_(args: string[]) {
  return run(process.execPath, ['bin/warren.js', ...args, '--data-dir', warren.dataDir], {
    env: { ...process.env, WARREN_PORT: '1' },
  });
}

function sessionRows(inbound: string): string[] {
  const db = new Database(inbound, { readonly: true });
  try {
    return db
      .prepare(
        "SELECT json_extract(content, '$.platformMessageId') FROM messages_in WHERE kind = 'chat' ORDER BY seq",
      )
      .pluck()
      .all() as string[];
  } finally {
    db.close();
  }
}

function systemEvents(inbound: string): string[] {
  const db = new Database(inbound, { readonly: true });
  try {
    return db
      .prepare("SELECT json_extract(content, '$.event') FROM messages_in WHERE kind = 'system' ORDER BY seq")
      .pluck()
      .all() as string[];
  } finally {
    db.close();
  }
}

describe('a mention in a chat nobody wired (autoWire off)', () => {
  let unwired: Warren;
  let token: string;

  beforeAll(async () => {
    unwired = await startWarren({ autoWire: false });
    const owner = unwired.wire.owner({ account: 'owner', dm: 'owner-dm' });
    token = createApiToken(unwired.wire.db, owner.id, 'e2e', now()).token;
  });
  afterAll(() => unwired?.stop());

  const registrations = (chat: string) =>
    unwired
      .db()
      .prepare(
        `SELECT id, status, payload_hash AS payloadHash FROM approvals
         WHERE kind = 'new_channel' AND json_extract(payload, '$.platformId') = ?`,
      )
      .all(chat) as { id: string; status: string; payloadHash: string }[];

  async function decideChannel(chat: string, body: Record<string, unknown>): Promise<void> {
    const [approval] = await waitUntil(
      () => (registrations(chat).length > 0 ? registrations(chat) : undefined),
      10_000,
      () => `no registration card for ${chat}`,
    );
    const res = await fetch(`${unwired.url}/api/approvals/${approval!.id}/decision`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ payloadHash: approval!.payloadHash, ...body }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
  }

  test('asks the owner once to connect it; approved, the held mentions are answered', async () => {
    const chat = await unwired.chat('new-room');
    await chat.send({ id: 'nr-1', text: 'hello bot', sender: { id: 'visitor' } });
    await chat.send({ id: 'nr-2', text: 'are you there?', sender: { id: 'visitor' } });
    await chat.send({ id: 'nr-3', text: 'not for the bot', sender: { id: 'visitor' }, mentioned: false });
    await decideChannel('new-room', { decision: 'approve', choice: unwired.wire.main().id });

    await waitUntil(
      () => answers(chat).length >= 2,
      30_000,
      () => JSON.stringify(chat.replies()),
    );
    // The visitor is a member now; their next message is the sentinel: an answer to nr-3, or a second
    // one to nr-1 or nr-2, would come before its reply.
    const before = await chat.sentinel({ sender: { id: 'visitor' } });
    expect(
      answersIn(before)
        .map((r) => r.inReplyTo)
        .sort(),
    ).toEqual(['nr-1', 'nr-2']);
    expect(registrations('new-room')).toMatchObject([{ status: 'approved' }]);
    const dropped = unwired
      .db()
      .prepare("SELECT reason, count FROM dropped_messages WHERE chat_id = 'new-room'")
      .all();
    expect(dropped).toEqual([{ reason: 'no_wiring', count: 1 }]);
  });

  test('rejected, the chat is denied: it stays quiet, is recorded, and never asks again', async () => {
    const chat = await unwired.chat('spam-room');
    await chat.send({ id: 'sp-1', text: 'hey bot', sender: { id: 'spammer' } });
    await decideChannel('spam-room', { decision: 'reject' });
    await chat.send({ id: 'sp-2', text: 'hey bot!!', sender: { id: 'spammer' } });
    await chat.send({ id: 'sp-3', text: 'hey bot!!!', sender: { id: 'spammer' } });
    // All three are recorded as refused and no session exists: no agent saw any of them.
    await untilDropped(unwired, 'spam-room', 3);
    expect(unwired.sessionOf('spam-room')).toBeUndefined();
    expect(answers(chat)).toEqual([]);
    expect(registrations('spam-room')).toMatchObject([{ status: 'rejected' }]);
    const denied = unwired
      .db()
      .prepare(
        "SELECT denied_at FROM messaging_groups WHERE channel_type = 'webchat' AND platform_id = 'spam-room'",
      )
      .pluck()
      .get();
    expect(denied).toEqual(expect.any(String));
    const dropped = unwired
      .db()
      .prepare("SELECT reason, count FROM dropped_messages WHERE chat_id = 'spam-room'")
      .all();
    expect(dropped).toEqual([{ reason: 'chat_denied', count: 3 }]);
  });
});
