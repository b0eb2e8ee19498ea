// A mail provider on loopback for the email channel: an in-memory IMAP server (hoodiecrow-imap, with
// IDLE) holding the bot's mailbox, and an SMTP server (smtp-server) that keeps every mail it is handed.
// `deliver` puts a mail into the mailbox as if it had just arrived (the server tells IDLE clients);
// `changeUidValidity` renumbers the mailbox as a server rebuilding its index would.
import type { AddressInfo, Socket } from 'node:net';
import hoodiecrow from 'hoodiecrow-imap';
import { simpleParser, type ParsedMail } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { SMTPServer } from 'smtp-server';
import { waitUntil } from './wait-until.ts';

export interface SentMail {
  from: string;
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
  user: string | undefined;
}

export interface FakeMail {
  imapPort: number;
  smtpPort: number;
  /** What the bot's IMAP and SMTP logins accept. */
  user: string;
  password: string;
  /** Puts a mail into the mailbox (received at `receivedAt`, default now); returns its UID. */
  deliver(raw: string | Buffer, receivedAt?: Date): number;
  /** Mail handed to the SMTP server, in order. */
  sent: SentMail[];
  waitForSent(match: (mail: SentMail) => boolean, timeoutMs?: number): Promise<SentMail>;
  /** The next RCPT TO is answered with this SMTP reply (e.g. 451 or 550). */
  failNextRecipient(code: number, message: string): void;
  changeUidValidity(): number;
  /** Cuts every IMAP connection, as a provider restarting would. */
  dropClients(): void;
  uidValidity(): number;
  close(): Promise<void>;
}

export async function startFakeMail(options: { user?: string; password?: string } = {}): Promise<FakeMail> {
  const user = options.user ?? 'bot@example.com';
  const password = options.password ?? 'mail-pass-1';
  const imap = hoodiecrow({
    plugins: ['IDLE', 'ENABLE', 'UNSELECT'],
    users: { [user]: { password } },
    storage: { INBOX: { messages: [] } },
  });
  await new Promise<void>((resolve) => imap.listen(0, '127.0.0.1', resolve));
  // The server's close waits for its clients: closing ends them, as a provider going away would.
  const sockets = new Set<Socket>();
  imap.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const sent: SentMail[] = [];
  let failure: { code: number; message: string } | undefined;
  const smtp = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onRcptTo(_address, _session, callback) {
      const next = failure;
      failure = undefined;
      if (next === undefined) return callback();
      callback(Object.assign(new Error(next.message), { responseCode: next.code }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            sent.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              raw,
              parsed,
              user: typeof session.user === 'string' ? session.user : undefined,
            });
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const inbox = () => imap.getMailbox('INBOX');

  return {
    imapPort: (imap.server.address() as AddressInfo).port,
    smtpPort: (smtp.server.address() as AddressInfo).port,
    user,
    password,
    sent,
    deliver(raw, receivedAt) {
      const text = typeof raw === 'string' ? raw : raw.toString('binary');
      return imap.appendMessage('INBOX', [], receivedAt ?? false, text).message.uid;
    },
    waitForSent: (match, timeoutMs = 10_000) =>
      waitUntil(
        () => sent.find(match),
        timeoutMs,
        () => `no matching mail sent; sent: ${sent.map((m) => m.parsed.subject).join(' | ')}`,
      ),
    failNextRecipient(code, message) {
      failure = { code, message };
    },
    changeUidValidity() {
      const box = inbox();
      box.uidvalidity += 1000;
      box.messages.forEach((message, i) => (message.uid = i + 1));
      box.uidnext = box.messages.length + 1;
      return box.uidvalidity;
    },
    uidValidity: () => inbox().uidvalidity,
    dropClients() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => imap.close(() => resolve()));
    },
  };
}

/** A mail as a client would send it (nodemailer's composer): headers, text, attachments. */
export async function composeMail(mail: Mail.Options): Promise<string> {
  const raw = await new MailComposer(mail).compile().build();
  return raw.toString('binary');
}
