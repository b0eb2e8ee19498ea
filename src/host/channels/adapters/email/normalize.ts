// Pure: one parsed mail → Warren's InboundMessage (or a reason to skip it). Every header is hostile
// input: ids are checked against the msg-id shape and bounded, lists are capped, text is stripped of
// quoted history and cut to length, files over the size cap are named in the text instead of taken.
import { createHash } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import type { InboundAttachment, InboundMessage } from '../../channel.ts';
import { fileNote } from '../../inbound-file.ts';
import { stripQuotes } from './quotes.ts';
import { senderVerified } from './sender-check.ts';
import { MAX_MESSAGE_ID, MAX_SUBJECT, trimReferences, type MailContext } from './threads.ts';

/** `<left@right>`, printable ASCII only, bounded: anything else is not used as an id or header. */
const MESSAGE_ID = /^<[\x21-\x3b\x3d\x3f-\x7e]{1,246}@[\x21-\x3b\x3d\x3f-\x7e]{1,246}>$/;
const MAX_NAME = 200;
const MAX_FILE_NAME = 200;

export interface NormalizeContext {
  installation: string;
  /** The bot's own address, lower-cased. */
  ownAddress: string;
  /** Set: only mail this server vouched for (Authentication-Results dmarc=pass) is taken. */
  authservId?: string;
  maxFileBytes: number;
  maxTextChars: number;
  maxAttachments: number;
  /** The source was cut at the size cap: its files cannot be whole. */
  truncated: boolean;
  /** When the server received it, for a mail without a usable Date. */
  receivedAt: Date;
}

export type Normalized =
  { kind: 'message'; message: InboundMessage; context: MailContext } | { kind: 'skip'; reason: string };

export function normalizeMail(mail: ParsedMail, context: NormalizeContext): Normalized {
  const from = mail.from?.value.find((a) => typeof a.address === 'string' && a.address.includes('@'));
  const address = from?.address?.trim().toLowerCase();
  if (address === undefined || address.length > 254 || /[\s<>]/.test(address)) {
    return { kind: 'skip', reason: 'no usable From address' };
  }
  if (address === context.ownAddress) return { kind: 'skip', reason: "the bot's own mail" };
  if (context.authservId !== undefined && !senderVerified(mail.headerLines, context.authservId, address)) {
    return { kind: 'skip', reason: `${context.authservId} did not vouch for the From address (DMARC)` };
  }
  const auto = autoReason(mail);
  if (auto !== undefined) return { kind: 'skip', reason: auto };

  const ownId = messageIdOf(mail.messageId);
  const references = idsOf(mail.references);
  const inReplyTo = idsOf(mail.inReplyTo)[0];
  const platformMessageId = ownId ?? syntheticId(mail, address);
  const threadId = references[0] ?? inReplyTo ?? ownId ?? platformMessageId;
  const subject = oneLine(mail.subject ?? '').slice(0, MAX_SUBJECT);

  const { attachments, notes } = filesOf(mail, context);
  const body = stripQuotes(textOf(mail));
  const text = [cut(body, context.maxTextChars), ...notes].filter((part) => part !== '').join('\n');
  const name = oneLine(from?.name ?? '').slice(0, MAX_NAME);
  const date = mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : context.receivedAt;

  // References of this mail for a reply: its own chain (or the one it answers), then itself.
  const chain = references.length > 0 ? references : inReplyTo !== undefined ? [inReplyTo] : [];
  return {
    kind: 'message',
    message: {
      channelType: context.installation,
      installation: context.installation,
      platformMessageId,
      chat: { id: address, ...(name !== '' && { name }), isGroup: false },
      // Anyone can write any From. Unless the receiving server vouched for it (authservId), the sender
      // is anonymous: it is answered, but never holds a role or decides an approval by reply.
      sender: {
        id: address,
        ...(name !== '' && { name }),
        ...(context.authservId === undefined && { anonymous: true }),
      },
      threadId,
      text,
      attachments,
      mentioned: true,
      timestamp: date.toISOString(),
    },
    context: { id: ownId ?? platformMessageId, subject, references: trimReferences(chain) },
  };
}

/** RFC 3834 auto-replies, bounces and bulk mail: answering them starts mail loops. */
function autoReason(mail: ParsedMail): string | undefined {
  const header = (name: string) => {
    const value = mail.headers.get(name);
    return typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  };
  const autoSubmitted = header('auto-submitted');
  if (autoSubmitted !== undefined && autoSubmitted !== 'no') return 'an automatic mail (Auto-Submitted)';
  const precedence = header('precedence');
  if (precedence !== undefined && ['bulk', 'junk', 'list', 'auto_reply'].includes(precedence)) {
    return `a ${precedence} mail (Precedence)`;
  }
  const contentType = mail.headers.get('content-type') as { value?: unknown } | undefined;
  if (typeof contentType?.value === 'string' && /^multipart\/report$/i.test(contentType.value)) {
    return 'a delivery report';
  }
  return undefined;
}

/** The one msg-id a header holds, or undefined when it holds none usable. */
export function messageIdOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed.length <= MAX_MESSAGE_ID && MESSAGE_ID.test(trimmed) ? trimmed : undefined;
}

/** The msg-ids of a References/In-Reply-To header, in order, usable ones only, root kept. */
function idsOf(value: string[] | string | undefined): string[] {
  if (value === undefined) return [];
  const raw = (Array.isArray(value) ? value.slice(0, 1_000) : [value]).join(' ').slice(0, 64 * 1024);
  const ids = (raw.match(/<[^<>\s]{1,500}>/g) ?? []).flatMap((id) => messageIdOf(id) ?? []);
  return trimReferences(ids);
}

/** A mail without a Message-ID gets one from what it says, so a re-read yields the same id. */
function syntheticId(mail: ParsedMail, address: string): string {
  const hash = createHash('sha256')
    .update(
      [address, mail.date?.toISOString() ?? '', mail.subject ?? '', (mail.text ?? '').slice(0, 4096)].join(
        '\u0000',
      ),
    )
    .digest('base64url')
    .slice(0, 32);
  return `synthetic:${hash}`;
}

/** The plain body; an HTML-only mail's text as mailparser renders it. */
function textOf(mail: ParsedMail): string {
  if (typeof mail.text === 'string' && mail.text.trim() !== '') return mail.text;
  return '';
}

function filesOf(
  mail: ParsedMail,
  context: NormalizeContext,
): { attachments: InboundAttachment[]; notes: string[] } {
  const attachments: InboundAttachment[] = [];
  const notes: string[] = [];
  // Pictures embedded in an HTML body (logos in signatures) are not files the sender attached.
  const files = mail.attachments.filter((a) => !a.related);
  for (const [i, file] of files.entries()) {
    const name = fileNameOf(file.filename, i);
    if (i >= context.maxAttachments) {
      notes.push(
        `[${files.length - i} more file(s) not received: at most ${context.maxAttachments} per mail]`,
      );
      break;
    }
    if (context.truncated) {
      notes.push(fileNote(name, { ok: false, tooLarge: true, reason: 'the mail is over the size limit' }));
    } else if (file.content.length > context.maxFileBytes) {
      notes.push(fileNote(name, { ok: false, tooLarge: true, reason: `${file.content.length} bytes` }));
    } else {
      const type = /^[\w.+-]{1,64}\/[\w.+-]{1,128}$/.test(file.contentType)
        ? file.contentType
        : 'application/octet-stream';
      attachments.push({ name, type, size: file.content.length, data: file.content });
    }
  }
  return { attachments, notes };
}

function fileNameOf(name: string | undefined, index: number): string {
  const cleaned = oneLine(name ?? '')
    .replace(/[/\\\p{Cc}]/gu, '_')
    .slice(0, MAX_FILE_NAME);
  return cleaned === '' || /^\.+$/.test(cleaned) ? `attachment-${index + 1}` : cleaned;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').trim();
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n[… the rest of the mail was cut]`;
}
