// Reading the mailbox past the cursor (cursor.ts): new mail in UID order, each fetched up to the size
// cap, parsed, normalized and handed on before the cursor moves past it. A mail that cannot be parsed
// or is not for the agent is skipped (logged); one the host could not take stops the pass, to be read
// again on the next.
import type { ImapFlow } from 'imapflow';
import { simpleParser, type ParsedMail } from 'mailparser';
import { errorText } from '../../../../shared/error-text.ts';
import type { Logger } from '../../../logger.ts';
import type { ChannelState, PlatformEvents } from '../../platform.ts';
import { loadCursor, saveCursor, type Cursor } from './cursor.ts';
import { normalizeMail } from './normalize.ts';
import type { EmailSettings } from './settings.ts';
import type { Threads } from './threads.ts';

/** Mail read per batch; the pass goes on until nothing is new. */
const BATCH = 50;
/** After a UIDVALIDITY change, mail received this long before the cursor's time is read again. */
const RESYNC_MARGIN_MS = 10 * 60_000;
const DAY_MS = 86_400_000;
const MAX_HTML_TO_PARSE = 2 * 1024 * 1024;

export interface ReaderDeps {
  installation: string;
  settings: EmailSettings;
  state: ChannelState;
  threads: Threads;
  maxFileBytes: number;
  log: Logger;
  clock: () => Date;
  events: PlatformEvents;
}

export interface MailReader {
  /** Reads everything new; resolves when done or a mail was not taken. Throws when the link fails. */
  pass(isStopping: () => boolean): Promise<void>;
}

/** Selects the mailbox (read-only) and settles the cursor; a first start reads only mail from now on. */
export async function openReader(client: ImapFlow, deps: ReaderDeps): Promise<MailReader> {
  const { settings, log, installation } = deps;
  const box = await client.mailboxOpen(settings.mailbox, { readOnly: true });
  const uidValidity = String(box.uidValidity);
  const saved = loadCursor(deps.state, settings.mailbox);
  let cursor: Cursor;
  if (saved === undefined) {
    cursor = { uidValidity, lastUid: Math.max(0, box.uidNext - 1), since: deps.clock().toISOString() };
    saveCursor(deps.state, settings.mailbox, cursor);
  } else if (saved.uidValidity === uidValidity) {
    cursor = saved;
  } else {
    // The old UIDs mean nothing now: read again what arrived since the last mail handed on (the
    // host's claim on each Message-ID drops what it has), skip everything older.
    const floor = new Date(Date.parse(saved.since) - RESYNC_MARGIN_MS).toISOString();
    log.warn(
      { installation, mailbox: settings.mailbox, was: saved.uidValidity, now: uidValidity, floor },
      'UIDVALIDITY changed: reading the mailbox again from the last mail handed on',
    );
    cursor = { uidValidity, lastUid: 0, since: saved.since, floor };
    saveCursor(deps.state, settings.mailbox, cursor);
  }
  return { pass: (isStopping) => pass(client, deps, cursor, isStopping) };
}

async function pass(
  client: ImapFlow,
  deps: ReaderDeps,
  cursor: Cursor,
  isStopping: () => boolean,
): Promise<void> {
  for (;;) {
    const batch = await newUids(client, cursor);
    if (batch.length === 0) break;
    for (const uid of batch) {
      if (isStopping()) return;
      if (!(await readOne(client, deps, cursor, uid))) return;
    }
  }
  if (cursor.floor !== undefined) {
    delete cursor.floor;
    saveCursor(deps.state, deps.settings.mailbox, cursor);
  }
}

async function newUids(client: ImapFlow, cursor: Cursor): Promise<number[]> {
  const uids: number[] = [];
  if (cursor.floor !== undefined) {
    // SEARCH SINCE has day granularity: a day early, then each mail's INTERNALDATE decides.
    const found = await client.search({ since: new Date(Date.parse(cursor.floor) - DAY_MS) }, { uid: true });
    uids.push(...(found || []).filter((uid) => uid > cursor.lastUid));
  } else {
    for await (const message of client.fetch(`${cursor.lastUid + 1}:*`, { uid: true }, { uid: true })) {
      // "N:*" always names the last mail, even when its UID is below N.
      if (message.uid > cursor.lastUid) uids.push(message.uid);
    }
  }
  return uids.sort((a, b) => a - b).slice(0, BATCH);
}

/** One mail; false when the host did not take it (the cursor stays before it). */
async function readOne(client: ImapFlow, deps: ReaderDeps, cursor: Cursor, uid: number): Promise<boolean> {
  const { settings, log, installation } = deps;
  const cap = settings.maxMessageBytes;
  const fetched = await client.fetchOne(
    String(uid),
    { uid: true, size: true, internalDate: true, source: { maxLength: cap } },
    { uid: true },
  );
  const receivedAt = dateOf(fetched ? fetched.internalDate : undefined) ?? deps.clock();
  const advance = (): true => {
    cursor.lastUid = uid;
    if (receivedAt.toISOString() > cursor.since) cursor.since = receivedAt.toISOString();
    saveCursor(deps.state, settings.mailbox, cursor);
    return true;
  };
  if (!fetched || !fetched.source) {
    log.warn({ installation, uid }, 'mail vanished before it was read; skipped');
    return advance();
  }
  if (cursor.floor !== undefined && receivedAt.toISOString() < cursor.floor) return advance();
  const truncated = (fetched.size ?? 0) > cap || fetched.source.length >= cap;
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(fetched.source, {
      skipImageLinks: true,
      skipTextToHtml: true,
      skipTextLinks: true,
      maxHtmlLengthToParse: MAX_HTML_TO_PARSE,
    });
  } catch (err) {
    log.warn({ installation, uid, error: errorText(err) }, 'mail could not be parsed; skipped');
    return advance();
  }
  const normalized = normalizeMail(parsed, {
    installation,
    ownAddress: settings.address.toLowerCase(),
    ...(settings.authservId !== undefined && { authservId: settings.authservId }),
    maxFileBytes: deps.maxFileBytes,
    maxTextChars: settings.maxTextChars,
    maxAttachments: settings.maxAttachments,
    truncated,
    receivedAt,
  });
  if (normalized.kind === 'skip') {
    log.info({ installation, uid, reason: normalized.reason }, 'mail skipped');
    return advance();
  }
  const { message, context } = normalized;
  deps.threads.remember(context, message.threadId ?? undefined);
  try {
    await deps.events.message(message, message.platformMessageId);
  } catch (err) {
    log.warn({ installation, uid, error: errorText(err) }, 'mail not taken; it is read again later');
    return false;
  }
  return advance();
}

function dateOf(value: Date | string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
