// Outbound: one piece → one mail. A reply is threaded (In-Reply-To, References, "Re: " subject) from what
// was remembered of the mail it answers; a new mail takes its subject from its first line. Its
// Message-ID is made from the piece's nonce, so a retried piece carries the same id (and a server or
// client that deduplicates by Message-ID shows it once). Plain text; a file goes as an attachment.
import { createHash, randomUUID } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { ChannelSendError } from '../../channel.ts';
import type { OutboundPiece } from '../../platform.ts';
import { toChannelSendError } from './errors.ts';
import type { EmailSettings } from './settings.ts';
import { trimReferences, type MailContext, type Threads } from './threads.ts';

const MAX_SUBJECT_FROM_TEXT = 78;
const TIMEOUT_MS = 30_000;
const ADDRESS = /^[^\s<>@",;:()\\[\]]{1,64}@[A-Za-z0-9.-]{1,253}$/;

export interface Mailer {
  transport: Transporter<SMTPTransport.SentMessageInfo>;
  settings: EmailSettings;
  installation: string;
  threads: Threads;
}

export function smtpTransport(
  settings: EmailSettings,
  password: string,
): Transporter<SMTPTransport.SentMessageInfo> {
  const { smtp } = settings;
  return nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: !smtp.secure && smtp.requireTLS,
    ignoreTLS: !smtp.secure && !smtp.requireTLS,
    auth: { user: smtp.user ?? settings.address, pass: password },
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
    disableUrlAccess: true,
    logger: false,
  });
}

export async function postMail(mailer: Mailer, piece: OutboundPiece): Promise<{ platformMessageId: string }> {
  const { settings } = mailer;
  const to = piece.chatId.trim();
  if (!ADDRESS.test(to))
    throw new ChannelSendError('invalid_request', `email: "${to.slice(0, 80)}" is not an address`);
  const answered = answeredMail(mailer.threads, piece);
  const messageId = messageIdFor(mailer, piece);
  const subject = answered ? replySubject(answered.subject) : subjectFrom(piece);
  // A mail that came without a Message-ID has a made-up one: threaded by subject alone.
  const inReplyTo = answered?.id.startsWith('<') ? answered.id : undefined;
  const references = answered
    ? trimReferences([...answered.references, answered.id].filter((id) => id.startsWith('<')))
    : [];
  try {
    await mailer.transport.sendMail({
      from: { name: settings.fromName, address: settings.address },
      to,
      subject,
      messageId,
      text: piece.text,
      ...(inReplyTo !== undefined && { inReplyTo }),
      ...(references.length > 0 && { references }),
      // RFC 3834: auto-responders do not answer this, so two bots cannot reply to each other forever.
      headers: { 'Auto-Submitted': answered ? 'auto-replied' : 'auto-generated' },
      ...(piece.file && { attachments: [{ filename: piece.file.name, path: piece.file.path }] }),
    });
  } catch (error) {
    throw toChannelSendError(error);
  }
  // A reply to this mail continues the same thread: remember it like a mail that came in.
  mailer.threads.remember({ id: messageId, subject, references }, piece.threadId ?? undefined);
  return { platformMessageId: messageId };
}

/** The mail this piece answers: the one it replies to, else the latest of its thread. */
function answeredMail(threads: Threads, piece: OutboundPiece): MailContext | undefined {
  const key = piece.replyTo ?? piece.threadId;
  if (key === null) return undefined;
  const known = threads.recall(key);
  if (known) return known;
  // Forgotten (its slot was reused) or a mail without a usable id: threaded by the id alone.
  return key.startsWith('<') ? { id: key, subject: '', references: [] } : undefined;
}

function messageIdFor(mailer: Mailer, piece: OutboundPiece): string {
  const domain = mailer.settings.address.split('@')[1]!.toLowerCase();
  const unique = piece.nonce ?? randomUUID();
  const scope = createHash('sha256').update(mailer.installation).digest('base64url').slice(0, 6);
  return `<${unique.replace(/[^A-Za-z0-9_-]/g, '')}.${scope}@${domain}>`;
}

export function replySubject(subject: string): string {
  const base = subject.replace(/^(\s*(re|aw|sv|antw)\s*(\[\d+\])?\s*:\s*)+/i, '').trim();
  return base === '' ? 'Re: your message' : `Re: ${base}`;
}

function subjectFrom(piece: OutboundPiece): string {
  const first =
    piece.text
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ??
    piece.file?.name ??
    '';
  const plain = first.replace(/^[#>*\s-]+/, '').replace(/[*_`]/g, '');
  if (plain === '') return 'A message';
  return plain.length <= MAX_SUBJECT_FROM_TEXT ? plain : `${plain.slice(0, MAX_SUBJECT_FROM_TEXT - 1)}…`;
}
