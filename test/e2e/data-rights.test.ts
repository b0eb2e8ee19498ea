// `warren users delete` against a real host's data folder after real containers answered: a unique
// marker a person wrote through web chat (echoed by a scripted agent, answered by an openai agent
// whose conversation history keeps it, and in a Claude transcript in a session's home folder) is
// nowhere under the data folder afterwards, bytes compared. The group's own files are reported,
// not edited; a symlink the container left is neither followed nor touched.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { userForAccount, type DeletionResult, type UserExport } from '../../src/host/access/index.ts';
import { lockSession } from '../../src/host/sessions/index.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../harness/fake-openai.ts';
import { startWarren, waitUntil, type Warren } from '../harness/warren.ts';

const run = promisify(execFile);
const MARKER = `MARKER-${randomBytes(8).toString('hex')}`;
const KEY = 'sk-e2e-rights-key';

let warren: Warren;
let openai: FakeOpenAI;
let outside: string;
beforeAll(async () => {
  openai = await startFakeOpenAI({
    apiKey: KEY,
    fallback: () => ({ text: `Noted: you said ${MARKER}.` }),
  });
  warren = await startWarren({ env: { OPENAI_API_KEY: KEY }, idleExitMs: 1000, inProcess: false });
  outside = mkdtempSync(join(tmpdir(), 'warren-outside-'));
});
afterAll(async () => {
  await warren?.stop();
  await openai?.close();
  rmSync(outside, { recursive: true, force: true });
});

/** The real `warren` command on this data folder, with the host stopped; resolves with its stdout. */
async function warrenCli(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['bin/warren.js', ...args, '--data-dir', warren.dataDir], {
    env: { ...process.env, WARREN_PORT: new URL(warren.url).port },
    maxBuffer: 16 << 20,
  });
  return stdout;
}

/** Every regular file under `dir` (symlinks not followed) whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  const bytes = Buffer.from(needle);
  const visit = (path: string) => {
    const st = lstatSync(path);
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
    else if (st.isFile() && readFileSync(path).includes(bytes)) found.push(path);
  };
  visit(dir);
  return found;
}

test('after warren users delete, what a person wrote is nowhere under the data folder', async () => {
  const gpt = await warren.wire.agent('gpt');
  warren.wire.model(gpt, { provider: 'openai', model: 'gpt-e2e', modelConfig: { baseUrl: openai.url } });
  warren.wire.wiring('rights-gpt', gpt);
  // Mia is a known person, signed in to the web chat through a login link (a handle alone is anonymous).
  const miaUser = userForAccount(
    warren.wire.db,
    { kind: 'webchat', externalId: 'mia' },
    new Date().toISOString(),
  );
  const mia = { sender: { id: 'mia', name: 'Mia' }, as: await warren.signIn(miaUser) };

  // The scripted agent of the main group echoes; the openai agent's history keeps the words.
  const echo = await warren.chat('rights-echo');
  await echo.send({ id: 'r-echo-1', text: `please remember ${MARKER}`, ...mia });
  expect((await echo.waitForReply((r) => r.inReplyTo === 'r-echo-1', 60_000)).text).toContain(MARKER);
  const gptChat = await warren.chat('rights-gpt');
  await gptChat.send({ id: 'r-gpt-1', text: `please remember ${MARKER}`, ...mia });
  expect((await gptChat.waitForReply((r) => r.inReplyTo === 'r-gpt-1', 60_000)).text).toContain(MARKER);
  // Someone else in another chat: nothing of theirs goes.
  const other = await warren.chat('rights-other');
  await other.send({ id: 'r-other-1', text: 'hello from Olga', sender: { id: 'olga', name: 'Olga' } });
  await other.waitForReply((r) => r.inReplyTo === 'r-other-1', 60_000);

  // A file the agent sends with its reply to her: served by the web chat from its own copy.
  writeFileSync(join(warren.groupsDir, 'main', 'note.txt'), `your note: ${MARKER}\n`);
  await warren.setScript({
    rules: [
      { match: 'send me the note', steps: [{ tool: 'send_file', args: { path: 'note.txt', text: 'here' } }] },
    ],
  });
  await echo.send({ id: 'r-echo-2', text: 'send me the note', ...mia });
  const withFile = await echo.waitForReply(
    (r) => r.inReplyTo === 'r-echo-2' && (r.files?.length ?? 0) > 0,
    60_000,
  );
  const served = await fetch(`${warren.url}${withFile.files[0]!.url}`);
  expect(await served.text()).toContain(MARKER);

  const echoSession = warren.sessionOf('rights-echo')!;
  // Stopped as an operator stops it: the host stops the containers and records them stopped.
  await warren.stopHost();
  // What the Claude binary keeps, as a container would have written it into the session's home.
  const home = join(echoSession.paths.root, 'home');
  const transcripts = join(home, '.claude', 'projects', '-home-agent-work');
  mkdirSync(transcripts, { recursive: true });
  writeFileSync(
    join(transcripts, '5d1c0e2a.jsonl'),
    `${JSON.stringify({ type: 'user', message: { role: 'user', content: `please remember ${MARKER}` } })}\n`,
  );
  // A link the container left, pointing out of the data folder: never followed, never touched.
  writeFileSync(join(outside, 'host-file.txt'), `not the container's ${MARKER}\n`);
  symlinkSync(join(outside, 'host-file.txt'), join(transcripts, 'escape.jsonl'));
  mkdirSync(join(home, 'work'), { recursive: true });
  writeFileSync(join(home, 'work', 'notes.md'), 'the agent’s own notes\n');
  // The group's memory: the agent may have written their words there; reported, not edited.
  const agentMd = join(warren.groupsDir, 'main', 'AGENT.md');
  writeFileSync(agentMd, `Mia asked me to remember ${MARKER}.\n`);

  const before = filesContaining(warren.dataDir, MARKER);
  expect(before.some((p) => p.endsWith('outbound.db'))).toBe(true); // replies and openai history
  expect(before.some((p) => p.endsWith('.jsonl'))).toBe(true);
  expect(before.some((p) => p.includes(join('files', 'webchat')) && p.endsWith('note.txt'))).toBe(true);
  const exported = JSON.parse(await warrenCli(['users', 'export', 'webchat:mia'])) as UserExport;
  expect(exported.stores.map((e) => [e.store, e.onDelete])).toEqual(
    expect.arrayContaining([
      ['conversation_state', 'removed'],
      ['claude_state', 'removed'],
      ['agent_file', 'reported'],
      ['group_file', 'reported'],
      ['skipped_entry', 'reported'],
    ]),
  );

  const result = JSON.parse(
    await warrenCli(['users', 'delete', 'webchat:mia', '--yes', '--json']),
  ) as DeletionResult;
  expect(result.counts).toMatchObject({
    'session_files.messages_in': 3,
    'session_files.messages_out': 3,
    'session_files.conversation_state': 1,
    'session_files.claude_state_files': 1,
    webchat_events: expect.any(Number),
  });
  expect(result.counts.session_logs).toBeGreaterThanOrEqual(1);
  expect(result.counts.served_files).toBe(1);
  const reported = result.reported.map((r) => [r.store, r.path]);
  expect(reported).toEqual(
    expect.arrayContaining([
      ['group_file', agentMd],
      ['agent_file', join(home, 'work', 'notes.md')],
      ['skipped_entry', `${join(transcripts, 'escape.jsonl')} (symlink)`],
    ]),
  );

  expect(filesContaining(warren.dataDir, MARKER)).toEqual([]);
  // Reported, not edited; the link's target outside is untouched, the link itself left.
  expect(readFileSync(agentMd, 'utf8')).toContain(MARKER);
  expect(readFileSync(join(outside, 'host-file.txt'), 'utf8')).toContain(MARKER);
  expect(lstatSync(join(transcripts, 'escape.jsonl')).isSymbolicLink()).toBe(true);
  expect(existsSync(join(home, 'work', 'notes.md'))).toBe(true);
  // Olga's chat is untouched.
  const olga = warren.sessionOf('rights-other')!;
  expect(filesContaining(olga.paths.root, 'hello from Olga').length).toBeGreaterThan(0);
}, 240_000);

test('while a session is held by a delete, the host starts no container for it; after, the message is answered', async () => {
  const host = await startWarren({ idleExitMs: 1000 });
  try {
    const chat = await host.chat('held');
    await chat.send({ id: 'held-1', text: 'first' });
    await chat.waitForReply((r) => r.inReplyTo === 'held-1', 60_000);
    const session = host.sessionOf('held')!;
    await waitUntil(
      async () => (await host.containers()).length === 0,
      30_000,
      () => 'the container did not exit when idle',
    );
    const release = lockSession(session.id, session.paths.root, 'test', new Date());
    try {
      await chat.send({ id: 'held-2', text: 'second' });
      // The host logs each start it holds back; the second is its retry, also held back.
      await waitUntil(
        async () => (await heldBack(host, session.id)) >= 2,
        20_000,
        () => 'the host did not hold the session back twice',
      );
      expect(await host.containers()).toEqual([]);
      expect(chat.repliesTo('held-2')).toEqual([]);
      expect(
        host.db().prepare('SELECT container_status FROM sessions WHERE id = ?').pluck().get(session.id),
      ).toBe('stopped');
    } finally {
      release();
    }
    expect((await chat.waitForReply((r) => r.inReplyTo === 'held-2', 30_000)).text).toBe('echo: second');
  } finally {
    await host.stop();
  }
}, 120_000);

/** How often the host logged that it held the session's container back for an operator's command. */
async function heldBack(host: Warren, sessionId: string): Promise<number> {
  return (await host.logs())
    .split('\n')
    .filter((line) => line.includes('"msg":"session is held by an operator command; its container waits"'))
    .filter((line) => (JSON.parse(line) as { sessionId?: string }).sessionId === sessionId).length;
}
