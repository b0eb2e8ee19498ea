// The whole pipeline with real containers: web chat → router → session → runner → delivery → web chat.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startWarren, waitUntil, type Warren } from '../harness/warren.ts';

describe('with new web chats wired to main', () => {
  let warren: Warren;

  beforeAll(async () => {
    warren = await startWarren({
      script: {
        rules: [
          {
            match: 'nowhere',
            steps: [
              { tool: 'send_message', args: { to: 'nowhere', text: 'psst' } },
              { reply: 'the tool said: {{tool_result}}' },
            ],
          },
        ],
      },
    });
  });
  afterAll(() => warren?.stop());

  test('a web chat message gets exactly one reply, in reply to its id, recorded as delivered', async () => {
    const chat = await warren.chat('solo');
    await chat.send({ id: 'solo-1', text: 'hello' });

    const [reply] = await chat.waitForReplies(1);
    expect(reply).toMatchObject({ inReplyTo: 'solo-1', text: 'echo: hello', files: [] });
    expect(await chat.sentinel()).toHaveLength(1);
    const attempts = warren
      .db()
      .prepare(
        'SELECT attempt, status, error_code AS errorCode FROM delivery_attempts WHERE idempotency_key = ?',
      )
      .all(reply!.id);
    expect(attempts).toEqual([{ attempt: 1, status: 'delivered', errorCode: null }]);
  });

  test('an agent wired to two chats in shared mode keeps one session per chat', async () => {
    const agent = await warren.wire.agent('shared-agent');
    warren.wire.wiring('shared-a', agent, { sessionMode: 'shared' });
    warren.wire.wiring('shared-b', agent, { sessionMode: 'shared' });
    const [a, b] = await Promise.all([warren.chat('shared-a'), warren.chat('shared-b')]);

    await a.send({ id: 'shared-a1', text: 'from a' });
    await b.send({ id: 'shared-b1', text: 'from b' });

    await expectOnlyReplyTo(a, 'shared-a1', 'echo: from a');
    await expectOnlyReplyTo(b, 'shared-b1', 'echo: from b');
    const sessions = sessionsOf(agent.id);
    expect(sessions.map((s) => s.chat).sort()).toEqual(['shared-a', 'shared-b']);
    expect(sessions.every((s) => s.threadId === null)).toBe(true);
  });

  test('an agent wired to two chats in agent-shared mode keeps one session for both', async () => {
    const agent = await warren.wire.agent('agent-shared-agent');
    warren.wire.wiring('together-a', agent, { sessionMode: 'agent-shared' });
    warren.wire.wiring('together-b', agent, { sessionMode: 'agent-shared' });
    const [a, b] = await Promise.all([warren.chat('together-a'), warren.chat('together-b')]);

    // One after the other: a turn answers only its last message, and here both chats share the turn.
    await a.send({ id: 'together-a1', text: 'from a' });
    await expectOnlyReplyTo(a, 'together-a1', 'echo: from a');
    await b.send({ id: 'together-b1', text: 'from b' });
    await expectOnlyReplyTo(b, 'together-b1', 'echo: from b');
    // a's own answers (its message and its sentinel): nothing of b's turn reached it.
    expect(a.replies().map((r) => r.text)).toEqual(['echo: from a', 'echo: sentinel']);
    expect(sessionsOf(agent.id)).toEqual([{ chat: null, threadId: null }]);
  });

  test('per-thread mode keeps one session per thread of a chat', async () => {
    const agent = await warren.wire.agent('per-thread-agent');
    warren.wire.wiring('threads', agent, { sessionMode: 'per-thread' });
    const chat = await warren.chat('threads');

    await chat.send({ id: 'thread-1a', text: 'first', thread: 't1' });
    await chat.send({ id: 'thread-2a', text: 'second', thread: 't2' });

    await chat.waitForReplies(2);
    expect(chat.repliesTo('thread-1a')).toMatchObject([{ text: 'echo: first', thread: 't1' }]);
    expect(chat.repliesTo('thread-2a')).toMatchObject([{ text: 'echo: second', thread: 't2' }]);
    const sessions = sessionsOf(agent.id);
    expect(sessions.map((s) => s.threadId).sort()).toEqual(['t1', 't2']);
    expect(sessions.every((s) => s.chat === 'threads')).toBe(true);
  });

  test('a pattern wiring that accumulates keeps a non-matching message as context for the next match', async () => {
    const agent = await warren.wire.agent('accumulating', { script: { default: [{ reply: '{{prompt}}' }] } });
    warren.wire.wiring('accumulate', agent, {
      engageMode: 'pattern',
      engagePattern: '^@bot\\b',
      ignoredMessagePolicy: 'accumulate',
    });
    const chat = await warren.chat('accumulate');

    await chat.send({ id: 'acc-1', text: 'the sky is green today' });
    await chat.send({ id: 'acc-2', text: '@bot what colour is the sky?' });

    const [reply] = await chat.waitForReplies(1);
    expect(reply!.inReplyTo).toBe('acc-2');
    expect(reply!.text).toContain('the sky is green today');
    expect(reply!.text).toContain('what colour is the sky?');
    expect(await chat.sentinel({ text: '@bot sentinel' })).toHaveLength(1);
    expect(droppedIn('accumulate')).toEqual([]);
  });

  test('a pattern wiring that drops records a non-matching message as not engaged and never shows it', async () => {
    const agent = await warren.wire.agent('dropping', { script: { default: [{ reply: '{{prompt}}' }] } });
    warren.wire.wiring('drop', agent, {
      engageMode: 'pattern',
      engagePattern: '^@bot\\b',
      ignoredMessagePolicy: 'drop',
    });
    const chat = await warren.chat('drop');

    await chat.send({ id: 'drop-1', text: 'the sky is green today' });
    await chat.send({ id: 'drop-2', text: '@bot what colour is the sky?' });

    const [reply] = await chat.waitForReplies(1);
    expect(reply!.inReplyTo).toBe('drop-2');
    expect(reply!.text).toContain('what colour is the sky?');
    expect(reply!.text).not.toContain('the sky is green today');
    expect(droppedIn('drop')).toEqual([{ reason: 'not_engaged', count: 1, lastMessageId: 'drop-1' }]);
  });

  test('a send to a destination the agent does not have is refused, and the agent reads the refusal', async () => {
    const chat = await warren.chat('nowhere');
    await chat.send({ id: 'nowhere-1', text: 'tell nowhere' });

    const [reply] = await chat.waitForReplies(1);
    expect(reply!.inReplyTo).toBe('nowhere-1');
    expect(reply!.text).toMatch(/^the tool said: unknown destination 'nowhere'.*Nothing was sent\.$/);
    expect(await chat.sentinel({ id: 'nowhere-sentinel' })).toHaveLength(1);
    const sentinel = chat.repliesTo('nowhere-sentinel')[0]!;
    const attempted = warren
      .db()
      .prepare(`SELECT idempotency_key FROM delivery_attempts WHERE session_id = ? ORDER BY id`)
      .pluck()
      .all(sessionOfReply(reply!.id));
    expect(attempted).toEqual([reply!.id, sentinel.id]);
  });

  test('a message to a chat that stopped being a destination is refused by delivery and the agent is told', async () => {
    const agent = await warren.wire.agent('relay', {
      script: {
        rules: [
          {
            match: '^tell ops',
            steps: [{ tool: 'send_message', args: { to: 'ops', text: 'from {{sender}}: {{text}}' } }],
          },
          { match: '^delivery_failed$', steps: [{ reply: 'I could not deliver: {{prompt}}' }] },
        ],
      },
    });
    warren.wire.wiring('relay-desk', agent);
    warren.wire.destination(agent, 'ops', 'relay-ops');
    const [desk, ops] = await Promise.all([warren.chat('relay-desk'), warren.chat('relay-ops')]);
    // The session's container starts (and projects its destinations, ops included) and stays up.
    await desk.send({ id: 'relay-1', text: 'hello' });
    await desk.waitForReplies(1);
    // The operator removes the destination; the running agent still has ops in its copy of the list.
    warren.wire.removeDestination(agent, 'ops');

    await desk.send({ id: 'relay-2', text: 'tell ops the build is red' });

    const notice = await desk.waitForReply((r) => r.text.startsWith('I could not deliver'));
    expect(notice.inReplyTo).toBeNull();
    expect(notice.text).toContain('event="delivery_failed"');
    expect(notice.text).toContain('code: destination_denied');
    const denied = warren
      .db()
      .prepare(
        "SELECT status, error_code AS errorCode FROM delivery_attempts WHERE error_code = 'destination_denied'",
      )
      .all();
    expect(denied).toEqual([{ status: 'failed', errorCode: 'destination_denied' }]);
    expect((await desk.sentinel()).map((r) => r.inReplyTo)).toEqual(['relay-1', null]);
    expect(ops.replies()).toEqual([]);
  });

  test('a platform redelivering the same message gets one reply', async () => {
    const chat = await warren.chat('redelivery');
    expect(await chat.send({ id: 'm1', text: 'hi' })).toBe('m1');
    expect(await chat.send({ id: 'm1', text: 'hi' })).toBe('m1');

    await chat.waitForReplies(1);
    const before = await chat.sentinel();
    expect(before.filter((r) => r.inReplyTo === 'm1')).toHaveLength(1);
    expect(before).toHaveLength(1);
  });

  test('the same message posted twice at once gets one reply', async () => {
    const chat = await warren.chat('redelivery-at-once');
    const ids = await Promise.all([chat.send({ id: 'm2', text: 'hi' }), chat.send({ id: 'm2', text: 'hi' })]);
    expect(ids).toEqual(['m2', 'm2']);

    await chat.waitForReplies(1);
    const before = await chat.sentinel();
    expect(before.filter((r) => r.inReplyTo === 'm2')).toHaveLength(1);
    expect(before).toHaveLength(1);
  });

  function sessionsOf(agentGroupId: string): { chat: string | null; threadId: string | null }[] {
    return warren
      .db()
      .prepare(
        `SELECT m.platform_id AS chat, s.thread_id AS threadId FROM sessions s
         LEFT JOIN messaging_groups m ON m.id = s.messaging_group_id
         WHERE s.agent_group_id = ? ORDER BY s.created_at, s.id`,
      )
      .all(agentGroupId) as { chat: string | null; threadId: string | null }[];
  }

  function droppedIn(chat: string) {
    return warren
      .db()
      .prepare(
        'SELECT reason, count, last_message_id AS lastMessageId FROM dropped_messages WHERE chat_id = ?',
      )
      .all(chat);
  }

  function sessionOfReply(eventId: string): string {
    return warren
      .db()
      .prepare('SELECT session_id FROM delivery_attempts WHERE idempotency_key = ?')
      .pluck()
      .get(eventId) as string;
  }
});

describe('with autoWire off', () => {
  let warren: Warren;

  beforeAll(async () => {
    warren = await startWarren({ autoWire: false });
  });
  afterAll(() => warren?.stop());

  test('a message to an unwired chat is recorded as no_wiring, counted on repeats, and gets no reply', async () => {
    const chat = await warren.chat('unwired');
    await chat.send({ id: 'unwired-1', text: 'anyone there?' });
    await chat.send({ id: 'unwired-2', text: 'hello?' });

    const dropped = () =>
      warren
        .db()
        .prepare(
          `SELECT channel_type AS channel, sender_id AS sender, reason, count, last_message_id AS lastMessageId
           FROM dropped_messages WHERE chat_id = 'unwired'`,
        )
        .all();
    expect(dropped()).toEqual([
      // Not signed in: the sender is the anonymous visitor "tester" of this chat.
      {
        channel: 'webchat',
        sender: 'anon/unwired/tester',
        reason: 'no_wiring',
        count: 2,
        lastMessageId: 'unwired-2',
      },
    ]);
    // One more message, dropped like the others once the router has handled all before it.
    await chat.send({ id: 'unwired-3', text: 'still nobody?' });
    await waitUntil(
      () => (dropped() as { count: number }[])[0]?.count === 3,
      10_000,
      () => `unwired-3 was not counted: ${JSON.stringify(dropped())}`,
    );
    expect(chat.replies()).toEqual([]);
    expect(warren.db().prepare('SELECT count(*) FROM sessions').pluck().get()).toBe(0);
    expect(await warren.containers()).toEqual([]);
  });
});

async function expectOnlyReplyTo(
  chat: Awaited<ReturnType<Warren['chat']>>,
  id: string,
  text: string,
): Promise<void> {
  await waitUntil(
    () => chat.repliesTo(id).length > 0,
    30_000,
    () => `chat ${chat.name}: no reply to ${id} among ${JSON.stringify(chat.replies())}`,
  );
  expect(await chat.sentinel()).toMatchObject([{ inReplyTo: id, text }]);
}
