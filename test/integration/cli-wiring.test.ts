// `warren wire|unwire|wirings` as an operator meets them: the real command on a real data folder, and
// the router (with the same database) routing the chat's next message by what the command wrote.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { listAuditEvents } from '../../src/db/audit.ts';
import { createChannelInstallation } from '../../src/db/channel-installations.ts';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import {
  createMessagingGroup,
  denyMessagingGroup,
  findMessagingGroup,
} from '../../src/db/messaging-groups.ts';
import { getSession } from '../../src/db/sessions.ts';
import type { InboundMessage } from '../../src/host/channels/index.ts';
import { createRouter } from '../../src/host/router.ts';
import { runWarrenCli, runWarrenInProcess } from '../harness/warren-cli.ts';

let dataDir: string;
let db: Db;
/** The real `warren` process; `command` runs the same command in this process (faster, for tables). */
const warren = (args: string[]) => runWarrenCli(args, { dataDir });
const command = (args: string[]) => runWarrenInProcess(args, { dataDir });

interface WiringView {
  chat: string;
  isGroup: boolean;
  agentGroup: string;
  engageMode: string;
  engagePattern: string | null;
  sessionMode: string;
  unknownSenders: string;
  senderScope: string;
  ignoredMessages: string;
}
const wirings = async () => JSON.parse((await command(['wirings', '--json'])).stdout) as WiringView[];

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-cli-wiring-'));
  dataDir = join(root, 'data');
  expect((await warren(['init', '--groups-dir', join(root, 'groups')])).code).toBe(0);
  db = openCentralDb(join(dataDir, 'warren.db'));
  const now = new Date().toISOString();
  for (const channelType of ['telegram', 'discord'])
    createChannelInstallation(db, { channelType, name: channelType, config: {} }, now);
});

afterAll(() => db.close());

const telegramMessage = (chatId: string, id: string, text: string): InboundMessage => ({
  channelType: 'telegram',
  installation: '',
  platformMessageId: id,
  chat: { id: chatId, isGroup: true },
  sender: { id: '4242', name: 'Ana' },
  threadId: null,
  text,
  attachments: [],
  mentioned: false,
  timestamp: new Date().toISOString(),
});

test('a chat wired from the command line has its next message routed to the group', async () => {
  const router = createRouter({
    db,
    dataDir,
    clock: () => new Date(),
    log: pino({ level: 'silent' }),
    wake: () => {},
  });
  const before = await router.route(telegramMessage('-100777', 'm1', 'anyone there?'));
  expect(before).toEqual({ status: 'dropped', reason: 'no_wiring' });

  const wired = await warren([
    'wire',
    'telegram:-100777',
    'main',
    '--engage',
    'pattern',
    '--pattern',
    '^',
    '--unknown-senders',
    'public',
  ]);
  expect(wired.code, wired.stderr).toBe(0);
  expect(wired.stdout).toContain('wired telegram:-100777 to main: engage pattern /^/, session mode shared');
  expect(wired.stdout).toContain('unknown senders in this chat: public (was strict)');

  const after = await router.route(telegramMessage('-100777', 'm2', 'hello'));
  expect(after).toMatchObject({ status: 'routed', sessions: [{ trigger: true }] });
  const [routed] = (after as Extract<typeof after, { status: 'routed' }>).sessions;
  const session = getSession(db, routed!.sessionId)!;
  expect(session.messagingGroupId).toBe(findMessagingGroup(db, 'telegram', '-100777')!.id);
});

test('wire creates the chat with the kind its id tells; wirings lists it; both are audited', async () => {
  const [group, dm] = await Promise.all([
    command(['wire', 'telegram:-100123', 'main', '--session-mode', 'per-thread', '--sender-scope', 'known']),
    command([
      'wire',
      'discord:5566',
      'Main',
      '--dm',
      '--engage',
      'mention-sticky',
      '--ignored',
      'accumulate',
    ]),
  ]);
  expect(group.code, group.stderr).toBe(0);
  expect(group.stdout).toContain('the chat was created (a group chat)');
  expect(group.stdout).toContain('only people main knows are answered: warren roles grant USER member');
  expect(dm.code, dm.stderr).toBe(0);
  expect(dm.stdout).toContain('the chat was created (a direct chat)');

  const [json, tableOut] = await Promise.all([warren(['wirings', '--json']), warren(['wirings'])]);
  const listed = JSON.parse(json.stdout) as WiringView[];
  expect(listed).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        chat: 'telegram:-100123',
        isGroup: true,
        agentGroup: 'main',
        engageMode: 'mention',
        sessionMode: 'per-thread',
        unknownSenders: 'strict',
        senderScope: 'known',
        ignoredMessages: 'drop',
      }),
      expect.objectContaining({
        chat: 'discord:5566',
        isGroup: false,
        engageMode: 'mention-sticky',
        sessionMode: 'shared',
        ignoredMessages: 'accumulate',
      }),
    ]),
  );
  const table = tableOut.stdout;
  expect(table).toMatch(/^CHAT\s+KIND\s+GROUP\s+ENGAGE\s+SESSION MODE\s+UNKNOWN SENDERS/);
  expect(table).toMatch(/telegram:-100123\s+group\s+main\s+mention\s+per-thread\s+strict\s+known\s+drop/);
  const audited = listAuditEvents(db, { limit: 20 }).filter((e) => e.action === 'wiring.created');
  expect(audited.map((e) => e.detail?.chat)).toEqual(
    expect.arrayContaining(['telegram:-100123', 'discord:5566']),
  );
  expect(audited[0]!.actor).toBe('cli:test');
});

test('unwire takes the wiring away, says which sessions stay, and is audited', async () => {
  const router = createRouter({
    db,
    dataDir,
    clock: () => new Date(),
    log: pino({ level: 'silent' }),
    wake: () => {},
  });
  expect((await command(['wire', 'webchat:desk', 'main'])).code).toBe(0);
  const routed = await router.route({
    ...telegramMessage('desk', 'w1', 'hi'),
    channelType: 'webchat',
    chat: { id: 'desk', isGroup: false },
    mentioned: true,
  });
  expect(routed.status).toBe('routed');
  const sessionId = (routed as Extract<typeof routed, { status: 'routed' }>).sessions[0]!.sessionId;

  const unwired = await command(['unwire', 'webchat:desk', 'main']);
  expect(unwired.code, unwired.stderr).toBe(0);
  expect(unwired.stdout).toContain('unwired webchat:desk from main');
  expect(unwired.stdout).toContain(`its sessions stay active (with their scheduled tasks): ${sessionId}`);
  expect((await wirings()).map((w) => w.chat)).not.toContain('webchat:desk');
  expect(listAuditEvents(db, { limit: 1 })[0]).toMatchObject({
    action: 'wiring.deleted',
    detail: expect.objectContaining({ chat: 'webchat:desk', agentGroup: 'main' }),
  });
  const next = await router.route({
    ...telegramMessage('desk', 'w2', 'still there?'),
    channelType: 'webchat',
    chat: { id: 'desk', isGroup: false },
    mentioned: true,
  });
  expect(next).toEqual({ status: 'dropped', reason: 'no_wiring' });
});

test('wiring a chat an admin had denied allows it again', async () => {
  const now = new Date().toISOString();
  const chat = createMessagingGroup(
    db,
    { channelType: 'telegram', platformId: '-100888', isGroup: true },
    now,
  );
  denyMessagingGroup(db, chat.id, now);
  const wired = await command(['wire', 'telegram:-100888', 'main']);
  expect(wired.code, wired.stderr).toBe(0);
  expect(wired.stdout).toContain('the chat had been denied; it is allowed again');
  expect(findMessagingGroup(db, 'telegram', '-100888')!.deniedAt).toBeNull();
});

test('bad input is refused with what to do (2: usage, 1: refused), and nothing is stored', async () => {
  expect((await command(['wire', 'telegram:-100555', 'main'])).code).toBe(0);
  const cases: [string[], number, RegExp][] = [
    [['wire'], 2, /give the chat and the agent group: warren wire CHANNEL:CHAT_ID GROUP/],
    [['wire', 'lobby', 'main'], 2, /a chat is CHANNEL:CHAT_ID \(e\.g\. telegram:/],
    [
      ['wire', 'telegram:-1', 'main', '--engage', 'always'],
      2,
      /--engage must be one of pattern, mention, mention-sticky/,
    ],
    [['wire', 'telegram:-1', 'main', '--engage', 'pattern'], 2, /--engage pattern needs --pattern REGEX/],
    [['wire', 'telegram:-1', 'main', '--pattern', 'hi'], 2, /--pattern goes with --engage pattern/],
    [
      ['wire', 'telegram:-1', 'main', '--engage', 'pattern', '--pattern', '('],
      2,
      /not a valid regular expression/,
    ],
    [
      ['wire', 'telegram:-1', 'main', '--session-mode', 'solo'],
      2,
      /--session-mode must be one of shared, per-thread, agent-shared/,
    ],
    [
      ['wire', 'telegram:-1', 'main', '--unknown-senders', 'open'],
      2,
      /--unknown-senders must be one of strict, request_approval, public/,
    ],
    [['wire', 'telegram:-1', 'main', '--dm'], 2, /telegram:-1 is a group chat, not a direct chat/],
    [
      ['wire', 'discord:77', 'main'],
      2,
      /say whether discord:77 is a group chat or a direct chat .*\(--group-chat or --dm\)/,
    ],
    [['wire', 'discord:77', 'main', '--group-chat', '--dm'], 2, /give --group-chat or --dm, not both/],
    [['wire', 'telegram:-1', 'nobody'], 1, /no agent group "nobody" \(warren groups list shows them\)/],
    [
      ['wire', 'telgram:-1', 'main'],
      1,
      /there is no channel "telgram" \(channels: webchat, cli, discord, telegram; warren channels add/,
    ],
    [
      ['wire', 'telegram:-100555', 'main'],
      1,
      /telegram:-100555 is already wired to main \(engage mention.*\); to change it, unwire it and wire it again/,
    ],
    [['unwire', 'telegram:-1'], 2, /give the chat and the agent group/],
    [['unwire', 'telegram:-1', 'main'], 1, /telegram:-1 is not wired to main \(warren wirings lists them\)/],
    [['wirings', 'extra'], 2, /unexpected "extra"/],
  ];
  const outs = await Promise.all(cases.map(([args]) => command(args)));
  for (const [i, [args, code, message]] of cases.entries()) {
    expect(outs[i]!.code, args.join(' ')).toBe(code);
    expect(outs[i]!.stderr, args.join(' ')).toMatch(message);
  }
  expect((await wirings()).map((w) => w.chat)).not.toContain('telegram:-1');
  expect(findMessagingGroup(db, 'discord', '77')).toBeUndefined();
});

test('the real command exits 2 for a usage error and 1 for a refusal, and answers help', async () => {
  const [usage, refused, help] = await Promise.all([
    warren(['wire', 'lobby', 'main']),
    warren(['unwire', 'webchat:nowhere', 'main']),
    warren(['wirings', 'help']),
  ]);
  expect(usage).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('warren wire: a chat is CHANNEL:CHAT_ID'),
  });
  expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('is not wired to main') });
  expect(help).toMatchObject({ code: 0, stdout: expect.stringContaining('warren wirings [--json]') });
});
