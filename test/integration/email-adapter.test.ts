// The email adapter against a mail provider on loopback (test/harness/fake-mail.ts): the real imapflow
// client IDLEs on an in-memory IMAP server, mailparser reads what it fetches, nodemailer hands replies to
// a real SMTP server. No host, no containers: what the adapter hands the machinery, and what it sends.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ChannelSendError, type InboundMessage } from '../../src/host/channels/channel.ts';
import { createEmailAdapter, stripQuotes } from '../../src/host/channels/adapters/email/index.ts';
import type { PlatformAdapter, PlatformEvents } from '../../src/host/channels/platform.ts';
import { memoryChannelState } from '../harness/channel-state.ts';
import { composeMail, startFakeMail, type FakeMail } from '../harness/fake-mail.ts';
import { waitUntil } from '../harness/wait-until.ts';

const BOT = 'bot@example.com';
const ADA = 'ada@example.org';

let mail: FakeMail;
const adapters: PlatformAdapter[] = [];

beforeEach(async () => {
  mail = await startFakeMail({ user: BOT });
});
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((adapter) => adapter.stop()));
  await mail.close();
});

type State = ReturnType<typeof memoryChannelState>;

function adapter(overrides: { state?: State; maxBytes?: number; settings?: Record<string, unknown> } = {}) {
  const created = createEmailAdapter({
    installation: 'email',
    settings: {
      mode: 'imap',
      address: BOT,
      imap: { host: '127.0.0.1', port: mail.imapPort, secure: false, requireTLS: false },
      smtp: { host: '127.0.0.1', port: mail.smtpPort, secure: false, requireTLS: false },
      keepaliveSeconds: 30,
      ...overrides.settings,
    },
    secret: (role) => {
      if (role === 'password') return mail.password;
      throw new Error(`no ${role}`);
    },
    maxInboundFileBytes: overrides.maxBytes ?? 64 * 1024,
    state: overrides.state ?? memoryChannelState(),
    log: pino({ level: process.env.EMAIL_TEST_LOG ?? 'silent' }),
    clock: () => new Date(),
  });
  adapters.push(created);
  return created;
}

/**
 * The machinery's side: records what arrives and, like the host's router, claims each message id once
 * (`routed` holds the messages a host would have answered).
 */
function machinery(claimed = new Set<string>()) {
  const received: { message: InboundMessage; eventId: string | undefined }[] = [];
  const routed: InboundMessage[] = [];
  const failures: unknown[] = [];
  let alive = 0;
  const events: PlatformEvents = {
    async message(message, eventId) {
      received.push({ message, eventId });
      if (claimed.has(message.platformMessageId)) return;
      claimed.add(message.platformMessageId);
      routed.push(message);
    },
    alive: () => void alive++,
    failed: (error) => void failures.push(error),
  };
  return { events, received, routed, failures, alive: () => alive };
}

/** `claimed`: the host's claims on message ids, shared across restarts of the adapter. */
async function started(overrides: Parameters<typeof adapter>[0] = {}, claimed?: Set<string>) {
  const emailAdapter = adapter(overrides);
  const machine = machinery(claimed);
  await emailAdapter.start(machine.events);
  return { adapter: emailAdapter, ...machine };
}

const waitFor = <T>(what: () => T | undefined, describe: () => string, timeoutMs = 5_000) =>
  waitUntil(what, timeoutMs, describe);

const texts = (messages: { message: InboundMessage }[]) => messages.map((r) => r.message.text).join(' | ');

function simple(id: string, text: string, extra: Record<string, unknown> = {}) {
  return composeMail({ from: `Ada <${ADA}>`, to: BOT, subject: 'Hello', messageId: id, text, ...extra });
}

describe('receiving', () => {
  test('a mail arriving while the adapter IDLEs is handed on at once, without quotes or signature, with its file and thread root', async () => {
    const { received } = await started();
    const arrived = Date.now();
    mail.deliver(
      await composeMail({
        from: `Ada Lovelace <${ADA.toUpperCase()}>`,
        to: BOT,
        subject: 'Re: Quarterly numbers',
        messageId: '<m3@example.org>',
        inReplyTo: '<m2@example.com>',
        references: ['<root@example.org>', '<m2@example.com>'],
        text: [
          'Yes, please send the chart.',
          '',
          'On Mon, 1 Dec 2026 at 10:00, Warren <bot@example.com> wrote:',
          '> Shall I send the chart?',
          '> It is ready.',
          '',
          '-- ',
          'Ada Lovelace, Analytical Engines Ltd',
        ].join('\n'),
        attachments: [{ filename: 'data.csv', content: 'a,b\n1,2\n' }],
      }),
    );
    const { message, eventId } = await waitFor(
      () => received[0],
      () => 'nothing arrived',
    );
    // keepaliveSeconds is 30: a mail seen this fast came through IDLE, not the periodic check.
    expect(Date.now() - arrived).toBeLessThan(3_000);
    expect(message.text).toBe('Yes, please send the chart.');
    expect(message.platformMessageId).toBe('<m3@example.org>');
    expect(eventId).toBe('<m3@example.org>');
    expect(message.threadId).toBe('<root@example.org>');
    expect(message.chat).toEqual({ id: ADA, name: 'Ada Lovelace', isGroup: false });
    // Nobody vouched for the From address (no authservId): the sender is anonymous.
    expect(message.sender).toEqual({ id: ADA, name: 'Ada Lovelace', anonymous: true });
    expect(message.mentioned).toBe(true);
    expect(message.attachments).toHaveLength(1);
    expect(message.attachments[0]).toMatchObject({ name: 'data.csv', type: 'text/csv', size: 8 });
    expect(message.attachments[0]!.data.toString()).toBe('a,b\n1,2\n');
  });

  test('a numbered answer to a card survives quote stripping', async () => {
    const { received } = await started();
    mail.deliver(
      await simple(
        '<answer@example.org>',
        '2\n\nOn Tue, Warren wrote:\n> Deploy?\n> 1. Approve\n> 2. Reject\n',
      ),
    );
    const { message } = await waitFor(
      () => received[0],
      () => 'nothing arrived',
    );
    expect(message.text).toBe('2');
  });

  test('a mail with no References is its own thread root', async () => {
    const { received } = await started();
    mail.deliver(await simple('<first@example.org>', 'A new question'));
    const { message } = await waitFor(
      () => received[0],
      () => 'nothing arrived',
    );
    expect(message.threadId).toBe('<first@example.org>');
  });

  test('a file over the size cap is named in the text, not taken', async () => {
    const { received } = await started({ maxBytes: 1_000 });
    mail.deliver(
      await simple('<big@example.org>', 'see attached', {
        attachments: [
          { filename: 'huge.bin', content: Buffer.alloc(5_000, 7) },
          { filename: 'small.txt', content: 'tiny' },
        ],
      }),
    );
    const { message } = await waitFor(
      () => received[0],
      () => 'nothing arrived',
    );
    expect(message.attachments.map((a) => a.name)).toEqual(['small.txt']);
    expect(message.text).toBe('see attached\n[file too large: huge.bin (5000 bytes)]');
  });

  test('a mail over maxMessageBytes is read only that far: its text is kept, its files are named', async () => {
    const { received } = await started({ maxBytes: 1_000_000, settings: { maxMessageBytes: 16_384 } });
    mail.deliver(
      await simple('<cut@example.org>', 'the text comes first', {
        attachments: [{ filename: 'photo.jpg', content: Buffer.alloc(60_000, 1) }],
      }),
    );
    const { message } = await waitFor(
      () => received[0],
      () => 'nothing arrived',
    );
    expect(message.attachments).toEqual([]);
    expect(message.text).toBe(
      'the text comes first\n[file too large: photo.jpg (the mail is over the size limit)]',
    );
  });

  test("the bot's own mail and automatic replies are ignored", async () => {
    const { received } = await started();
    mail.deliver(
      await composeMail({ from: BOT, to: ADA, subject: 'x', messageId: '<own@e.com>', text: 'mine' }),
    );
    mail.deliver(
      await simple('<ooo@example.org>', 'I am out of office', {
        headers: { 'Auto-Submitted': 'auto-replied' },
      }),
    );
    mail.deliver(await simple('<real@example.org>', 'a real one'));
    await waitFor(
      () => received[0],
      () => 'nothing arrived',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(texts(received)).toBe('a real one');
  });

  test('with authservId set, only mail the receiving server found DMARC-aligned is taken', async () => {
    const { received } = await started({ settings: { authservId: 'mx.example.com' } });
    const results = (value: string) => ({ 'Authentication-Results': value });
    // Forged: no verdict, another server's verdict, a failing verdict, a pass for another domain.
    mail.deliver(await simple('<f1@example.org>', 'no verdict'));
    mail.deliver(
      await simple('<f2@example.org>', 'other server', {
        headers: results('evil.example; dmarc=pass header.from=example.org'),
      }),
    );
    mail.deliver(
      await simple('<f3@example.org>', 'failed', {
        headers: results('mx.example.com; dkim=none; dmarc=fail header.from=example.org'),
      }),
    );
    mail.deliver(
      await simple('<f4@example.org>', 'other domain', {
        headers: results('mx.example.com; dmarc=pass header.from=attacker.example'),
      }),
    );
    mail.deliver(
      await simple('<ok@example.org>', 'vouched for', {
        headers: results(
          'mx.example.com 1; spf=pass; dkim=pass header.d=example.org;\r\n dmarc=pass (p=reject) header.from=example.org',
        ),
      }),
    );
    await waitFor(
      () => received[0],
      () => 'nothing arrived',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(texts(received)).toBe('vouched for');
    expect(received[0]!.message.sender.anonymous).toBeUndefined();
  });

  test('hostile mail (a huge header, broken MIME, binary junk) is skipped or bounded and the next mail still arrives', async () => {
    const { received, failures } = await started();
    // Over mailparser's header cap: skipped. Under it but long: bounded.
    mail.deliver(
      `From: ${ADA}\r\nSubject: ${'S'.repeat(2_000_000)}\r\nMessage-ID: <huge@example.org>\r\n\r\nx\r\n`,
    );
    const manyRefs = Array.from({ length: 20_000 }, (_, i) => `<r${i}@x.org>`).join(' ');
    mail.deliver(
      `From: ${ADA}\r\nTo: ${BOT}\r\nSubject: ${'s'.repeat(100_000)}\r\nReferences: ${manyRefs}\r\nMessage-ID: <long@example.org>\r\n\r\nlong headers\r\n`,
    );
    mail.deliver(
      `From: ${ADA}\r\nMessage-ID: <broken@example.org>\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64%%%\r\n--b\r\nContent-Type: application/octet-stream; name="x"\r\nContent-Disposition: attachment; filename="../../etc/passwd"\r\n\r\nAAAA`,
    );
    mail.deliver('\u0000\u0001\u0002 not a mail at all \uffff\r\n\r\n\r\n');
    mail.deliver(
      `From: <${'a'.repeat(5000)}@x.org>\r\nMessage-ID: <${'b'.repeat(5000)}@x.org>\r\n\r\nlong ids\r\n`,
    );
    mail.deliver(await simple('<after@example.org>', 'still here'));
    await waitFor(
      () => received.find((r) => r.message.text === 'still here'),
      () => `not all arrived: ${texts(received)}`,
    );
    expect(failures).toEqual([]);
    expect(received.find((r) => r.message.platformMessageId === '<huge@example.org>')).toBeUndefined();
    const long = received.find((r) => r.message.platformMessageId === '<long@example.org>');
    expect(long?.message.text).toBe('long headers');
    // The thread root is kept.
    expect(long?.message.threadId).toBe('<r0@x.org>');
    const broken = received.find((r) => r.message.platformMessageId === '<broken@example.org>');
    for (const attachment of broken?.message.attachments ?? []) expect(attachment.name).not.toContain('/');
  });
});

describe('the cursor', () => {
  test('a restart with the same state reads no old mail, and reads what arrived while it was stopped', async () => {
    const state = memoryChannelState();
    mail.deliver(await simple('<before-first-start@example.org>', 'old backlog'));
    const first = await started({ state });
    mail.deliver(await simple('<one@example.org>', 'one'));
    await waitFor(
      () => first.received[0],
      () => 'nothing arrived',
    );
    await first.adapter.stop();

    mail.deliver(await simple('<two@example.org>', 'two, while stopped'));
    const second = await started({ state });
    await waitFor(
      () => second.received[0],
      () => 'nothing arrived after the restart',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The backlog from before the first start is not answered; nothing is read twice.
    expect(texts(first.received)).toBe('one');
    expect(texts(second.received)).toBe('two, while stopped');
  });

  test('after a UIDVALIDITY change the mailbox is read again from the last mail, and nothing reaches the host twice', async () => {
    const state = memoryChannelState();
    const claimed = new Set<string>();
    const dayAgo = new Date(Date.now() - 86_400_000);
    mail.deliver(await simple('<ancient@example.org>', 'ancient'), dayAgo);
    const first = await started({ state }, claimed);
    mail.deliver(await simple('<a@example.org>', 'a'));
    mail.deliver(await simple('<b@example.org>', 'b'));
    await waitFor(
      () => first.received[1],
      () => `only ${texts(first.received)}`,
    );
    await first.adapter.stop();

    const before = JSON.parse(state.get('cursor:INBOX')!) as { uidValidity: string; lastUid: number };
    const validity = mail.changeUidValidity();
    expect(String(validity)).not.toBe(before.uidValidity);
    mail.deliver(await simple('<c@example.org>', 'c, after the change'));

    const second = await started({ state }, claimed);
    await waitFor(
      () => second.received.find((r) => r.message.text === 'c, after the change'),
      () => `got ${texts(second.received)}`,
    );
    // a and b come again under the same Message-ID (the host's claim drops them); the ancient mail not.
    expect(second.received.map((r) => r.message.platformMessageId)).toEqual([
      '<a@example.org>',
      '<b@example.org>',
      '<c@example.org>',
    ]);
    const everything = [...first.routed, ...second.routed].map((m) => m.platformMessageId);
    expect(everything).toEqual(['<a@example.org>', '<b@example.org>', '<c@example.org>']);
    const after = JSON.parse(state.get('cursor:INBOX')!) as { uidValidity: string; lastUid: number };
    expect(after.uidValidity).toBe(String(validity));
    expect(after.lastUid).toBe(4);

    // Back to normal: a third start reads nothing again.
    await second.adapter.stop();
    const third = await started({ state });
    mail.deliver(await simple('<d@example.org>', 'd'));
    await waitFor(
      () => third.received[0],
      () => 'nothing arrived',
    );
    expect(texts(third.received)).toBe('d');
  });

  test('a mail the host could not take is read again on the next pass', async () => {
    const emailAdapter = adapter({ settings: { keepaliveSeconds: 1 } });
    const received: InboundMessage[] = [];
    let refuse = true;
    await emailAdapter.start({
      async message(message) {
        if (refuse) {
          refuse = false;
          throw new Error('database busy');
        }
        received.push(message);
      },
      alive: () => undefined,
      failed: () => undefined,
    });
    mail.deliver(await simple('<retry@example.org>', 'try again'));
    const message = await waitFor(
      () => received[0],
      () => 'never taken',
      5_000,
    );
    expect(message.platformMessageId).toBe('<retry@example.org>');
  });

  test('proof of life comes on each keep-alive; a cut connection is reported as failed', async () => {
    const machine = await started({ settings: { keepaliveSeconds: 1 } });
    const start = machine.alive();
    await waitFor(
      () => machine.alive() >= start + 2 || undefined,
      () => `alive ${machine.alive()}`,
      5_000,
    );
    mail.dropClients();
    await waitFor(
      () => machine.failures[0],
      () => 'the cut went unnoticed',
      5_000,
    );
  });
});

describe('sending', () => {
  test('a reply is threaded: In-Reply-To, References and "Re:" subject, from the bot', async () => {
    const { adapter: emailAdapter, received } = await started();
    mail.deliver(
      await composeMail({
        from: `Ada <${ADA}>`,
        to: BOT,
        subject: 'Re: Quarterly numbers',
        messageId: '<q2@example.org>',
        references: ['<q0@example.org>', '<q1@example.com>'],
        text: 'Are they ready?',
      }),
    );
    const { message } = await waitFor(
      () => received[0],
      () => 'nothing arrived',
    );
    const piece = {
      chatId: message.chat.id,
      threadId: message.threadId,
      replyTo: message.platformMessageId,
      text: 'They are: **up 4%**.',
      nonce: 'nonce-0000000000000000001',
    };
    const { platformMessageId } = await emailAdapter.post(piece);
    const sent = await mail.waitForSent((m) => m.parsed.messageId === platformMessageId);
    expect(sent.parsed.inReplyTo).toBe('<q2@example.org>');
    expect(sent.parsed.references).toEqual(['<q0@example.org>', '<q1@example.com>', '<q2@example.org>']);
    expect(sent.parsed.subject).toBe('Re: Quarterly numbers');
    expect(sent.parsed.text?.trim()).toBe('They are: **up 4%**.');
    expect(sent.parsed.from?.value[0]?.address).toBe(BOT);
    expect(sent.to).toEqual([ADA]);
    expect(sent.user).toBe(BOT);
    expect(sent.parsed.headers.get('auto-submitted')).toBe('auto-replied');

    // The same piece again (a retry) carries the same Message-ID.
    const again = await emailAdapter.post(piece);
    expect(again.platformMessageId).toBe(platformMessageId);
    // A later piece of the same reply (no replyTo, same thread) stays in the thread.
    const next = await emailAdapter.post({ ...piece, replyTo: null, text: 'More soon.', nonce: 'nonce-2' });
    const sentNext = await mail.waitForSent((m) => m.parsed.messageId === next.platformMessageId);
    expect(sentNext.parsed.subject).toBe('Re: Quarterly numbers');
    expect(sentNext.parsed.inReplyTo).toBe(platformMessageId);
    expect(sentNext.parsed.references).toContain('<q0@example.org>');
  });

  test('a mail without a Message-ID gets a stable made-up id; the reply to it is threaded by subject alone', async () => {
    const { adapter: emailAdapter, received } = await started();
    const raw = `From: ${ADA}\r\nTo: ${BOT}\r\nSubject: No id here\r\nDate: Mon, 1 Dec 2026 10:00:00 +0000\r\n\r\nhello\r\n`;
    mail.deliver(raw);
    mail.deliver(raw);
    await waitFor(
      () => received[1],
      () => `only ${texts(received)}`,
    );
    const [first, second] = received.map((r) => r.message.platformMessageId);
    expect(first).toMatch(/^synthetic:/);
    expect(second).toBe(first);
    const { platformMessageId } = await emailAdapter.post({
      chatId: ADA,
      threadId: received[0]!.message.threadId,
      replyTo: first!,
      text: 'hi',
      nonce: 'nonce-synthetic',
    });
    const sent = await mail.waitForSent((m) => m.parsed.messageId === platformMessageId);
    expect(sent.parsed.subject).toBe('Re: No id here');
    expect(sent.parsed.inReplyTo).toBeUndefined();
    expect(sent.parsed.references).toBeUndefined();
  });

  test('a new mail takes its subject from its first line; a file goes as an attachment', async () => {
    const emailAdapter = adapter();
    const dir = await mkdtemp(join(tmpdir(), 'email-send-'));
    const path = join(dir, 'report.csv');
    await writeFile(path, 'month,sales\njan,3\n');
    const text = await emailAdapter.post({
      chatId: ADA,
      threadId: null,
      replyTo: null,
      text: '# Daily summary\n\nAll quiet.',
      nonce: 'nonce-new-1',
    });
    const sent = await mail.waitForSent((m) => m.parsed.messageId === text.platformMessageId);
    expect(sent.parsed.subject).toBe('Daily summary');
    expect(sent.parsed.inReplyTo).toBeUndefined();
    expect(sent.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    const file = await emailAdapter.post({
      chatId: ADA,
      threadId: text.platformMessageId,
      replyTo: null,
      text: '',
      file: { name: 'report.csv', path },
      nonce: 'nonce-new-2',
    });
    const withFile = await mail.waitForSent((m) => m.parsed.messageId === file.platformMessageId);
    expect(withFile.parsed.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([
      ['report.csv', 'month,sales\njan,3\n'],
    ]);
    expect(withFile.parsed.subject).toBe('Re: Daily summary');
    expect(withFile.parsed.inReplyTo).toBe(text.platformMessageId);
  });

  test.each([
    [451, '4.3.0 Temporary failure', 'transient'],
    [550, '5.1.1 No such user here', 'not_found'],
    [552, '5.3.4 Message too big', 'too_large'],
    [554, '5.7.1 Rejected by policy', 'forbidden'],
  ])('an SMTP %i reply is a %s… failure', async (code, message, expected) => {
    const emailAdapter = adapter();
    mail.failNextRecipient(code, message);
    const error = await emailAdapter
      .post({ chatId: ADA, threadId: null, replyTo: null, text: 'hi', nonce: `n-${code}` })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ChannelSendError);
    expect((error as ChannelSendError).code).toBe(expected);
  });

  test('an unreachable SMTP server is transient; an address with a line break is refused', async () => {
    const emailAdapter = adapter({
      settings: { smtp: { host: '127.0.0.1', port: 1, secure: false, requireTLS: false } },
    });
    const down = await emailAdapter
      .post({ chatId: ADA, threadId: null, replyTo: null, text: 'hi' })
      .catch((err: unknown) => err);
    expect((down as ChannelSendError).code).toBe('transient');
    const bad = await adapter()
      .post({ chatId: `${ADA}\r\nBcc: all@example.org`, threadId: null, replyTo: null, text: 'hi' })
      .catch((err: unknown) => err);
    expect((bad as ChannelSendError).code).toBe('invalid_request');
  });

  test('probe logs in to both servers and names the address', async () => {
    expect(await adapter().probe()).toEqual({ botName: BOT });
  });
});

describe('quote stripping', () => {
  test.each([
    [
      'Outlook',
      'Sure.\n\n________________________________\nFrom: Warren\nSent: Monday\nTo: Ada\n\nold text',
      'Sure.',
    ],
    ['original message', 'Fine\n-----Original Message-----\nFrom: x\nold', 'Fine'],
    ['wrapped attribution', 'Ok\n\nOn Mon, 1 Dec 2026 at 10:00, Warren\n<bot@example.com> wrote:\n> q', 'Ok'],
    ['mobile signature', 'Yes\n\nSent from my iPhone', 'Yes'],
    [
      'inline quotes',
      '> Question one?\nAnswer one.\n> Question two?\nAnswer two.',
      'Answer one.\nAnswer two.',
    ],
    ['only a quote', '> all quoted', '> all quoted'],
  ])('%s', (_name, input, expected) => {
    expect(stripQuotes(input)).toBe(expected);
  });
});
