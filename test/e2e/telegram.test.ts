// Telegram end to end (issue 12, "Must show"): a real host, real containers running the scripted agent,
// the real grammY client and the Telegram adapter, pointed at a fake Bot API on loopback
// (test/harness/fake-telegram.ts). Everything the bot says is read back from what reached the fake:
// which chat, which thread, in reply to what, with which buttons and bytes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { getApproval } from '../../src/db/approvals.ts';
import { createApiToken } from '../../src/db/tokens.ts';
import type { User } from '../../src/db/users.ts';
import {
  startFakeTelegram,
  type FakeChat,
  type FakeTelegram,
  type FakeUser,
  type PostedMessage,
} from '../harness/fake-telegram.ts';
import { deployApprovalRule, startWarren, waitUntil, type Warren } from '../harness/warren.ts';

const TOKEN = '424242:AAE-e2e-token_xyz';
const BOT = { id: 99, username: 'warren_bot' };
const MENTION = `@${BOT.username}`;
/**
 * Watchdog bounds shortened for the test. The defaults (staleAfterMs 90 s, a check every 5 s) report a
 * dead link within 95 s, inside the "within 2 minutes"; these report it within about 6 s.
 * The long poll must return well within staleAfterMs (each answered poll is proof of life).
 */
const STALE_AFTER_MS = 5_000;
const WATCHDOG_CHECK_SECONDS = 1;
const POLL_TIMEOUT_SECONDS = 1;
/** Telegram renews "typing…" every 4 s (the adapter's typingRefreshMs). */
const TYPING_REFRESH_MS = 4_000;

/** A reply far over Telegram's 4,096 characters: words that a cut would break (w00001 …), in paragraphs. */
const LONG = Array.from({ length: 15 }, (_, p) =>
  Array.from({ length: 100 }, (_, i) => {
    const n = p * 100 + i + 1;
    return `w${String(n).padStart(5, '0')}${n % 10 === 0 ? '.' : ''}`;
  }).join(' '),
).join('\n\n');

let tg: FakeTelegram;
let w: Warren;
let olga: User;
let olgaUser: FakeUser;
let bob: FakeUser;
let olgaDm: FakeChat;
let team: FakeChat;
let forum: FakeChat;

beforeAll(async () => {
  tg = await startFakeTelegram({ token: TOKEN, bot: BOT });
  w = await startWarren({
    installations: [
      {
        channelType: 'telegram',
        name: 'telegram',
        config: {
          apiBaseUrl: tg.apiRoot,
          staleAfterMs: STALE_AFTER_MS,
          pollTimeoutSeconds: POLL_TIMEOUT_SECONDS,
        },
      },
    ],
    env: { TELEGRAM_BOT_TOKEN: TOKEN },
    config: { channels: { watchdogCheckSeconds: WATCHDOG_CHECK_SECONDS } },
    script: {
      rules: [
        { match: '^long please$', steps: [{ reply: LONG }] },
        { match: '^slow please$', steps: [{ delay: 6_000 }, { reply: 'done slowly' }] },
        deployApprovalRule('Deploy the site', 'v7', { reply: 'asked for approval' }),
        { match: '^approval_decided$', steps: [{ reply: 'decision: {{prompt}}' }] },
        { match: '^what is in it', steps: [{ reply: 'file says: {{attachment_text}}' }] },
        {
          match: '^send me the report$',
          steps: [{ tool: 'send_file', args: { path: 'report.csv', text: 'here it is' } }],
        },
        // The message text is the time to remind at (placeholders fill whole strings).
        {
          match: '^\\d{4}-\\d{2}-\\d{2}T',
          steps: [
            { tool: 'schedule_task', args: { prompt: 'reminder: stretch', at: '{{text}}' } },
            { reply: 'scheduled: {{tool_result}}' },
          ],
        },
        { match: '^reminder: ', steps: [{ reply: 'Time to stretch!' }] },
      ],
      default: [{ reply: 'echo: {{text}}' }],
    },
  });
  olgaUser = tg.user(42, 'Olga');
  bob = tg.user(7, 'Bob');
  olgaDm = tg.dm(42);
  team = tg.group(-1001, 'Team');
  forum = tg.group(-1002, 'Forum', true);
  // Olga owns the install; her Telegram DM is where approval cards go. Platform chats are not
  // auto-wired: each is wired to the main agent (engage on mention, the default) before it speaks.
  olga = w.wire.owner({ account: '42', name: 'Olga', dm: '42', channelType: 'telegram' });
  const main = w.wire.main();
  for (const chat of [olgaDm, team, forum]) w.wire.wiring(w.wire.chat(String(chat.id), 'telegram'), main);
  writeFileSync(join(w.groupsDir, 'main', 'report.csv'), 'month,sales\njan,3\nfeb,5\n');
}, 120_000);

afterAll(async () => {
  await w?.stop();
  await tg?.close();
});

// ---- helpers ----

/** A message from `from` in `chat`; `mention` puts @warren_bot in front (with its entity). */
function say(chat: FakeChat, from: FakeUser, text: string, extra: Record<string, unknown> = {}) {
  if (!extra.mention) return tg.message({ chat, from, text, ...extra });
  const { mention: _, ...rest } = extra;
  return tg.message({
    chat,
    from,
    text: `${MENTION} ${text}`,
    entities: [{ type: 'mention', offset: 0, length: MENTION.length }],
    ...rest,
  });
}

const replyIdOf = (p: PostedMessage) =>
  (p.params.reply_parameters as { message_id?: number } | undefined)?.message_id;

/** What the bot posted in `chat` in reply to message `messageId`. */
const repliesTo = (chat: FakeChat, messageId: number) =>
  tg.posted(chat.id).filter((p) => replyIdOf(p) === messageId);

async function waitForReply(chat: FakeChat, messageId: number, timeoutMs = 60_000): Promise<PostedMessage> {
  return waitUntil(
    () => repliesTo(chat, messageId)[0],
    timeoutMs,
    () => `no reply to ${messageId} in ${chat.id}; posted there: ${texts(tg.posted(chat.id))}`,
  );
}

async function waitForPost(
  chat: FakeChat,
  match: (p: PostedMessage) => boolean,
  timeoutMs = 60_000,
): Promise<PostedMessage> {
  return waitUntil(
    () => tg.posted(chat.id).find(match),
    timeoutMs,
    () => `no matching post in ${chat.id}; posted there: ${texts(tg.posted(chat.id))}`,
  );
}

const texts = (posts: PostedMessage[]) => JSON.stringify(posts.map((p) => p.message.text?.slice(0, 80)));

/**
 * "Nothing else arrives", proved by a positive sentinel: one more message in the same chat (the same
 * session, which answers in order) and its reply. Returns what was posted in the chat before it.
 */
async function sentinel(chat: FakeChat, from: FakeUser, label: string): Promise<PostedMessage[]> {
  const sent = say(chat, from, `sentinel ${label}`, { mention: chat.type !== 'private' });
  const reply = await waitForReply(chat, sent.message_id);
  expect(reply.message.text).toBe(`echo: sentinel ${label}`);
  const posts = tg.posted(chat.id);
  return posts.slice(0, posts.indexOf(reply));
}

async function channelHealth(token: string) {
  const res = await fetch(`${w.url}/api/channels`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as {
    channels: { type: string; connected: boolean; lastInboundAt: string | null; lastError: string | null }[];
  };
  return body.channels.find((c) => c.type === 'telegram')!;
}

// ---- the tests, in order: they share one host and one fake ----

describe('telegram end to end', () => {
  test('a DM and a group mention each get one reply in their chat; a topic reply stays in its topic; an unaddressed group message is not answered', async () => {
    const dm = say(olgaDm, olgaUser, 'hello from the DM');
    const quiet = say(team, bob, 'just chatting among ourselves');
    const mention = say(team, bob, 'hello group', { mention: true });
    const topic = say(forum, bob, 'hello topic', {
      mention: true,
      message_thread_id: 77,
      is_topic_message: true,
    });

    const [dmReply, groupReply, topicReply] = await Promise.all([
      waitForReply(olgaDm, dm.message_id),
      waitForReply(team, mention.message_id),
      waitForReply(forum, topic.message_id),
    ]);
    expect(dmReply.message.text).toBe('echo: hello from the DM');
    expect(dmReply.params.message_thread_id).toBeUndefined();
    // The mention is taken off the text the agent sees.
    expect(groupReply.message.text).toBe('echo: hello group');
    expect(groupReply.params.message_thread_id).toBeUndefined();
    expect(topicReply.message.text).toBe('echo: hello topic');
    expect(topicReply.params.message_thread_id).toBe(77);

    // One reply each, and none in another chat (the sentinels also prove nothing is still owed).
    const [beforeDm, beforeTeam, beforeForum] = await Promise.all([
      sentinel(olgaDm, olgaUser, 'one'),
      sentinel(team, bob, 'one'),
      sentinel(forum, bob, 'one'),
    ]);
    expect(texts(beforeDm)).toBe(texts([dmReply]));
    expect(texts(beforeForum)).toBe(texts([topicReply]));
    // The group message without a mention got nothing: the only reply before the sentinel's is the mention's.
    expect(texts(beforeTeam)).toBe(texts([groupReply]));
    expect(repliesTo(team, quiet.message_id)).toEqual([]);
  }, 120_000);

  test('an update Telegram returns again (its offset never confirmed) is answered once', async () => {
    const first = say(olgaDm, olgaUser, 'only once please');
    const reply = await waitForReply(olgaDm, first.message_id);
    expect(reply.message.text).toBe('echo: only once please');

    // The host stops; the confirmation of that update "never reached Telegram", so a poller starting
    // afresh (offset 0) is handed the same update, same update_id, again.
    await w.stopHost();
    tg.requeue(first.update_id);
    await w.restart();
    await waitUntil(
      () => tg.handedOut(first.update_id) >= 2,
      30_000,
      () => `update ${first.update_id} was handed out ${tg.handedOut(first.update_id)} time(s)`,
    );

    const before = await sentinel(olgaDm, olgaUser, 'after redelivery');
    expect(before.filter((p) => replyIdOf(p) === first.message_id)).toHaveLength(1);
    // And the redelivered update was confirmed this time.
    expect(tg.pending().map((u) => u.update_id)).not.toContain(first.update_id);
  }, 120_000);

  test('a reply over 4,096 characters arrives in pieces within the limit, no word cut, nothing lost', async () => {
    expect(LONG.length).toBeGreaterThan(2 * 4096);
    const ask = say(olgaDm, olgaUser, 'long please');
    const first = await waitForReply(olgaDm, ask.message_id);
    const collapse = (text: string) => text.replace(/\s+/g, ' ').trim();
    const pieces = await waitUntil(
      () => {
        const posts = tg.posted(olgaDm.id);
        const run = posts.slice(posts.indexOf(first)).map((p) => p.message.text ?? '');
        const end = run.findIndex((t) => !/^w\d{5}/.test(t));
        const mine = end < 0 ? run : run.slice(0, end);
        return collapse(mine.join(' ')).length >= collapse(LONG).length ? mine : undefined;
      },
      30_000,
      () => `the long reply did not arrive whole; posted: ${texts(tg.posted(olgaDm.id))}`,
    );
    expect(pieces.length).toBeGreaterThanOrEqual(3);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(4096);
    // Joined, the pieces are the agent's text: a word cut in two would read "w001 23" here.
    expect(collapse(pieces.join(' '))).toBe(collapse(LONG));
    // Each piece starts and ends on a whole word.
    for (const piece of pieces) {
      for (const word of piece.split(/\s+/).filter(Boolean)) expect(word).toMatch(/^w\d{5}\.?$/);
    }
    expect(await sentinel(olgaDm, olgaUser, 'after long')).toHaveLength(
      tg.posted(olgaDm.id).indexOf(first) + pieces.length,
    );
  }, 120_000);

  test('a 429 with retry_after is waited out and the reply delivered once', async () => {
    tg.failNext('sendMessage', 1, 429, 'Too Many Requests: retry after 2', { retry_after: 2 });
    const ask = say(olgaDm, olgaUser, 'rate limit me');
    const reply = await waitForReply(olgaDm, ask.message_id);
    expect(reply.message.text).toBe('echo: rate limit me');

    const attempts = tg.calls('sendMessage').filter((c) => c.params.text === 'echo: rate limit me');
    expect(attempts).toHaveLength(2); // the refused one and the one after the wait
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(2_000);
    const before = await sentinel(olgaDm, olgaUser, 'after 429');
    expect(before.filter((p) => p.message.text === 'echo: rate limit me')).toHaveLength(1);
  }, 120_000);

  test("an approval card reaches the owner's DM with buttons; someone else's press is refused, the owner's decides it", async () => {
    const ask = say(team, bob, 'please deploy', { mention: true });
    const card = await waitForPost(olgaDm, (p) => p.params.reply_markup !== undefined);
    await waitForPost(
      team,
      (p) => replyIdOf(p) === ask.message_id && p.message.text === 'asked for approval',
    );
    const keyboard = (
      card.params.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] }
    ).inline_keyboard.flat();
    expect(keyboard.map((b) => b.text)).toEqual(expect.arrayContaining(['Approve', 'Reject']));
    const approve = keyboard.find((b) => b.text === 'Approve')!;
    // Buttons carry short tokens, not the option's value.
    expect(Buffer.byteLength(approve.callback_data)).toBeLessThanOrEqual(64);
    const approvalId = (
      w.db().prepare("SELECT id FROM approvals WHERE status = 'pending'").all() as { id: string }[]
    ).map((r) => r.id);
    expect(approvalId).toHaveLength(1);
    const id = approvalId[0]!;
    // The card shows what is asked (Telegram has no card layout: title and body are its text).
    expect(card.message.text).toMatch(/^Approval needed/);
    expect(card.message.text).toContain(id);
    expect(card.message.text).toContain('version: "v7"');

    // Bob presses Olga's card (a forwarded or leaked card): refused in that chat, nothing changes.
    const refusedPress = tg.press({ from: bob, card: card.message, data: approve.callback_data });
    const refusal = await waitForPost(olgaDm, (p) => /^Sorry, /.test(p.message.text ?? ''), 30_000);
    expect(replyIdOf(refusal)).toBe(card.message.message_id); // under the card that was pressed
    expect(tg.calls('answerCallbackQuery').map((c) => c.params.callback_query_id)).toContain(refusedPress.id);
    expect(getApproval(w.db(), id)!.status).toBe('pending');

    tg.press({ from: olgaUser, card: card.message, data: approve.callback_data });
    const outcome = await waitForPost(team, (p) => (p.message.text ?? '').startsWith('decision:'));
    expect(outcome.message.text).toContain('event="approval_decided"');
    expect(outcome.message.text).toContain('approved: true');
    expect(outcome.message.text).toContain('"version":"v7"');
    expect(getApproval(w.db(), id)).toMatchObject({ status: 'approved', decidedBy: olga.id });
    // The decided card is edited in place (an edit without a keyboard removes its buttons).
    const closed = await waitUntil(
      () => tg.calls('editMessageText').find((c) => Number(c.params.message_id) === card.message.message_id),
      30_000,
      () => 'the decided card was not edited',
    );
    expect(closed.params.reply_markup).toBeUndefined();
  }, 120_000);

  test('a file sent in reaches the agent; a file the agent sends arrives with its bytes', async () => {
    const secret = `the milk expires on ${new Date().toISOString()}`;
    const file = tg.addFile(Buffer.from(secret));
    const ask = tg.message({
      chat: olgaDm,
      from: olgaUser,
      caption: 'what is in it?',
      document: { ...file, file_name: 'notes.txt', mime_type: 'text/plain' },
    });
    const reply = await waitForReply(olgaDm, ask.message_id);
    expect(reply.message.text).toBe(`file says: ${secret}`);

    const want = say(olgaDm, olgaUser, 'send me the report');
    // The message's text answers the request; its file follows as a document.
    const note = await waitForReply(olgaDm, want.message_id);
    expect(note.message.text).toBe('here it is');
    const sent = await waitForPost(
      olgaDm,
      (p) =>
        p.method === 'sendDocument' && tg.posted(olgaDm.id).indexOf(p) > tg.posted(olgaDm.id).indexOf(note),
    );
    expect(sent.file?.name).toBe('report.csv');
    expect(sent.file?.data.toString('utf8')).toBe('month,sales\njan,3\nfeb,5\n');
  }, 120_000);

  test('the platform stops answering: reported unhealthy within the stale bound, healthy again by itself, and the message sent meanwhile answered once', async () => {
    const { token } = createApiToken(w.wire.db, olga.id, 'e2e', new Date().toISOString());
    await waitUntil(
      async () => (await channelHealth(token)).connected,
      30_000,
      () => 'telegram was not healthy to begin with',
    );

    tg.hang();
    const hungAt = Date.now();
    const down = await waitUntil(
      async () => {
        const health = await channelHealth(token);
        return health.connected ? undefined : health;
      },
      60_000,
      () => 'telegram was never reported unhealthy',
    );
    const detectedMs = Date.now() - hungAt;
    console.log(`telegram reported unhealthy ${detectedMs} ms after the fake hung: ${down.lastError}`);
    // The last proof of life came at most one long poll before the hang.
    expect(detectedMs).toBeLessThanOrEqual(STALE_AFTER_MS + WATCHDOG_CHECK_SECONDS * 1000 + 2_000);
    expect(down.lastError).toBeTruthy();

    // Telegram keeps updates nobody fetched: this one waits for the bot to come back.
    const meanwhile = say(olgaDm, olgaUser, 'sent while you were away');
    tg.resume();
    const resumedAt = Date.now();
    await waitUntil(
      async () => (await channelHealth(token)).connected,
      60_000,
      () => 'telegram did not recover',
    );
    console.log(`telegram healthy again ${Date.now() - resumedAt} ms after the fake came back`);
    expect((await channelHealth(token)).lastError).toBeNull();

    const reply = await waitForReply(olgaDm, meanwhile.message_id);
    expect(reply.message.text).toBe('echo: sent while you were away');
    const before = await sentinel(olgaDm, olgaUser, 'after the outage');
    expect(before.filter((p) => replyIdOf(p) === meanwhile.message_id)).toHaveLength(1);
  }, 180_000);

  test('"typing…" shows while the agent works and stops at the reply', async () => {
    const typingCalls = () =>
      tg.calls('sendChatAction').filter((c) => String(c.params.chat_id) === String(olgaDm.id));
    const already = typingCalls().length;
    const sentAt = Date.now();
    const ask = say(olgaDm, olgaUser, 'slow please');
    const reply = await waitForReply(olgaDm, ask.message_id);
    expect(reply.message.text).toBe('done slowly');
    const replyAt = tg.calls('sendMessage').find((c) => c.params.text === 'done slowly')!.at;

    const during = typingCalls().slice(already);
    // Shown at once and renewed while the agent worked (6 s: at least one renewal every 4 s).
    expect(during.length).toBeGreaterThanOrEqual(2);
    for (const call of during) {
      expect(call.params.action).toBe('typing');
      expect(call.at).toBeGreaterThanOrEqual(sentAt);
      expect(call.at).toBeLessThanOrEqual(replyAt);
    }
    // Nothing signals "no more typing": wait past the next renewal it would have made, then look.
    await sleep(TYPING_REFRESH_MS + 1_500);
    expect(typingCalls().filter((c) => c.at > replyAt)).toEqual([]);
  }, 120_000);

  test("a scheduled task's reply reaches the user's DM on its own, though another chat spoke last", async () => {
    const due = Date.now() + 8_000;
    const ask = say(olgaDm, olgaUser, new Date(due).toISOString());
    const confirmation = await waitForReply(olgaDm, ask.message_id);
    expect(confirmation.message.text).toMatch(/^scheduled: \{"taskId":"task_[\w-]+"/);

    // Someone speaks in the group after that: the reminder must still go to Olga's DM.
    const chatter = say(team, bob, 'anyone around?', { mention: true });
    await waitForReply(team, chatter.message_id);
    expect(Date.now()).toBeLessThan(due); // the group spoke before the reminder was due

    const reminder = await waitForPost(olgaDm, (p) => p.message.text === 'Time to stretch!', 60_000);
    expect(Date.now()).toBeGreaterThanOrEqual(due);
    expect(reminder.params.reply_parameters).toBeUndefined(); // proactive: it answers no message
    expect(tg.posted(team.id).filter((p) => p.message.text === 'Time to stretch!')).toEqual([]);
    const before = await sentinel(olgaDm, olgaUser, 'after the reminder');
    expect(before.filter((p) => p.message.text === 'Time to stretch!')).toHaveLength(1);
  }, 120_000);
});
