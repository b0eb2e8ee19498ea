// The web chat transport's saved events: one file per chat under `<filesDir>/events/`, one JSON line
// `{ id, text }` per event sent to the chat, `text` being its server-sent-event frame. The channel
// appends and compacts them (chat-events.ts); `warren users delete` removes a person's
// (access/chat-buffers.ts).
import { createHash } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseServerSentEvents } from '../../sse-reader.ts';

export interface SavedEvent {
  id: string;
  text: string;
}

/** What a frame says: its event type (`message`, `edit`, `react`) and its data. */
export interface EventFrame {
  event: string;
  data: Record<string, unknown>;
}

export function eventsDirOf(filesDir: string): string {
  return join(filesDir, 'events');
}

/** A hash of the chat id: any id shape gives a safe file name. */
export function eventsFileOf(eventsDir: string, chatId: string): string {
  return join(eventsDir, `${createHash('sha256').update(chatId).digest('base64url').slice(0, 22)}.log`);
}

/** The events of a file's content, oldest first; a line cut short by a crash is skipped. */
export function parseSavedEvents(content: string): SavedEvent[] {
  const events: SavedEvent[] = [];
  for (const line of content.split('\n').filter(Boolean)) {
    try {
      const { id, text } = JSON.parse(line) as SavedEvent;
      if (typeof id === 'string' && typeof text === 'string') events.push({ id, text });
    } catch {
      // a write cut short by a crash
    }
  }
  return events;
}

/** Replaces the file's content in one step (temp file, then rename): a reader sees old or new, never half. */
export function writeSavedEvents(file: string, events: readonly SavedEvent[]): void {
  writeFileSync(`${file}.tmp`, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  renameSync(`${file}.tmp`, file);
}

/**
 * The saved form of an event: the frame the transport streamed for it. The data is JSON, so one
 * `data:` line holds it (JSON text has no line breaks).
 */
export function savedFrame(event: string, id: string, data: string): string {
  return `event: ${event}\nid: ${id}\ndata: ${data}\n\n`;
}

/** The frame's event type and data; undefined for a frame this transport did not write. */
export function parseFrame(text: string): EventFrame | undefined {
  const [frame] = parseServerSentEvents(text);
  if (!frame) return undefined;
  try {
    const parsed = JSON.parse(frame.data) as unknown;
    return typeof parsed === 'object' && parsed !== null
      ? { event: frame.event, data: parsed as Record<string, unknown> }
      : undefined;
  } catch {
    return undefined;
  }
}
