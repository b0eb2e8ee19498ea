// A request's deadline (src/host/channels/deadline.ts) against a real peer that never answers, with
// memory collected all through the wait: the case where a deadline built from AbortSignal.timeout
// inside AbortSignal.any is dropped by the collector on Node 20 and the request hangs for good.
import { createServer, type Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { deadline } from '../../src/host/channels/deadline.ts';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

let silent: Server;
let url: string;
beforeAll(async () => {
  silent = createServer(() => {}); // reads every request, answers none
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(silent.address() as { port: number }).port}/`;
});
afterAll(async () => {
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
});

/** How a POST to the silent peer ended, and after how long; memory is collected every 10 ms meanwhile. */
async function postUnder(signal: AbortSignal): Promise<{ name: string; message: string; ms: number }> {
  const started = performance.now();
  const collecting = setInterval(collect, 10);
  try {
    const outcome = await Promise.race([
      fetch(url, { method: 'POST', body: 'x', signal }).then(
        () => ({ name: 'answered', message: '' }),
        (err: Error) => ({ name: err.name, message: err.message }),
      ),
      new Promise<{ name: string; message: string }>((resolve) =>
        setTimeout(() => resolve({ name: 'hung', message: '' }), 5000),
      ),
    ]);
    return { ...outcome, ms: performance.now() - started };
  } finally {
    clearInterval(collecting);
  }
}

test('a request to a peer that never answers ends at its deadline, whatever the collector does', async () => {
  for (let i = 0; i < 5; i++) {
    const stop = new AbortController();
    const ended = await postUnder(deadline(200, stop.signal));
    expect(ended.name).toBe('TimeoutError');
    expect(ended.message).toBe('no answer within 200 ms');
    expect(ended.ms).toBeLessThan(2000);
  }
});

test('a stop signal ends the request before its deadline', async () => {
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 50);
  const ended = await postUnder(deadline(10_000, stop.signal));
  expect(ended.name).toBe('AbortError');
  expect(ended.ms).toBeLessThan(2000);
});
