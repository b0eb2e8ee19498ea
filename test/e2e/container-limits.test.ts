// The host bounds each session container's life itself (docs/security.md): a runner that never exits
// by itself is stopped when idle and at its maximum lifetime, and no work is lost when it is.
import { afterEach, expect, test } from 'vitest';
import { startWarren, waitUntil, type Warren } from '../harness/warren.ts';

let warren: Warren | undefined;
afterEach(async () => {
  await warren?.stop();
  warren = undefined;
});

/** The runner's own idle exit is 10 minutes: only the host's limits can end these containers. */
const RUNNER_NEVER_EXITS = 600_000;

test('a runner that does not exit when idle is stopped by the host after idleStopMs', async () => {
  warren = await startWarren({ idleExitMs: RUNNER_NEVER_EXITS, containers: { idleStopMs: 2000 } });
  const chat = await warren.chat('idle-stop');
  await chat.send({ id: 'first', text: 'hi' });
  await chat.waitForReply((r) => r.inReplyTo === 'first');

  const w = warren;
  await waitUntil(
    async () => (await w.containers()).length === 0,
    15_000,
    () => 'the container still runs',
  );
  const stopLine = (await w.logs()).split('\n').find((line) => line.includes('"reason":"idle"'));
  expect(stopLine).toContain('container idle past the host’s limit without exiting; the host stops it');
  expect(JSON.parse(stopLine!).idleMs).toBeGreaterThanOrEqual(2000);

  // The next message starts a new container as usual.
  await chat.send({ id: 'second', text: 'again' });
  expect((await chat.waitForReply((r) => r.inReplyTo === 'second')).text).toBe('echo: again');
});

test('a container is stopped at its maximum lifetime mid-turn, and the next one answers the interrupted message once', async () => {
  warren = await startWarren({
    idleExitMs: RUNNER_NEVER_EXITS,
    containers: { maxLifetimeMs: 5000, idleStopMs: RUNNER_NEVER_EXITS },
    // A turn that outlives any container: only the lifetime limit can end the first one.
    script: { default: [{ delay: 60_000 }, { reply: 'late: {{text}}' }] },
  });
  const chat = await warren.chat('lifetime');
  await chat.send({ id: 'm1', text: 'one' });

  const w = warren;
  const stopLine = await waitUntil(
    async () => (await w.logs()).split('\n').find((line) => line.includes('"reason":"max_lifetime"')),
    30_000,
    () => 'no max_lifetime stop was logged',
  );
  expect(stopLine).toContain('container reached its maximum lifetime');
  expect(JSON.parse(stopLine).livedMs).toBeGreaterThanOrEqual(5000);
  // The agent is quick from now on (the script is read on every turn): the retry can finish.
  await w.setScript({ default: [{ reply: 'done: {{text}}' }] });

  expect((await chat.waitForReply((r) => r.inReplyTo === 'm1', 40_000)).text).toBe('done: one');
  expect(chat.repliesTo('m1')).toHaveLength(1);
  expect(await w.logs()).toContain('runner left unfinished work');
}, 90_000);
