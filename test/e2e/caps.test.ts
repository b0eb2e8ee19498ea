// Container caps apply: wakes beyond containers.maxTotal wait in a queue, none is dropped.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startWarren, type Warren } from '../harness/warren.ts';

let warren: Warren;

beforeAll(async () => {
  warren = await startWarren({
    containers: { maxTotal: 2 },
    idleExitMs: 1000,
    script: { default: [{ delay: 1500 }, { reply: 'done: {{text}}' }] },
  });
});
afterAll(() => warren?.stop());

test('with maxTotal 2, five chats never run more than 2 containers at once and all get their reply', async () => {
  const chats = await Promise.all([0, 1, 2, 3, 4].map((i) => warren.chat(`capped-${i}`)));
  const samples: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const running = (await warren.containers()).filter((c) => c.state === 'running');
      samples.push(running.length);
      await sleep(100); // the sampling interval, not a wait for anything
    }
  })();

  try {
    await Promise.all(chats.map((chat, i) => chat.send({ id: `capped-${i}`, text: `work ${i}` })));
    const replies = await Promise.all(chats.map((chat) => chat.waitForReplies(1, 60_000)));

    expect(replies.map(([reply]) => [reply!.inReplyTo, reply!.text])).toEqual(
      [0, 1, 2, 3, 4].map((i) => [`capped-${i}`, `done: work ${i}`]),
    );
  } finally {
    sampling = false;
    await sampler;
  }
  expect(Math.max(...samples)).toBe(2); // the cap is reached, and never passed
  expect(samples.length).toBeGreaterThan(20);
}, 90_000);
