// Where reading the mailbox stopped, kept in the channel's state so a restart reads nothing twice:
// the mailbox's UIDVALIDITY, the last UID handed on, and when the last mail handed on arrived (what a
// re-sync after a UIDVALIDITY change starts from, since the old UIDs then mean nothing).
import { z } from 'zod';
import type { ChannelState } from '../../platform.ts';

export interface Cursor {
  /** UIDVALIDITY as a decimal string (it may exceed 2^53 on some servers). */
  uidValidity: string;
  lastUid: number;
  /** ISO time: mail received before it was handed on already. */
  since: string;
  /** Set after a UIDVALIDITY change until the re-read is done: mail received before it is skipped. */
  floor?: string;
}

const cursorSchema = z.object({
  uidValidity: z.string().regex(/^\d{1,20}$/),
  lastUid: z.number().int().min(0),
  since: z.iso.datetime(),
  floor: z.iso.datetime().optional(),
});

export function cursorKey(mailbox: string): string {
  return `cursor:${mailbox}`.slice(0, 512);
}

export function loadCursor(state: ChannelState, mailbox: string): Cursor | undefined {
  const raw = state.get(cursorKey(mailbox));
  if (raw === undefined) return undefined;
  try {
    return cursorSchema.parse(JSON.parse(raw));
  } catch {
    return undefined;
  }
}

export function saveCursor(state: ChannelState, mailbox: string, cursor: Cursor): void {
  state.set(cursorKey(mailbox), JSON.stringify(cursor));
}
