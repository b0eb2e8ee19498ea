// The agent runner as the host runs it: a child process on real session files, no container.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, test } from 'vitest';
import {
  createSessionFiles,
  insertMessagesIn,
  readUndelivered,
  sessionPaths,
  writeDestinations,
  writeRouting,
  type NewMessageIn,
  type SessionPaths,
} from '../../src/host/sessions/index.ts';
import { readAcks } from '../harness/session-acks.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const RUNNER = 'container/agent-runner/src/main.ts';

const running: ChildProcess[] = [];
afterAll(() => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Runner {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** A fresh session folder and agent group folder; each test gets its own, so tests run concurrently. */
async function newSession() {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-runner-'));
  const paths = sessionPaths(dataDir, 'ag_1', 'ses_1');
  const groupDir = join(dataDir, 'groups', 'main');
  mkdirSync(groupDir, { recursive: true });
  await createSessionFiles(paths);
  writeRouting(paths, { channelType: 'webchat', platformId: 'lobby', threadId: null });
  return {
    paths,
    groupDir,
    script: (value: unknown) => writeFileSync(join(groupDir, 'script.json'), JSON.stringify(value)),
    sent: () =>
      readUndelivered(paths).map((row) => ({ ...row, text: row.op?.op === 'send' ? row.op.text : null })),
    ackOf: (id: string) => readAcks(paths).find((a) => a.message_id === id),
    start: (env: Record<string, string> = {}) => startRunner(paths, groupDir, env),
  };
}

function startRunner(paths: SessionPaths, groupDir: string, env: Record<string, string>): Runner {
  const child = spawn(process.execPath, ['--import', 'tsx', RUNNER], {
    cwd: repoRoot,
    env: {
      ...process.env,
      WARREN_SESSION_ID: 'ses_1',
      WARREN_SESSION_DIR: paths.root,
      WARREN_GROUP_DIR: groupDir,
      WARREN_IDLE_EXIT_MS: '300',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.push(child);
  let stderr = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('"runner ready"')) resolve();
    });
    child.once('exit', () => reject(new Error(`runner exited before it was ready:\n${stderr}`)));
  });
  ready.catch(() => undefined);
  // 'close', not 'exit': the runner's last lines on stderr may still be in the pipe when it exits.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, ready, exited, stderr: () => stderr };
}

const chat = (text: string, extra: Partial<NewMessageIn> = {}): NewMessageIn => ({
  kind: 'chat',
  timestamp: new Date().toISOString(),
  channelType: 'webchat',
  platformId: 'room-1',
  threadId: 'thread-1',
  content: { text, sender: { id: 'webchat:ana', name: 'Ana' } },
  ...extra,
});

async function waitFor<T>(probe: () => T | undefined | false, timeoutMs = 5000, everyMs = 2): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// Every test has its own session folder and runner process, so they run side by side.
describe.concurrent('agent runner', () => {
  describe('answering', () => {
    test('a chat message gets exactly one reply, in its own chat and thread, and is acked completed', async ({
      expect,
    }) => {
      const s = await newSession();
      const [message] = insertMessagesIn(s.paths, [chat('hello')]);
      const runner = s.start();
      expect(await runner.exited).toBe(0);
      const replies = s.sent();
      expect(replies).toHaveLength(1);
      expect(replies[0]).toMatchObject({
        text: 'echo: hello',
        in_reply_to: message!.id,
        channel_type: 'webchat',
        platform_id: 'room-1',
        thread_id: 'thread-1',
        kind: 'chat',
      });
      expect(replies[0]!.seq % 2).toBe(1);
      expect(s.ackOf(message!.id)).toMatchObject({ status: 'completed', error: null });
    });

    test('a task is answered at the session routing address, without in_reply_to', async ({ expect }) => {
      const s = await newSession();
      const task = { prompt: 'daily summary', taskId: 't1', scheduledFor: new Date().toISOString() };
      insertMessagesIn(s.paths, [{ kind: 'task', timestamp: new Date().toISOString(), content: task }]);
      const runner = s.start();
      expect(await runner.exited).toBe(0);
      expect(s.sent()).toMatchObject([
        { text: 'echo: daily summary', platform_id: 'lobby', in_reply_to: null },
      ]);
    });

    test('context-only rows are not answered alone, but ride along with the next turn', async ({
      expect,
    }) => {
      const s = await newSession();
      s.script({ default: [{ reply: '{{prompt}}' }] });
      const [context] = insertMessagesIn(s.paths, [chat('side remark', { trigger: false })]);
      // A runner that finds only the context row goes idle and exits without a turn.
      const idle = s.start();
      expect(await idle.exited).toBe(0);
      expect(idle.stderr()).toContain('idle for 300 ms; exiting');
      expect(s.sent()).toHaveLength(0);
      expect(s.ackOf(context!.id)).toBeUndefined();

      const runner = s.start({ WARREN_IDLE_EXIT_MS: '5000' });
      await runner.ready;
      const [question] = insertMessagesIn(s.paths, [chat('so what now?')]);
      const [reply] = await waitFor(() => s.sent().length > 0 && s.sent());
      expect(reply!.text).toContain('side remark');
      expect(reply!.text).toContain('so what now?');
      expect(reply!.in_reply_to).toBe(question!.id);
      await waitFor(() => s.ackOf(context!.id)?.status === 'completed');
      expect(s.ackOf(question!.id)?.status).toBe('completed');
      runner.child.kill('SIGTERM');
      expect(await runner.exited).toBe(0);
    });
  });

  describe('waking', () => {
    test('a message written while the runner is idle wakes it through a file event, well before the poll', async ({
      expect,
    }) => {
      const s = await newSession();
      const runner = s.start({ WARREN_POLL_MS: '5000', WARREN_IDLE_EXIT_MS: '10000' });
      // Each message goes in once the previous turn is acked: the runner is past its start-up check
      // and back to waiting, so only a file event (or the 5 s poll) can wake it.
      await runner.ready;
      const [warmUp] = insertMessagesIn(s.paths, [chat('warm-up')]);
      await waitFor(() => s.ackOf(warmUp!.id)?.status === 'completed');
      const latencies: number[] = [];
      for (const text of ['one', 'two', 'three']) {
        const started = performance.now();
        const [message] = insertMessagesIn(s.paths, [chat(text)]);
        await waitFor(() => s.sent().some((r) => r.text === `echo: ${text}`));
        latencies.push(performance.now() - started);
        await waitFor(() => s.ackOf(message!.id)?.status === 'completed');
      }
      console.log(`runner wake by event: ${latencies.map((ms) => ms.toFixed(1)).join(', ')} ms`);
      expect(Math.max(...latencies)).toBeLessThan(500);
      runner.child.kill('SIGTERM');
      expect(await runner.exited).toBe(0);
    });

    test('a message written to run a moment later runs when it falls due, not at the next poll', async ({
      expect,
    }) => {
      const s = await newSession();
      // Both polls far off: only the runner's own wake-up for the due time can answer in time.
      const runner = s.start({
        WARREN_POLL_MS: '30000',
        WARREN_EVENT_POLL_MS: '30000',
        WARREN_IDLE_EXIT_MS: '40000',
      });
      await runner.ready;
      const [warmUp] = insertMessagesIn(s.paths, [chat('warm-up')]);
      await waitFor(() => s.ackOf(warmUp!.id)?.status === 'completed');
      const written = Date.now();
      const dueAt = written + 1500;
      insertMessagesIn(s.paths, [chat('later', { processAfter: new Date(dueAt).toISOString() })]);
      await waitFor(() => s.sent().some((r) => r.text === 'echo: later'), 5000);
      const answered = Date.now();
      console.log(`due row answered ${answered - dueAt} ms after its time`);
      // Not before its time (the bell at its write woke the runner, which found nothing due then).
      expect(answered).toBeGreaterThanOrEqual(dueAt);
      expect(answered - dueAt).toBeLessThan(1000);
      // Its turn says the due time woke it (the line may still be in the pipe).
      await waitFor(() => /"woken":"due","msg":"turn started"/.test(runner.stderr()));
      runner.child.kill('SIGTERM');
      expect(await runner.exited).toBe(0);
    });

    test('with file events off, the fallback poll still answers', async ({ expect }) => {
      const s = await newSession();
      const runner = s.start({ WARREN_WATCH: '0', WARREN_POLL_MS: '200', WARREN_IDLE_EXIT_MS: '10000' });
      await runner.ready;
      const started = performance.now();
      insertMessagesIn(s.paths, [chat('anyone there?')]);
      await waitFor(() => s.sent().some((r) => r.text === 'echo: anyone there?'), 3000);
      console.log(`runner wake by 200 ms poll: ${(performance.now() - started).toFixed(1)} ms`);
      runner.child.kill('SIGTERM');
      expect(await runner.exited).toBe(0);
    });

    test('it exits by itself after the idle period', async ({ expect }) => {
      const s = await newSession();
      const runner = s.start({ WARREN_IDLE_EXIT_MS: '300' });
      await runner.ready;
      const started = performance.now();
      expect(await runner.exited).toBe(0);
      expect(performance.now() - started).toBeLessThan(1500);
      expect(runner.stderr()).toContain('idle for 300 ms; exiting');
    });

    test('bad environment is refused with a clear message and exit code 2', async ({ expect }) => {
      const s = await newSession();
      const runner = s.start({ WARREN_POLL_MS: 'soon', WARREN_TIMEZONE: 'Mars/Olympus' });
      expect(await runner.exited).toBe(2);
      expect(runner.stderr()).toMatch(/WARREN_POLL_MS/);
      expect(runner.stderr()).toMatch(/WARREN_TIMEZONE must be an IANA time zone/);
    });
  });

  describe('tools', () => {
    test('a text sent by send_message is not sent again as the final answer', async ({ expect }) => {
      const s = await newSession();
      s.script({ default: [{ tool: 'send_message', args: { text: 'on it' } }, { reply: 'on it' }] });
      const [message] = insertMessagesIn(s.paths, [chat('please')]);
      expect(await s.start().exited).toBe(0);
      expect(s.sent()).toMatchObject([{ text: 'on it', in_reply_to: message!.id, platform_id: 'room-1' }]);
      expect(s.ackOf(message!.id)?.status).toBe('completed');
    });

    test('send_message to an unknown destination returns an error naming the valid ones and writes nothing', async ({
      expect,
    }) => {
      const s = await newSession();
      writeDestinations(s.paths, [
        { name: 'ops', kind: 'channel', channelType: 'webchat', platformId: 'ops-room' },
      ]);
      s.script({
        default: [
          { tool: 'send_message', args: { to: 'nope', text: 'secret' } },
          { tool: 'send_message', args: { to: 'ops', text: 'heads up' } },
          { reply: 'tool said: {{tool_result}}' },
        ],
      });
      insertMessagesIn(s.paths, [chat('tell them')]);
      const runner = s.start();
      expect(await runner.exited).toBe(0);
      const rows = s.sent();
      expect(rows.map((r) => r.text)).not.toContain('secret');
      expect(rows).toMatchObject([
        { text: 'heads up', platform_id: 'ops-room', in_reply_to: null },
        { text: expect.stringMatching(/^tool said: \{"seq":\d+\}$/) },
      ]);
      expect(runner.stderr()).toContain("unknown destination 'nope'; valid names: ops");
    });

    test('send_file copies the file into the outbox; edit and react reach their targets; foreign seqs are refused', async ({
      expect,
    }) => {
      const s = await newSession();
      writeFileSync(join(s.groupDir, 'report.txt'), 'numbers');
      s.script({
        default: [
          { tool: 'send_file', args: { path: 'report.txt', text: 'the report' } },
          { tool: 'send_file', args: { path: '../../../etc/passwd' } },
          { tool: 'edit_message', args: { seq: 3, text: 'the final report' } },
          { tool: 'edit_message', args: { seq: 2, text: 'rewritten' } },
          { tool: 'add_reaction', args: { seq: 2, emoji: 'eyes' } },
          { tool: 'add_reaction', args: { seq: 99, emoji: 'eyes' } },
          { reply: 'done' },
        ],
      });
      const [asked] = insertMessagesIn(s.paths, [chat('report please')]);
      const runner = s.start();
      expect(await runner.exited).toBe(0);
      const rows = readUndelivered(s.paths);
      // every row names the message whose turn wrote it, for the host's log lines
      const corr = asked!.id;
      expect(rows.map((r) => r.op)).toEqual([
        { op: 'send', text: 'the report', files: ['report.txt'], corr },
        { op: 'edit', targetSeq: 3, text: 'the final report', corr },
        { op: 'react', targetSeq: 2, emoji: 'eyes', corr },
        { op: 'send', text: 'done', files: [], corr },
      ]);
      expect(rows[2]).toMatchObject({ platform_id: 'room-1', thread_id: 'thread-1' });
      expect(readFileSync(join(s.paths.outbox, rows[0]!.id, 'report.txt'), 'utf8')).toBe('numbers');
      const log = runner.stderr();
      expect(log).toContain("path '../../../etc/passwd' leads outside the folders you may send from");
      expect(log).toContain('message 2 was sent to you, not by you');
      expect(log).toContain('message 99 does not exist in this session');
    });
  });

  describe('failures', () => {
    test('a runner that dies mid-turn leaves the row claimed; the next runner answers it exactly once', async ({
      expect,
    }) => {
      const s = await newSession();
      s.script({ default: [{ tool: 'send_message', args: { text: 'working on it' } }, { exit: 3 }] });
      const [message] = insertMessagesIn(s.paths, [chat('big job')]);
      expect(await s.start().exited).toBe(3);
      expect(s.ackOf(message!.id)?.status).toBe('processing');
      expect(s.sent().map((r) => r.text)).toEqual(['working on it']);

      s.script({ default: [{ tool: 'send_message', args: { text: 'working on it' } }, { reply: 'done' }] });
      expect(await s.start().exited).toBe(0);
      expect(s.ackOf(message!.id)?.status).toBe('completed');
      expect(s.sent().map((r) => r.text)).toEqual(['working on it', 'done']);
    });

    test('a provider error acks the row failed with the error and sends nothing', async ({ expect }) => {
      const s = await newSession();
      s.script({ default: [{ reply: 'partial thought' }, { error: 'model overloaded' }] });
      const [message] = insertMessagesIn(s.paths, [chat('hi')]);
      expect(await s.start().exited).toBe(0);
      expect(s.ackOf(message!.id)).toMatchObject({ status: 'failed', error: 'model overloaded' });
      expect(s.sent()).toHaveLength(0);
    });

    test('an invalid script fails every turn with an error naming the problem', async ({ expect }) => {
      const s = await newSession();
      s.script({ rules: [{ match: '(unclosed', steps: [{ reply: 'x' }] }] });
      const [message] = insertMessagesIn(s.paths, [chat('hi')]);
      expect(await s.start().exited).toBe(0);
      const ack = s.ackOf(message!.id);
      expect(ack?.status).toBe('failed');
      expect(ack?.error).toMatch(
        /script\.json is invalid: .*not a valid regular expression[\s\S]*rules\[0\]\.match/,
      );
    });

    test('invalid inbound content is acked failed with the reason, and the runner keeps answering', async ({
      expect,
    }) => {
      const s = await newSession();
      const db = new Database(s.paths.inbound);
      db.prepare(
        `INSERT INTO messages_in (id, seq, kind, timestamp, content) VALUES ('bad', 2, 'chat', ?, '{"text": 5}')`,
      ).run(new Date().toISOString());
      db.close();
      const runner = s.start({ WARREN_IDLE_EXIT_MS: '5000' });
      await runner.ready;
      await waitFor(() => s.ackOf('bad')?.status === 'failed');
      expect(s.ackOf('bad')?.error).toMatch(/content is invalid/);
      insertMessagesIn(s.paths, [chat('still there?')]);
      await waitFor(() => s.sent().some((r) => r.text === 'echo: still there?'));
      runner.child.kill('SIGTERM');
      expect(await runner.exited).toBe(0);
    });

    test('the heartbeat advances during a long turn, and SIGTERM stops the turn without acking it', async ({
      expect,
    }) => {
      const s = await newSession();
      // A turn far longer than anything below may take on a loaded machine: SIGTERM must cut it short.
      s.script({ default: [{ delay: 60_000 }, { reply: 'finally' }] });
      const [message] = insertMessagesIn(s.paths, [chat('take your time')]);
      const runner = s.start({ WARREN_HEARTBEAT_MS: '100', WARREN_IDLE_EXIT_MS: '10000' });
      await waitFor(() => s.ackOf(message!.id)?.status === 'processing', 20_000);
      await waitFor(() => existsSync(s.paths.heartbeat));
      const first = statSync(s.paths.heartbeat).mtimeMs;
      await waitFor(() => statSync(s.paths.heartbeat).mtimeMs > first + 200, 5000, 20);

      const stopped = performance.now();
      runner.child.kill('SIGTERM');
      expect(await runner.exited).toBe(0);
      expect(performance.now() - stopped).toBeLessThan(5000); // the turn had most of a minute to go
      expect(s.ackOf(message!.id)?.status).toBe('processing');
      expect(s.sent()).toHaveLength(0);
    });
  });
});
