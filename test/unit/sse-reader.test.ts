import { expect, test } from 'vitest';
import { parseServerSentEvents, readServerSentEvents } from '../../src/host/channels/sse-reader.ts';

/** A stream that delivers the text in the given pieces, as a network would. */
const streamOf = (...pieces: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(new TextEncoder().encode(piece));
      controller.close();
    },
  });

test('events split across chunks come out whole, with their id, and comments are skipped', async () => {
  const events = [];
  for await (const e of readServerSentEvents(
    streamOf(
      ': ping\n\nretry: 2000\n\nevent: mess',
      'age\nid: a1\ndata: {"text":',
      '"hi"}\n\ndata: line 1\r\ndata: line 2\r\n\r\n',
    ),
  )) {
    events.push(e);
  }
  expect(events).toEqual([
    { event: 'message', id: 'a1', data: '{"text":"hi"}' },
    { event: 'message', id: '', data: 'line 1\nline 2' },
  ]);
});

test('a text gives the events it holds whole; one still missing its closing blank line is left out', () => {
  expect(
    parseServerSentEvents(': ping\n\nevent: edit\nid: e1\ndata: {"text":"x"}\n\nid: e2\ndata: cut'),
  ).toEqual([{ event: 'edit', id: 'e1', data: '{"text":"x"}' }]);
});
