// Disk quota per session with real containers and real files: a session whose out/ grows past its
// quota is stopped, reported and held; other sessions carry on; freeing space resumes it.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startWarren, waitUntil, type Warren } from '../harness/warren.ts';

let warren: Warren;
beforeAll(async () => {
  warren = await startWarren({
    // Containers stay up (idle exit 10 min): only the quota stops the one that fills its disk.
    config: { containers: { idleExitMs: 600_000, maxTotal: 2, diskCheckIntervalMs: 300, diskQuotaMb: 1 } },
  });
});
afterAll(() => warren?.stop());

test('a session writing past its disk quota is stopped and held while another carries on', async () => {
  const greedy = await warren.chat('greedy');
  const other = await warren.chat('other');
  await greedy.send({ id: 'g1', text: 'hello' });
  await other.send({ id: 'o1', text: 'hello' });
  await greedy.waitForReply((r) => r.inReplyTo === 'g1');
  await other.waitForReply((r) => r.inReplyTo === 'o1');
  expect(await warren.containers()).toHaveLength(2);

  // What a container writes lands in out/ (or home/): 2 MiB against a 1 MiB quota.
  const session = warren.sessionOf('greedy')!;
  const big = join(session.paths.outbox, 'big.bin');
  await writeFile(big, Buffer.alloc(2 * 2 ** 20, 1));

  const notice = await greedy.waitForReply((r) => r.text.includes('used all the disk space'), 15_000);
  expect(notice.text).toContain('your messages are kept');
  await waitUntil(
    async () => (await warren.containers()).length === 1,
    15_000,
    () => 'greedy still runs',
  );
  const report = (await warren.logs()).split('\n').find((line) => line.includes('over its disk quota'));
  expect(JSON.parse(report!)).toMatchObject({ level: 50, sessionId: session.id, quotaBytes: 2 ** 20 });
  expect(JSON.parse(report!).bytes).toBeGreaterThan(2 * 2 ** 20);

  // Held: a new message is kept, not answered; the other chat is answered as usual.
  await greedy.send({ id: 'g2', text: 'are you there?' });
  await other.send({ id: 'o2', text: 'still fine?' });
  expect((await other.waitForReply((r) => r.inReplyTo === 'o2')).text).toBe('echo: still fine?');
  expect(greedy.repliesTo('g2')).toHaveLength(0);
  expect((await warren.containers()).length).toBe(1);

  // The operator frees the space: the held message is answered.
  await rm(big);
  expect((await greedy.waitForReply((r) => r.inReplyTo === 'g2', 20_000)).text).toBe('echo: are you there?');
  expect(await warren.logs()).toContain('session is back under its disk quota');
}, 90_000);
