// A person's events in the web chat transport's replay buffers (`<data>/files/<channel>/events/`, one
// file per chat, channels/adapters/webchat/saved-events.ts), for export and deletion (data-rights.ts). A buffer holds only what
// was sent to a chat, never who wrote in it; so what is theirs is decided from the session files:
// the replies to the chat messages they sent, what was sent to them by id (approval cards), and the
// edits and reactions of either. A chat nobody else is known in goes whole (see ownsChat).
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  eventsDirOf,
  eventsFileOf,
  parseFrame,
  parseSavedEvents,
  writeSavedEvents,
  type SavedEvent,
} from '../channels/index.ts';

/** The channels on the web chat transport, each with its own buffer folder. */
export const BUFFERED_CHANNELS = ['webchat', 'cli'] as const;

export interface ChatRef {
  channel: string;
  chatId: string;
}

/** What the session files and the central database say about the chats on buffered channels. */
export interface ChatFacts {
  /** Every chat message on a buffered channel, in any session, whoever sent it. */
  messages: {
    chat: ChatRef;
    /** The id the platform gave it: replies name it as `inReplyTo`. */
    platformMessageId: string | null;
    mine: boolean;
    /** Event ids of the replies to it (`<session>:<messages_out id>`), when it is theirs. */
    replyEventIds: string[];
  }[];
  /** Events sent to them by id (approval cards). */
  sentToThem: (ChatRef & { eventId: string })[];
  /** Chats someone else has as their direct chat (user_dms): never theirs alone. */
  othersDirectChats: ChatRef[];
  /** Their own direct chats (user_dms). */
  directChats: ChatRef[];
}

export interface BufferedEvent {
  id: string;
  /** `message`, `edit` or `react`; the raw frame when it cannot be read. */
  event: string;
  data: Record<string, unknown> | null;
}

export interface BufferedChat extends ChatRef {
  /** The chat is theirs alone: its whole buffer file goes. */
  wholeChat: boolean;
  events: BufferedEvent[];
}

/** Their events, per chat that holds any, read from the buffer files (the host appends before it sends). */
export function findTheirEvents(dataDir: string, facts: ChatFacts): BufferedChat[] {
  const found: BufferedChat[] = [];
  for (const chat of chatsOf(facts)) {
    const file = bufferFile(dataDir, chat);
    if (!existsSync(file)) continue;
    const saved = parseSavedEvents(readFileSync(file, 'utf8'));
    const { wholeChat, picked } = pickTheirEvents(saved, chat, facts);
    if (picked.length > 0) found.push({ ...chat, wholeChat, events: picked.map(toBufferedEvent) });
  }
  return found;
}

/**
 * Removes what findTheirEvents found: a chat of theirs alone loses its file, any other chat is
 * rewritten without their events (temp file, then rename). Resolves with events removed per channel.
 */
export async function removeTheirEvents(
  dataDir: string,
  chats: readonly BufferedChat[],
): Promise<Record<string, number>> {
  const removed: Record<string, number> = {};
  for (const chat of chats) {
    const file = bufferFile(dataDir, chat);
    const saved = parseSavedEvents(readFileSync(file, 'utf8'));
    const theirs = new Set(chat.events.map((e) => e.id));
    const kept = chat.wholeChat ? [] : saved.filter((e) => !theirs.has(e.id));
    if (kept.length === 0) await rm(file, { force: true });
    else writeSavedEvents(file, kept);
    removed[chat.channel] = (removed[chat.channel] ?? 0) + saved.length - kept.length;
  }
  return removed;
}

/**
 * Pure: which of a chat's saved events are theirs. Replies to their messages and events sent to them
 * by id, then (in order, as an edit follows what it edits) edits and reactions of those or of their
 * messages. The whole chat when it is theirs alone.
 */
export function pickTheirEvents(
  saved: readonly SavedEvent[],
  chat: ChatRef,
  facts: ChatFacts,
): { wholeChat: boolean; picked: SavedEvent[] } {
  const inChat = facts.messages.filter((m) => sameChat(m.chat, chat));
  const theirMessages = new Set(inChat.filter((m) => m.mine).flatMap((m) => m.platformMessageId ?? []));
  const targets = new Set([
    ...theirMessages,
    ...inChat.flatMap((m) => m.replyEventIds),
    ...facts.sentToThem.filter((s) => sameChat(s, chat)).map((s) => s.eventId),
  ]);
  const picked: SavedEvent[] = [];
  let repliesToOthers = false;
  for (const event of saved) {
    const data = parseFrame(event.text)?.data ?? {};
    const inReplyTo = typeof data.inReplyTo === 'string' ? data.inReplyTo : null;
    const targetId = typeof data.targetId === 'string' ? data.targetId : null;
    if (inReplyTo !== null && !theirMessages.has(inReplyTo)) repliesToOthers = true;
    const theirs =
      targets.has(event.id) ||
      (inReplyTo !== null && theirMessages.has(inReplyTo)) ||
      (targetId !== null && targets.has(targetId));
    if (!theirs) continue;
    picked.push(event);
    targets.add(event.id);
  }
  const wholeChat = ownsChat(chat, facts, inChat, repliesToOthers);
  return { wholeChat, picked: wholeChat ? [...saved] : picked };
}

/**
 * Theirs alone: they wrote in it, or it is their direct chat; no one else wrote in it (session files),
 * has it as a direct chat, or is answered in its buffer. A web chat is never a group chat, so a
 * direct chat alone does not make it theirs (two people can share `lobby`).
 */
function ownsChat(
  chat: ChatRef,
  facts: ChatFacts,
  inChat: ChatFacts['messages'],
  repliesToOthers: boolean,
): boolean {
  const known = inChat.some((m) => m.mine) || facts.directChats.some((c) => sameChat(c, chat));
  return (
    known &&
    !repliesToOthers &&
    !inChat.some((m) => !m.mine) &&
    !facts.othersDirectChats.some((c) => sameChat(c, chat))
  );
}

function chatsOf(facts: ChatFacts): ChatRef[] {
  const all = [
    ...facts.messages.filter((m) => m.mine).map((m) => m.chat),
    ...facts.directChats,
    ...facts.sentToThem,
  ];
  const byKey = new Map(
    all.map((c) => [`${c.channel}\0${c.chatId}`, { channel: c.channel, chatId: c.chatId }]),
  );
  // Sorted: the export reads the same whichever session was made first.
  return [...byKey.values()].sort(
    (a, b) => a.channel.localeCompare(b.channel) || a.chatId.localeCompare(b.chatId),
  );
}

function bufferFile(dataDir: string, chat: ChatRef): string {
  // The host gives each channel `<data>/files/<channel>` (src/host/index.ts).
  return eventsFileOf(eventsDirOf(join(dataDir, 'files', chat.channel)), chat.chatId);
}

function toBufferedEvent(saved: SavedEvent): BufferedEvent {
  const frame = parseFrame(saved.text);
  return frame
    ? { id: saved.id, event: frame.event, data: frame.data }
    : { id: saved.id, event: saved.text, data: null };
}

const sameChat = (a: ChatRef, b: ChatRef): boolean => a.channel === b.channel && a.chatId === b.chatId;
