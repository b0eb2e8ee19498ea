// A scheduled task with a real container: the agent's schedule_task tool call (scripted) schedules a
// one-shot reminder a few seconds ahead; when it is due the sweep wakes the session, the task's turn
// runs in a container and its answer reaches the web chat, once.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startWarren, type Warren } from '../harness/warren.ts';

let warren: Warren;

beforeAll(async () => {
  warren = await startWarren({
    script: {
      rules: [
        // The message text is the time to remind at (placeholders fill whole strings).
        {
          match: '^\\d{4}-\\d{2}-\\d{2}T',
          steps: [
            { tool: 'schedule_task', args: { prompt: 'reminder: stretch', at: '{{text}}' } },
            { reply: 'scheduled: {{tool_result}}' },
          ],
        },
        { match: '^reminder: ', steps: [{ reply: 'Time to stretch!' }] },
      ],
    },
  });
});
afterAll(() => warren?.stop());

test('a reminder the agent scheduled a few seconds ahead arrives in the web chat, on time and once', async () => {
  const chat = await warren.chat('scheduling-e2e');
  await chat.send({ id: 'warm-up', text: 'hello' });
  await chat.waitForReply((r) => r.inReplyTo === 'warm-up', 60_000);

  const due = Date.now() + 3000;
  await chat.send({ id: 'ask', text: new Date(due).toISOString() });
  const confirmation = await chat.waitForReply((r) => r.inReplyTo === 'ask', 30_000);
  expect(confirmation.text).toMatch(/^scheduled: \{"taskId":"task_[\w-]+"/);
  const { firstRun } = JSON.parse(confirmation.text.slice('scheduled: '.length)) as {
    firstRun: string;
  };
  expect(firstRun).toBe(new Date(due).toISOString());

  const reminder = await chat.waitForReply((r) => r.text === 'Time to stretch!', 30_000);
  const arrived = Date.now();
  expect(arrived).toBeGreaterThanOrEqual(due);
  console.log(`scheduled reminder arrived ${arrived - due} ms after its time`);
  expect(reminder.inReplyTo).toBeNull();

  const before = await chat.sentinel();
  expect(before.filter((r) => r.text === 'Time to stretch!')).toHaveLength(1);
}, 120_000);
