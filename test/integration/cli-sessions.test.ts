// `warren sessions list|show|stop` and `warren deliveries list` as an operator meets them: the real
// command on a real data folder (tables of bad input run the same commands in this process).
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { getAgentGroupByFolder } from '../../src/db/agent-groups.ts';
import { listAuditEvents } from '../../src/db/audit.ts';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import { finishAttempt, startAttempt } from '../../src/db/deliveries.ts';
import { createMessagingGroup } from '../../src/db/messaging-groups.ts';
import { closeSession, createSession, getSession, setContainerStatus } from '../../src/db/sessions.ts';
import { runWarrenCli, runWarrenInProcess } from '../harness/warren-cli.ts';

let dataDir: string;
let db: Db;
const warren = (args: string[], port?: string) => runWarrenCli(args, { dataDir, port });
const command = (args: string[], hostRunning = false) => runWarrenInProcess(args, { dataDir, hostRunning });
const ids = { running: '', idle: '', closed: '' };

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-cli-sessions-'));
  dataDir = join(root, 'data');
  expect((await warren(['init', '--groups-dir', join(root, 'groups')])).code).toBe(0);
  db = openCentralDb(join(dataDir, 'warren.db'));
  const at = (minute: number) => `2026-05-01T10:0${minute}:00.000Z`;
  const main = getAgentGroupByFolder(db, 'main')!;
  const chat = (id: string) =>
    createMessagingGroup(
      db,
      { channelType: 'webchat', platformId: id, unknownSenderPolicy: 'public' },
      at(0),
    );
  const session = (chatId: string, minute: number) =>
    createSession(
      db,
      { agentGroupId: main.id, messagingGroupId: chat(chatId).id, threadId: null },
      at(minute),
    ).id;
  ids.closed = session('old', 1);
  closeSession(db, ids.closed, at(2));
  ids.idle = session('desk', 3);
  ids.running = session('lobby', 4);
  setContainerStatus(db, ids.running, 'running');

  const attempt = (messageOutId: string, minute: number) =>
    startAttempt(
      db,
      { sessionId: ids.running, messageOutId, idempotencyKey: messageOutId, channelType: 'webchat' },
      at(minute),
    ).id;
  finishAttempt(db, attempt('out_1', 5), { status: 'delivered', platformMessageId: 'p1' }, at(5));
  finishAttempt(
    db,
    attempt('out_2', 6),
    { status: 'failed', errorCode: 'forbidden', error: 'the bot was removed from the chat' },
    at(6),
  );
});

afterAll(() => db.close());

test('sessions list shows the active sessions, latest first; --all adds closed ones; --json parses', async () => {
  const [table, json, all] = await Promise.all([
    warren(['sessions', 'list']),
    warren(['sessions', 'list', '--json']),
    warren(['sessions', 'list', '--all', '--json']),
  ]);
  expect(table.code, table.stderr).toBe(0);
  expect(table.stdout).toMatch(/^SESSION\s+GROUP\s+CHAT\s+THREAD\s+STATUS\s+CONTAINER\s+LAST ACTIVE\n/);
  expect(table.stdout).toMatch(
    new RegExp(`${ids.running}\\s+main\\s+webchat:lobby\\s+-\\s+active\\s+running\\s+2026-05-01T10:04`),
  );
  const active = JSON.parse(json.stdout) as { id: string; chat: string; containerStatus: string }[];
  expect(active.map((s) => s.id)).toEqual([ids.running, ids.idle]);
  expect(active[0]).toMatchObject({ chat: 'webchat:lobby', agentGroup: 'main', containerStatus: 'running' });
  const every = JSON.parse(all.stdout) as { id: string; status: string }[];
  expect(every.map((s) => s.id)).toEqual([ids.running, ids.idle, ids.closed]);
  expect(every[2]!.status).toBe('closed');
});

test('sessions show gives the chat, container, folder and recent deliveries', async () => {
  const [table, json] = await Promise.all([
    warren(['sessions', 'show', ids.running]),
    warren(['sessions', 'show', ids.running, '--json']),
  ]);
  expect(table.code, table.stderr).toBe(0);
  expect(table.stdout).toContain('chat         webchat:lobby');
  expect(table.stdout).toContain('container    running');
  expect(table.stdout).toContain(`folder       ${join(dataDir, 'sessions')}`);
  expect(table.stdout).toMatch(
    /recent deliveries:\nTIME.*\n.*out_2\s+1\s+failed\s+forbidden\s+the bot was removed/,
  );
  const shown = JSON.parse(json.stdout) as { id: string; recentDeliveries: { messageOutId: string }[] };
  expect(shown.id).toBe(ids.running);
  expect(shown.recentDeliveries.map((d) => d.messageOutId)).toEqual(['out_2', 'out_1']);
});

test('deliveries list shows attempts newest first; --failed keeps failures; --limit; --json parses', async () => {
  const [table, failed, limited] = await Promise.all([
    warren(['deliveries', 'list']),
    warren(['deliveries', 'list', '--failed', '--json']),
    command(['deliveries', 'list', '--limit', '1', '--json']),
  ]);
  expect(table.code, table.stderr).toBe(0);
  expect(table.stdout).toMatch(/^TIME\s+SESSION\s+CHANNEL\s+MESSAGE\s+ATTEMPT\s+STATUS\s+CODE\s+ERROR\n/);
  expect(table.stdout).toMatch(
    /out_2\s+1\s+failed\s+forbidden\s+the bot was removed from the chat\n.*out_1\s+1\s+delivered\s+-/,
  );
  expect(JSON.parse(failed.stdout)).toEqual([
    expect.objectContaining({
      sessionId: ids.running,
      channelType: 'webchat',
      status: 'failed',
      errorCode: 'forbidden',
      error: 'the bot was removed from the chat',
    }),
  ]);
  expect((JSON.parse(limited.stdout) as unknown[]).length).toBe(1);
});

test('sessions stop closes the session, is audited, and says what happens to its container', async () => {
  const stopped = await warren(['sessions', 'stop', ids.idle]);
  expect(stopped.code, stopped.stderr).toBe(0);
  expect(stopped.stdout).toContain(
    `closed session ${ids.idle}: the chat's next message starts a new session`,
  );
  expect(stopped.stdout).toContain('the host is not running: no container runs for it');
  expect(getSession(db, ids.idle)).toMatchObject({ status: 'closed', closedReason: null });
  expect(listAuditEvents(db, { limit: 1 })[0]).toMatchObject({
    action: 'session.stopped',
    targetId: ids.idle,
    actor: expect.stringMatching(/^cli:/),
  });
  const again = await warren(['sessions', 'stop', ids.idle]);
  expect(again).toMatchObject({
    code: 1,
    stderr: expect.stringContaining(`session ${ids.idle} is closed already`),
  });
});

test('with the host running, stop says the running container is left to end by itself', async () => {
  const host: Server = createServer((_, res) => res.end('ok'));
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  const { port } = host.address() as { port: number };
  try {
    const stopped = await warren(['sessions', 'stop', ids.running], String(port));
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain('its container is running and is not stopped by this command');
    expect(stopped.stdout).toContain('the host refuses its model calls');
  } finally {
    host.close();
  }
  expect(getSession(db, ids.running)!.status).toBe('closed');
});

test('bad input is refused with what to do (2: usage, 1: not found)', async () => {
  const cases: [string[], number, RegExp][] = [
    [['sessions', 'show'], 2, /warren sessions show: give the session id \(warren sessions list\)/],
    [['sessions', 'stop'], 2, /give the session id/],
    [['sessions', 'show', 'ses_nope'], 1, /no session ses_nope \(warren sessions list --all\)/],
    [['sessions', 'stop', 'ses_nope'], 1, /no session ses_nope/],
    [['sessions', 'list', '--limit', 'ten'], 2, /--limit must be a whole number from 1 to 1000, got "ten"/],
    [['sessions', 'explode'], 2, /warren sessions: unknown subcommand "explode"/],
    [['deliveries', 'list', '--limit', '0'], 2, /--limit must be a whole number from 1 to 1000/],
    [['deliveries', 'retry'], 2, /warren deliveries: unknown subcommand "retry"/],
  ];
  const outs = await Promise.all(cases.map(([args]) => command(args)));
  for (const [i, [args, code, message]] of cases.entries()) {
    expect(outs[i]!.code, args.join(' ')).toBe(code);
    expect(outs[i]!.stderr, args.join(' ')).toMatch(message);
  }
  const [usage, missing] = await Promise.all([
    warren(['sessions', 'frob']),
    warren(['sessions', 'show', 'ses_nope']),
  ]);
  expect(usage.code).toBe(2);
  expect(missing.code).toBe(1);
});
