// A `warren start` whose background promises keep failing (injected through NODE_OPTIONS) logs each
// unhandled rejection and keeps answering: one bad promise does not take the host down.
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { startWarren, waitUntil, type Warren } from '../harness/warren.ts';

const injector = fileURLToPath(new URL('../fixtures/inject-rejections.mjs', import.meta.url));
let warren: Warren | undefined;
afterAll(() => warren?.stop());

test('a host with failing background promises logs them and keeps answering', async () => {
  warren = await startWarren({ inProcess: false, env: { NODE_OPTIONS: `--import ${injector}` } });
  const w = warren;
  const rejections = async () =>
    (await w.logs()).split('\n').filter((line) => line.includes('unhandled promise rejection')).length;
  await waitUntil(
    async () => (await rejections()) >= 5,
    10_000,
    () => 'no unhandled rejection was logged',
  );
  const line = (await w.logs()).split('\n').find((l) => l.includes('unhandled promise rejection'))!;
  expect(JSON.parse(line)).toMatchObject({
    level: 50,
    err: { message: 'injected: a background promise failed' },
  });

  const chat = await w.chat('still-here');
  for (const id of ['a', 'b']) {
    await chat.send({ id, text: `ping ${id}` });
    expect((await chat.waitForReply((r) => r.inReplyTo === id)).text).toBe(`echo: ping ${id}`);
  }
  // Still guarding after answering: later rejections are logged too (one every 200 ms).
  const answeredWith = await rejections();
  await waitUntil(
    async () => (await rejections()) >= answeredWith + 5,
    10_000,
    () => 'no rejection was logged after the answers',
  );
});
