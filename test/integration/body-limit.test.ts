// limitRequestBody over a real HTTP server: a body is never read past the cap, whether it declares
// its length, declares a false one, or comes in chunks with none.
import { connect } from 'node:net';
import { Hono } from 'hono';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { limitRequestBody } from '../../src/host/body-limit.ts';
import type { RunningHttpServer } from '../../src/host/http.ts';
import { serveApp } from '../harness/serve-app.ts';

const CAP = 16;
let server: RunningHttpServer;
const seen: string[] = [];

beforeAll(async () => {
  const app = new Hono().post(
    '/echo',
    limitRequestBody(CAP, (c) => c.json({ error: 'too large' }, 413)),
    async (c) => {
      const body = await c.req.text();
      seen.push(body);
      return c.text(body);
    },
  );
  server = await serveApp(app, '/t');
});
afterAll(() => server.close());

/** One raw request on its own connection; the status line and body of the answer. */
function raw(head: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
      // One answer is all we wait for: anything after it would be for the next request.
      const end = answer.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(answer)?.[1];
      if (end >= 0 && length !== undefined && answer.length >= end + 4 + Number(length)) {
        socket.destroy();
        resolve({
          status: Number(answer.split(' ')[1]),
          body: answer.slice(end + 4, end + 4 + Number(length)),
        });
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(answer.split(' ')[1]), body: '' }));
    socket.write(`POST /t/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${head}\r\n${body}`);
  });
}

const chunked = (...parts: string[]) =>
  parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('') + '0\r\n\r\n';

test('a declared length within the cap is read whole', async () => {
  expect(await raw('Content-Length: 10\r\n', 'abcdefghij')).toEqual({ status: 200, body: 'abcdefghij' });
});

test('a declared length over the cap is refused before anything is read', async () => {
  const before = seen.length;
  const answer = await raw(`Content-Length: ${CAP + 1}\r\n`, 'x'.repeat(CAP + 1));
  expect(answer.status).toBe(413);
  expect(seen.length).toBe(before);
});

test('a false, smaller length is all that is read: the rest is never part of the body', async () => {
  const before = seen.length;
  const answer = await raw('Content-Length: 5\r\n', 'hello, and then far more than the cap allows');
  // Node's parser takes the rest for a next request, which is malformed: 400, connection closed.
  // The handler saw at most the declared five bytes.
  expect([200, 400]).toContain(answer.status);
  expect(seen.slice(before).every((body) => body === 'hello')).toBe(true);
});

test('a chunked body with no length is counted as it comes and refused past the cap', async () => {
  const before = seen.length;
  const answer = await raw('Transfer-Encoding: chunked\r\n', chunked('x'.repeat(10), 'y'.repeat(10)));
  expect(answer.status).toBe(413);
  expect(seen.length).toBe(before);
  expect(await raw('Transfer-Encoding: chunked\r\n', chunked('abc', 'def'))).toEqual({
    status: 200,
    body: 'abcdef',
  });
});
