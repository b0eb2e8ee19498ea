// Email end to end: a real host, real containers running the scripted agent, the email adapter's real
// imapflow/mailparser/nodemailer against a mail provider on loopback (test/harness/fake-mail.ts). A mail
// is put into the bot's mailbox as if it had arrived; what the bot answers is read back from what the
// SMTP server was handed: to whom, in reply to what, under which subject.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { composeMail, startFakeMail, type FakeMail, type SentMail } from '../harness/fake-mail.ts';
import { getApproval } from '../../src/db/approvals.ts';
import type { User } from '../../src/db/users.ts';
import { deployApprovalRule, startWarren, waitUntil, type Warren } from '../harness/warren.ts';

const BOT = 'warren@example.com';
const ADA = 'ada@example.org';
/** What the receiving server adds once DMARC passed: with authservId set, Ada's From is believed. */
const VOUCHED = { 'Authentication-Results': 'mx.test; dmarc=pass header.from=example.org' };
/** Watchdog bounds shortened for the test; the keep-alive (proof of life) comes well within them. */
const STALE_AFTER_MS = 5_000;
const KEEPALIVE_SECONDS = 1;

let mail: FakeMail;
let w: Warren;
let ada: User;
let seq = 0;

beforeAll(async () => {
  mail = await startFakeMail({ user: BOT, password: 'imap-secret-1' });
  w = await startWarren({
    installations: [
      {
        channelType: 'email',
        name: 'email',
        config: {
          address: BOT,
          imap: { host: '127.0.0.1', port: mail.imapPort, secure: false, requireTLS: false },
          smtp: { host: '127.0.0.1', port: mail.smtpPort, secure: false, requireTLS: false },
          keepaliveSeconds: KEEPALIVE_SECONDS,
          authservId: 'mx.test',
          staleAfterMs: STALE_AFTER_MS,
        },
      },
    ],
    env: { EMAIL_PASSWORD: mail.password },
    config: { channels: { watchdogCheckSeconds: 1 } },
    script: {
      rules: [
        {
          match: '^ask me',
          steps: [
            {
              tool: 'ask_user_question',
              args: { question: 'Which colour?', options: ['red', 'blue'], timeout: 300 },
            },
            { reply: 'asked' },
          ],
        },
        { match: '^question_answered$', steps: [{ reply: 'answer: {{prompt}}' }] },
        deployApprovalRule('Deploy the site', 'v7', { reply: 'asked for approval' }),
        { match: '^approval_decided$', steps: [{ reply: 'decision: {{prompt}}' }] },
      ],
      default: [{ reply: 'echo: {{text}}' }],
    },
  });
  // Ada owns the install; her address is a direct chat wired to the main agent.
  ada = w.wire.owner({ account: ADA, name: 'Ada', dm: ADA, channelType: 'email' });
  w.wire.wiring(w.wire.chat(ADA, 'email'), w.wire.main());
}, 120_000);

afterAll(async () => {
  await w?.stop();
  await mail?.close();
});

/** Ada writes a mail (a reply when `answering` is given); returns its Message-ID. */
async function write(text: string, answering?: SentMail, subject = 'Plans'): Promise<string> {
  const id = `<ada-${++seq}-${Date.now()}@example.org>`;
  const references = answering
    ? [...idsOf(answering.parsed.references), answering.parsed.messageId!]
    : undefined;
  mail.deliver(
    await composeMail({
      from: `Ada <${ADA}>`,
      headers: VOUCHED,
      to: BOT,
      subject: answering ? answering.parsed.subject : subject,
      messageId: id,
      text,
      ...(answering && { inReplyTo: answering.parsed.messageId, references }),
    }),
  );
  return id;
}

const idsOf = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

const repliesTo = (id: string) => mail.sent.filter((m) => m.parsed.inReplyTo === id);

const waitForReply = (id: string, timeoutMs = 60_000) =>
  waitUntil(
    () => repliesTo(id)[0],
    timeoutMs,
    () =>
      `no reply to ${id}; sent: ${mail.sent.map((m) => `${m.parsed.inReplyTo} ${m.parsed.text}`).join(' | ')}`,
  );

/** A mail whose answer shows every earlier mail of Ada's was handled (her chat is one ordered line). */
async function sentinel(label: string): Promise<void> {
  await waitForReply(await write(`sentinel ${label}`));
}

describe('email', () => {
  test('a mail gets exactly one reply, threaded, without the quoted history', async () => {
    const id = await write(
      'Can you summarise the plan?\n\nOn Mon, 1 Dec 2026, Bob <bob@example.org> wrote:\n> the old plan\n\n-- \nAda',
    );
    const reply = await waitForReply(id);
    expect(reply.parsed.text?.trim()).toBe('echo: Can you summarise the plan?');
    expect(reply.to).toEqual([ADA]);
    expect(reply.parsed.from?.value[0]?.address).toBe(BOT);
    expect(reply.parsed.subject).toBe('Re: Plans');
    expect(idsOf(reply.parsed.references)).toEqual([id]);

    // Ada answers the reply: the answer to that continues the thread (References grow from the root).
    const followUp = await write('And the budget?', reply);
    const second = await waitForReply(followUp);
    expect(second.parsed.text?.trim()).toBe('echo: And the budget?');
    expect(second.parsed.subject).toBe('Re: Plans');
    expect(idsOf(second.parsed.references)).toEqual([id, reply.parsed.messageId, followUp]);

    await sentinel('after the first');
    expect(repliesTo(id)).toHaveLength(1);
    expect(repliesTo(followUp)).toHaveLength(1);
  }, 120_000);

  test('a question arrives as numbered text; a reply "2" above the quoted question answers it', async () => {
    await write('ask me', undefined, 'Colours');
    const question = await waitUntil(
      () => mail.sent.find((m) => m.parsed.text?.includes('Which colour?')),
      60_000,
      () => `no question sent; sent: ${mail.sent.map((m) => m.parsed.text).join(' | ')}`,
    );
    expect(question.to).toEqual([ADA]);
    expect(question.parsed.text).toMatch(/1\. red\s+2\. blue/);
    const quoted = question.parsed
      .text!.split('\n')
      .map((line) => `> ${line}`)
      .join('\n');
    mail.deliver(
      await composeMail({
        from: `Ada <${ADA}>`,
        headers: VOUCHED,
        to: BOT,
        subject: question.parsed.subject,
        messageId: `<ada-answer-${Date.now()}@example.org>`,
        inReplyTo: question.parsed.messageId,
        references: [...idsOf(question.parsed.references), question.parsed.messageId!],
        text: `2\n\nOn Mon, 1 Dec 2026 at 10:00, Warren <${BOT}> wrote:\n${quoted}\n`,
      }),
    );
    const answer = await waitUntil(
      () => mail.sent.find((m) => m.parsed.text?.startsWith('answer:')),
      60_000,
      () => `no answer; sent: ${mail.sent.map((m) => m.parsed.text).join(' | ')}`,
    );
    expect(answer.parsed.text).toContain('blue');
    expect(answer.parsed.text).toContain('event="question_answered"');
  }, 120_000);

  test('an approval card by email carries signed links: a GET decides nothing, the POST decides once', async () => {
    await write('please deploy');
    const card = await waitUntil(
      () => mail.sent.find((m) => m.parsed.text?.includes('Approval needed')),
      60_000,
      () => `no card; sent: ${mail.sent.map((m) => m.parsed.text).join(' | ')}`,
    );
    expect(card.to).toEqual([ADA]);
    const links = Object.fromEntries(
      [...card.parsed.text!.matchAll(/^\d\. (Approve|Reject): (\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    expect(Object.keys(links)).toEqual(['Approve', 'Reject']);
    expect(links.Approve!.startsWith(`${w.url}/approve/`)).toBe(true);
    const [pending] = w
      .db()
      .prepare("SELECT id FROM approvals WHERE status = 'pending'")
      .pluck()
      .all() as string[];

    // A mail scanner following the link decides nothing.
    const look = await fetch(links.Approve!);
    expect(look.status).toBe(200);
    expect(await look.text()).toContain('Nothing has been decided yet');
    expect(getApproval(w.db(), pending!)?.status).toBe('pending');

    // An edited link (reject turned into approve) is refused.
    const [body, signature] = links.Reject!.split('/approve/')[1]!.split('.');
    const fields = JSON.parse(Buffer.from(body!, 'base64url').toString()) as string[];
    fields[1] = 'approve';
    const edited = `${w.url}/approve/${Buffer.from(JSON.stringify(fields)).toString('base64url')}.${signature}`;
    expect((await fetch(edited, { method: 'POST' })).status).toBe(400);
    expect(getApproval(w.db(), pending!)?.status).toBe('pending');

    // The confirmation decides, as Ada; the same link (or the other one) is refused afterwards.
    const confirm = await fetch(links.Approve!, { method: 'POST' });
    expect(confirm.status).toBe(200);
    expect(getApproval(w.db(), pending!)).toMatchObject({ status: 'approved', decidedBy: ada.id });
    expect((await fetch(links.Approve!, { method: 'POST' })).status).toBe(409);
    expect((await fetch(links.Reject!, { method: 'POST' })).status).toBe(409);
    const decided = await waitUntil(
      () => mail.sent.find((m) => m.parsed.text?.startsWith('decision:')),
      60_000,
      () => `no follow-up; sent: ${mail.sent.map((m) => m.parsed.text).join(' | ')}`,
    );
    expect(decided.parsed.text).toContain('approved: true');
  }, 120_000);

  test('restarting the host does not read old mail again; mail that came while it was down is answered once', async () => {
    const before = await write('before the restart');
    await waitForReply(before);
    await w.stopHost();
    const during = await write('while the host was down');
    await w.restart();
    const reply = await waitForReply(during);
    expect(reply.parsed.text?.trim()).toBe('echo: while the host was down');
    await sentinel('after the restart');
    expect(repliesTo(before)).toHaveLength(1);
    expect(repliesTo(during)).toHaveLength(1);
  }, 120_000);

  test('a UIDVALIDITY change causes no duplicate replies', async () => {
    const old = await write('before the renumbering');
    await waitForReply(old);
    const repliesBefore = mail.sent.length;
    await w.stopHost();
    mail.changeUidValidity();
    const fresh = await write('after the renumbering');
    await w.restart();
    const reply = await waitForReply(fresh);
    expect(reply.parsed.text?.trim()).toBe('echo: after the renumbering');
    await sentinel('after the renumbering');
    // The mailbox was read again from the last mail handed on; only the new one and the sentinel were answered.
    expect(await w.logs()).toContain('UIDVALIDITY changed');
    expect(mail.sent.length).toBe(repliesBefore + 2);
    // No echo answers any mail twice.
    const echoed = mail.sent.filter((m) => m.parsed.text?.startsWith('echo:')).map((m) => m.parsed.inReplyTo);
    expect(new Set(echoed).size).toBe(echoed.length);
  }, 120_000);
});
