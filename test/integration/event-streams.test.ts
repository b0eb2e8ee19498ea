// runEventStream over a real HTTP server: what a stream's owner may still do after it has ended.
import { Hono } from 'hono';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  RESPONSE_ALREADY_SENT,
  runEventStream,
  sseFrame,
  startEventStream,
  type OpenEventStream,
} from '../../src/host/event-streams.ts';
import type { RunningHttpServer } from '../../src/host/http.ts';
import { serveApp } from '../harness/serve-app.ts';

let server: RunningHttpServer;
let opened: (stream: OpenEventStream) => void;
const ended: string[] = [];

beforeAll(async () => {
  const app = new Hono().get('/events', (c) => {
    runEventStream(
      startEventStream(c),
      { maxQueuedBytes: 1024, pingIntervalMs: 60_000, onEnd: () => ended.push('ended') },
      (stream) => {
        stream.writer.write(sseFrame('hello', '{}'), { force: true });
        opened(stream);
        return () => ended.push('unlistened');
      },
    );
    return RESPONSE_ALREADY_SENT;
  });
  server = await serveApp(app, '/t');
});
afterAll(() => server.close());

test('a write after the end is dropped quietly, and the end runs its clean-up once', async () => {
  const stream = new Promise<OpenEventStream>((resolve) => (opened = resolve));
  const response = await fetch(`${server.url}/t/events`);
  expect(response.headers.get('content-type')).toBe('text/event-stream');
  const { writer, end } = await stream;
  expect(writer.write(sseFrame('one', '1'))).toBe(true);
  end();
  end();
  // A response written after its end would emit 'error' with no listener: the host would stop.
  expect(writer.write(sseFrame('late', '2'))).toBe(true);
  expect(await response.text()).toBe('event: hello\ndata: {}\n\nevent: one\ndata: 1\n\n');
  expect(ended).toEqual(['unlistened', 'ended']);
});
