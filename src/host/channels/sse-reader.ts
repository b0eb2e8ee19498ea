// Reads server-sent events with eventsource-parser: the web chat's reply stream (`warren chat`, the
// tests and the benchmark talk to Warren as any client would) and the frames its replay buffer keeps.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { EventSourceParserStream } from 'eventsource-parser/stream';

export interface ServerSentEvent {
  /** `message` when the frame names none, as EventSource does. */
  event: string;
  /** '' when the frame carries none. */
  id: string;
  data: string;
}

/** Yields each complete event (comments, retry fields and keep-alive pings skipped) until the stream ends. */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  const events = body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  for await (const event of events) yield serverSentEvent(event);
}

/** The events a text holds in full (one still missing its closing blank line is left out). */
export function parseServerSentEvents(text: string): ServerSentEvent[] {
  const events: ServerSentEvent[] = [];
  createParser({ onEvent: (event) => events.push(serverSentEvent(event)) }).feed(text);
  return events;
}

function serverSentEvent({ event, id, data }: EventSourceMessage): ServerSentEvent {
  return { event: event ?? 'message', id: id ?? '', data };
}
