// Each chat's recent events: kept in memory for the chats in use, appended to the chat's events file
// (saved-events.ts) so a client reconnecting after a restart misses nothing, replayed to a client that
// (re)connects, and pushed to the chat's open streams.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import type { Logger } from '../../../logger.ts';
import {
  eventsDirOf,
  eventsFileOf,
  parseFrame,
  parseSavedEvents,
  savedFrame,
  writeSavedEvents,
} from './saved-events.ts';

/** One event sent to a chat, as its streams write it. */
export interface ChatEvent {
  id: string;
  /** `message`, `edit` or `react`. */
  event: string;
  /** JSON text. */
  data: string;
  /** The data anonymous visitors get when it differs: approval options without their values. */
  forAnonymous?: string;
}

/** An open stream on a chat. */
export interface ChatListener {
  push(event: ChatEvent): void;
  end(): void;
}

export type ChatEvents = ReturnType<typeof createChatEvents>;

interface ChatState {
  events: ChatEvent[];
  listeners: Set<ChatListener>;
  /** Lines in the chat's event file; it is rewritten with only the buffered events past twice the buffer. */
  persisted: number;
}

/** Chats whose recent events are kept; past this, the least recently used chat nobody listens to is forgotten. */
const MAX_CHATS = 1000;

export function createChatEvents(options: {
  filesDir: string;
  /** Recent events kept per chat and replayed to a client that (re)connects. */
  maxBuffered: number;
  log: Logger;
  type: string;
}) {
  const { maxBuffered, log, type } = options;
  const chats = new Map<string, ChatState>();
  // Not servable: file folders are 22-character hashes (file-store.ts).
  const eventsDir = eventsDirOf(options.filesDir);
  mkdirSync(eventsDir, { recursive: true });

  return { publish, has, replay, listen, listenerCount, endAll };

  /** Keeps and saves the event, then pushes it to the chat's open streams. */
  function publish(chatId: string, event: string, id: string, data: Record<string, unknown>): void {
    const chat = chatState(chatId);
    const chatEvent = toChatEvent(event, id, JSON.stringify(data));
    chat.events.push(chatEvent);
    if (chat.events.length > maxBuffered) chat.events.shift();
    persist(chatId, chat, chatEvent);
    for (const listener of [...chat.listeners]) listener.push(chatEvent);
  }

  function has(chatId: string, id: string): boolean {
    return chatState(chatId).events.some((event) => event.id === id);
  }

  /** The chat's buffered events, only those after lastEventId when it is buffered. */
  function replay(chatId: string, lastEventId: string | undefined): ChatEvent[] {
    const events = chatState(chatId).events;
    const index = lastEventId === undefined ? -1 : events.findIndex((event) => event.id === lastEventId);
    return events.slice(index + 1);
  }

  /** Adds an open stream to the chat; the returned function removes it. */
  function listen(chatId: string, listener: ChatListener): () => void {
    const chat = chatState(chatId);
    chat.listeners.add(listener);
    return () => chat.listeners.delete(listener);
  }

  function listenerCount(chatId: string): number {
    return chatState(chatId).listeners.size;
  }

  function endAll(): void {
    for (const chat of chats.values()) for (const listener of [...chat.listeners]) listener.end();
  }

  /**
   * Appended before listeners get the event: the host may die right after a send counted as delivered,
   * and the client then finds the event in the replay of the restarted host. A failed write is logged;
   * the live push still happens.
   */
  function persist(chatId: string, chat: ChatState, event: ChatEvent): void {
    try {
      saveEvent(eventsFileOf(eventsDir, chatId), chat, event, maxBuffered);
    } catch (err) {
      log.warn(
        { err, channel: type, chat: chatId },
        'recent events not saved; a restart will not replay them',
      );
    }
  }

  /** The chat's state, marked most recently used; may forget the least recently used idle chat. */
  function chatState(chatId: string): ChatState {
    const saved = () => loadEvents(eventsFileOf(eventsDir, chatId), maxBuffered);
    const chat = chats.get(chatId) ?? { ...saved(), listeners: new Set() };
    chats.delete(chatId);
    chats.set(chatId, chat);
    if (chats.size > MAX_CHATS) {
      const idle = [...chats].find(([, candidate]) => candidate.listeners.size === 0);
      if (idle) chats.delete(idle[0]);
    }
    return chat;
  }
}

/** Appends the event to the chat's file, or rewrites the file with the buffered events once it is twice the buffer. */
function saveEvent(file: string, chat: ChatState, event: ChatEvent, maxBuffered: number): void {
  if (chat.persisted < 2 * maxBuffered) {
    appendFileSync(file, `${JSON.stringify({ id: event.id, text: frameOf(event) })}\n`);
    chat.persisted++;
    return;
  }
  writeSavedEvents(
    file,
    chat.events.map((e) => ({ id: e.id, text: frameOf(e) })),
  );
  chat.persisted = chat.events.length;
}

/** The chat's saved events, the last maxBuffered of them (a torn last line is skipped). */
function loadEvents(file: string, maxBuffered: number): { events: ChatEvent[]; persisted: number } {
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
    // End a torn last line, so the next append starts a line of its own.
    if (content.length > 0 && !content.endsWith('\n')) appendFileSync(file, '\n');
  } catch {
    return { events: [], persisted: 0 };
  }
  const lines = content.split('\n').filter(Boolean);
  const events = parseSavedEvents(lines.slice(-maxBuffered).join('\n')).flatMap(({ id, text }) => {
    const frame = parseFrame(text);
    return frame ? [toChatEvent(frame.event, id, JSON.stringify(frame.data))] : [];
  });
  return { events, persisted: lines.length };
}

function frameOf(event: ChatEvent): string {
  return savedFrame(event.event, event.id, event.data);
}

/**
 * The event, and for a card carrying approval decisions, the same card without its option values
 * for anonymous visitors: they may not decide it, and the values need not travel further than the
 * signed-in people who may. Question options keep theirs (a visitor may answer a question asked of them).
 */
function toChatEvent(event: string, id: string, data: string): ChatEvent {
  if (!data.includes('"apr:')) return { id, event, data };
  const parsed = JSON.parse(data) as Record<string, unknown>;
  const card = parsed.card as { options?: { label: string; value?: string }[] } | undefined;
  if (!Array.isArray(card?.options)) return { id, event, data };
  const options = card.options.map((o) => (o.value?.startsWith('apr:') ? { label: o.label } : o));
  return { id, event, data, forAnonymous: JSON.stringify({ ...parsed, card: { ...card, options } }) };
}
