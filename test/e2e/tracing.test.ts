// One message followed through the logs, end to end: a real session container running the openai
// provider against a fake server, so each message passes the router, a container, the model gateway,
// the runner and delivery. Every line about a message carries its id (`corr`) in the host's log and
// in the session's log, and `warren logs SESSION --message ID` shows that message's lines only.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../harness/fake-openai.ts';
import { runWarrenCli } from '../harness/warren-cli.ts';
import { startWarren, waitUntil, type Warren } from '../harness/warren.ts';

const KEY = 'sk-e2e-trace-key-5d1c';

let warren: Warren;
let openai: FakeOpenAI;

beforeAll(async () => {
  openai = await startFakeOpenAI({ apiKey: KEY, fallback: () => ({ text: 'traced answer' }) });
  warren = await startWarren({ env: { OPENAI_API_KEY: KEY }, idleExitMs: 5000 });
  warren.wire.model(warren.wire.main(), {
    provider: 'openai',
    model: 'gpt-trace-1',
    modelConfig: { baseUrl: openai.url },
  });
});
afterAll(async () => {
  await warren?.stop();
  await openai?.close();
});

type Line = Record<string, unknown>;

const jsonLines = (text: string): Line[] =>
  text.split('\n').flatMap((l) => {
    const start = l.indexOf('{');
    if (start < 0) return [];
    try {
      return [JSON.parse(l.slice(start)) as Line];
    } catch {
      return [];
    }
  });

const messagesAbout = (lines: Line[], id: string) =>
  lines.filter((l) => l.corr === id || (Array.isArray(l.batch) && l.batch.includes(id))).map((l) => l.msg);

test('each message’s id is on its router, gateway, delivery and runner lines, and warren logs --message shows only its lines', async () => {
  const chat = await warren.chat('trace');
  await chat.send({ id: 'trace-1', text: 'first question' });
  await chat.waitForReply((r) => r.inReplyTo === 'trace-1');

  // The host's "routed" line ties the platform's id to the message's id in its session.
  const hostLines = async () => jsonLines(await warren.logs());
  const routed = (platformMessageId: string) =>
    hostLines().then((lines) =>
      lines.find((l) => l.msg === 'routed' && l.platformMessageId === platformMessageId),
    );
  const first = (await routed('trace-1'))?.corr as string;
  // The runner's lines reach the session log as the container prints them. Once the first turn's
  // end is there, the runner has gone back to waiting, so only the host's bell (or the poll) wakes it.
  const sessionId = warren.sessionOf('trace')!.id;
  const sessionLog = join(warren.dataDir, 'logs', 'sessions', `${sessionId}.log`);
  const readLog = () => readFile(sessionLog, 'utf8').catch(() => '');
  let seen = '';
  const untilInSessionLog = (id: string, msg: string) =>
    waitUntil(
      async () => messagesAbout(jsonLines((seen = await readLog())), id).includes(msg),
      10_000,
      () => `session log: ${seen}`,
    );
  await untilInSessionLog(first, 'turn completed');
  await chat.send({ id: 'trace-2', text: 'second question' });
  await chat.waitForReply((r) => r.inReplyTo === 'trace-2');
  const second = (await routed('trace-2'))?.corr as string;
  expect(first).toMatch(/^in_/);
  expect(second).toMatch(/^in_/);
  expect(second).not.toBe(first);

  // delivery logs after the reply was sent: wait for the second one's line
  await waitUntil(
    async () => messagesAbout(jsonLines((seen = await warren.logs())), second).includes('delivered'),
    10_000,
    () => `host log: ${seen}`,
  );
  const host = await hostLines();
  expect(messagesAbout(host, first)).toEqual(
    expect.arrayContaining(['routed', 'session container started', 'gateway: model call', 'delivered']),
  );
  expect(messagesAbout(host, second)).toEqual(
    expect.arrayContaining(['routed', 'gateway: model call', 'delivered']),
  );
  for (const line of host.filter((l) => l.corr === first || l.corr === second))
    if (line.msg !== 'routed') expect(line.sessionId).toBe(sessionId);

  await untilInSessionLog(second, 'turn completed');
  const runner = jsonLines(await readLog());
  for (const id of [first, second])
    expect(messagesAbout(runner, id)).toEqual(['turn started', 'model call', 'turn completed']);
  // What woke each turn: the first ran at the runner's start; the second was woken by the host's
  // ring of in/bell, heard through the container's read-only mount, not by the 1 s poll.
  const woken = (id: string) => runner.find((l) => l.msg === 'turn started' && l.corr === id)?.woken;
  expect(woken(first)).toBe('start');
  expect(woken(second)).toBe('event');

  const shown = await runWarrenCli(['logs', sessionId, '--message', first], { dataDir: warren.dataDir });
  expect(shown.code).toBe(0);
  const printed = shown.stdout.trimEnd().split('\n');
  expect(jsonLines(shown.stdout).map((l) => [l.msg, l.corr])).toEqual([
    ['turn started', first],
    ['model call', first],
    ['turn completed', first],
  ]);
  expect(printed).toHaveLength(3);
  expect(shown.stdout).not.toContain(second);

  const none = await runWarrenCli(['logs', sessionId, '--message', 'in_nothing'], {
    dataDir: warren.dataDir,
  });
  expect(none.stdout).toBe(`no lines about message in_nothing in session ${sessionId}'s log\n`);
});
