// Crashes of the host and of session containers: every message is still answered exactly once.
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SessionPaths } from '../../src/host/sessions/index.ts';
import { readAcks } from '../harness/session-acks.ts';
import {
  PostError,
  startWarren,
  waitUntil,
  type ChatClient,
  type SendInput,
  type Warren,
} from '../harness/warren.ts';

describe('a host killed with kill -9', () => {
  let warren: Warren;

  beforeAll(async () => {
    // A container per chat: no chat waits behind busy ones (the cap has its own test below).
    warren = await startWarren({ inProcess: false, containers: { maxTotal: 5 } });
  });
  afterAll(() => warren?.stop());

  test('every message of 200 in flight across 5 chats gets exactly one reply after a restart', async () => {
    const CHATS = 5;
    const PER_CHAT = 40;
    const chats = await Promise.all(Array.from({ length: CHATS }, (_, c) => warren.chat(`crash-${c}`)));
    const total = () => chats.reduce((n, chat) => n + chat.replies().length, 0);
    const rePosted = new Set<string>();
    /** Per chat: the message accepted (202) and not yet answered, if any. */
    const awaiting: (string | undefined)[] = [];
    let acceptedAtKill = 0;
    let repliesAtKill = 0;

    // Each chat is a person who sends the next message once the last one was answered; a POST that
    // fails (the host is down) is sent again with the same id, as a real client would.
    const conversations = chats.map(async (chat, c) => {
      for (let i = 0; i < PER_CHAT; i++) {
        const id = `crash-${c}-${i}`;
        await postUntilAccepted(chat, { id, text: `message ${i}` }, rePosted, 60_000);
        awaiting[c] = id;
        await chat.waitForReply((r) => r.inReplyTo === id, 60_000);
        awaiting[c] = undefined;
      }
    });
    const crash = (async () => {
      await waitUntil(
        () => total() >= 60,
        60_000,
        () => `only ${total()} replies before the crash`,
      );
      await warren.kill9();
      acceptedAtKill = awaiting.filter(Boolean).length;
      repliesAtKill = total();
      // The outage itself, not a wait for anything: clients posting now hit a dead port.
      await sleep(500);
      await warren.restart();
    })();

    await Promise.all([crash, ...conversations]);
    // A reply sent twice would arrive before the chat's answer to one more message.
    const answered = await Promise.all(chats.map((chat) => chat.sentinel()));

    for (const [c, replies] of answered.entries()) {
      const perId = countBy(replies.map((r) => r.inReplyTo ?? '(none)'));
      const expected = Array.from({ length: PER_CHAT }, (_, i) => [`crash-${c}-${i}`, 1]);
      expect(Object.entries(perId).sort()).toEqual(expected.sort());
      expect(replies.every((r) => r.text === `echo: message ${r.inReplyTo!.split('-')[2]}`)).toBe(true);
    }
    expect(answered.flat()).toHaveLength(CHATS * PER_CHAT);
    // Not a check on Warren but on the test: the kill landed while messages were in flight.
    console.log(
      `kill -9 after ${repliesAtKill} replies: ${acceptedAtKill} accepted messages awaited their reply, ` +
        `${rePosted.size} were re-posted; clients dropped ${sum(chats)} repeated events`,
    );
    expect(acceptedAtKill + rePosted.size).toBeGreaterThan(0);
  }, 120_000);
});

describe('a host killed with kill -9 in the middle of a burst', () => {
  let warren: Warren;

  beforeAll(async () => {
    warren = await startWarren({
      inProcess: false,
      containers: { maxTotal: 5 },
      // Slow enough turns that the kill lands with most of the burst written but not yet answered.
      script: { default: [{ delay: 150 }, { reply: 'echo: {{text}}' }] },
    });
  });
  afterAll(() => warren?.stop());

  test('200 messages posted at once across 5 chats each get exactly one reply after a restart', async () => {
    const CHATS = 5;
    const PER_CHAT = 40;
    const chats = await Promise.all(Array.from({ length: CHATS }, (_, c) => warren.chat(`burst-${c}`)));
    const ids = chats.flatMap((_, c) => Array.from({ length: PER_CHAT }, (_, i) => `burst-${c}-${i}`));
    const rePosted = new Set<string>();
    // Like a real client: a POST that fails (the host is down) is sent again, same id, until accepted.
    const post = (c: number, id: string) => postUntilAccepted(chats[c]!, { id, text: id }, rePosted, 90_000);
    const posting = Promise.all(ids.map((id) => post(Number(id.split('-')[1]), id)));
    const total = () => chats.reduce((n, chat) => n + chat.replies().length, 0);
    await waitUntil(
      () => total() >= 5,
      60_000,
      () => `only ${total()} replies before the crash`,
    );
    const answeredAtKill = total();
    await warren.kill9();
    await sleep(300); // the outage itself, not a wait for anything
    await warren.restart();
    await posting;

    await Promise.all(chats.map((chat) => chat.waitForReplies(PER_CHAT, 90_000)));
    // A reply sent twice would arrive before the chat's answer to one more message.
    const answered = await Promise.all(chats.map((chat) => chat.sentinel({}, 60_000)));
    const perId = countBy(answered.flat().map((r) => r.inReplyTo ?? '(none)'));
    expect(Object.keys(perId).sort()).toEqual([...ids].sort());
    expect(Object.values(perId).every((n) => n === 1)).toBe(true);
    console.log(`burst: kill -9 after ${answeredAtKill} of 200 replies; ${rePosted.size} posts retried`);
    expect(answeredAtKill).toBeLessThan(200); // the kill landed while messages were in flight
  }, 180_000);
});

describe('a host killed with kill -9 while a wake waits behind the container cap', () => {
  let warren: Warren;

  beforeAll(async () => {
    warren = await startWarren({
      inProcess: false,
      containers: { maxTotal: 1 },
      idleExitMs: 1000, // the queued session starts once the busy one is idle
      script: { rules: [{ match: '^slow', steps: [{ delay: 2000 }, { reply: 'done: {{text}}' }] }] },
    });
  });
  afterAll(() => warren?.stop());

  test('the running and the queued message are both answered once after a restart', async () => {
    const [busy, waiting] = await Promise.all([warren.chat('busy'), warren.chat('waiting')]);
    await busy.send({ id: 'busy-1', text: 'slow one' });
    const session = await waitUntil(
      () => warren.sessionOf('busy'),
      10_000,
      () => 'no session',
    );
    await waitUntil(
      () => readAcks(session.paths).some((a) => a.status === 'processing'),
      20_000,
      () => 'the runner never claimed the message',
    );
    await waiting.send({ id: 'waiting-1', text: 'hello' }); // queued: the one slot is taken

    await warren.kill9();
    await warren.restart();

    const [done] = await busy.waitForReplies(1, 45_000);
    const [echo] = await waiting.waitForReplies(1, 45_000);
    expect(done).toMatchObject({ inReplyTo: 'busy-1', text: 'done: slow one' });
    expect(echo).toMatchObject({ inReplyTo: 'waiting-1', text: 'echo: hello' });
    // A second answer to either would arrive before the chat's answer to one more message.
    const before = await Promise.all([busy.sentinel({}, 45_000), waiting.sentinel({}, 45_000)]);
    expect(before.map((replies) => replies.length)).toEqual([1, 1]);
  }, 100_000);
});

describe('a session container that dies', () => {
  let warren: Warren;

  beforeAll(async () => {
    warren = await startWarren({
      maxTries: 2,
      script: {
        rules: [
          { match: '^slow', steps: [{ delay: 2500 }, { reply: 'done: {{text}}' }] },
          { match: '^crash', steps: [{ exit: 1 }] },
        ],
      },
    });
  });
  afterAll(() => warren?.stop());

  test('a container killed mid-turn has its message retried and answered once', async () => {
    const chat = await warren.chat('killed');
    await chat.send({ id: 'killed-1', text: 'slow please' });
    const session = await waitUntil(
      () => warren.sessionOf('killed'),
      10_000,
      () => 'no session for the chat',
    );
    // The runner has claimed the message and is inside the turn's delay.
    await waitUntil(
      () => readAcks(session.paths).some((a) => a.message_id && a.status === 'processing'),
      15_000,
      () => 'the runner never claimed the message',
    );
    const [container] = await warren.docker.listContainers({
      filters: { label: [`warren.session=${session.id}`] },
    });
    await warren.docker.getContainer(container!.Id).kill({ signal: 'SIGKILL' });

    const reply = await chat.waitForReply((r) => r.inReplyTo === 'killed-1', 30_000);
    expect(reply.text).toBe('done: slow please');
    // A second answer (the lost try's, or a retry's) would arrive before the answer to one more message.
    expect(await chat.sentinel()).toEqual([reply]);
    // One try was lost with the container; the second one answered (acks are folded by the sweep).
    await waitUntil(
      () => inboundRow(session.paths, 'killed-1')?.status === 'completed',
      5000,
      () => `row is ${JSON.stringify(inboundRow(session.paths, 'killed-1'))}`,
    );
    expect(inboundRow(session.paths, 'killed-1')).toEqual({ status: 'completed', tries: 1 });
  }, 60_000);

  test('a message that crashes its runner on every try gets one failure notice and nothing else', async () => {
    const chat = await warren.chat('doomed');
    await chat.send({ id: 'doomed-1', text: 'crash please' });

    const notice = await chat.waitForReply((r) => r.inReplyTo === 'doomed-1', 30_000);
    expect(notice.text).toContain('could not be processed');
    expect(notice.text).toContain('tried 2 times');
    // Failed for good: only pending rows are tried again. (A retry waits out a backoff, so a sentinel
    // could be answered before it; the row's status is the proof that none comes.)
    const paths = warren.sessionOf('doomed')!.paths;
    await waitUntil(
      () => inboundRow(paths, 'doomed-1')?.status !== 'pending',
      10_000,
      () => `row is ${JSON.stringify(inboundRow(paths, 'doomed-1'))}`,
    );
    expect(inboundRow(paths, 'doomed-1')).toEqual({ status: 'failed', tries: 2 });
    // No second notice: it would arrive before the answer to one more message.
    expect(await chat.sentinel()).toEqual([notice]);
  }, 60_000);
});

/**
 * Posts as a real client does while the host may be down: a POST that fails is sent again, same id,
 * until it is accepted (202); each failed one is added to `rePosted`.
 */
function postUntilAccepted(
  chat: ChatClient,
  input: SendInput & { id: string },
  rePosted: Set<string>,
  timeoutMs: number,
): Promise<string> {
  return waitUntil(
    async () => {
      try {
        return await chat.send(input);
      } catch (err) {
        if (!(err instanceof PostError)) throw err;
        rePosted.add(input.id);
        return undefined;
      }
    },
    timeoutMs,
    () => `message ${input.id} was not accepted`,
    100,
  );
}

/** The status and tries of the session's row for a platform message, read from inbound.db. */
function inboundRow(
  paths: SessionPaths,
  platformMessageId: string,
): { status: string; tries: number } | undefined {
  const db = new Database(paths.inbound, { readonly: true });
  try {
    return db
      .prepare("SELECT status, tries FROM messages_in WHERE json_extract(content, '$.platformMessageId') = ?")
      .get(platformMessageId) as { status: string; tries: number } | undefined;
  } finally {
    db.close();
  }
}

function countBy(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}

function sum(chats: ChatClient[]): number {
  return chats.reduce((n, chat) => n + chat.repeatedEvents, 0);
}
