// `warren users budget`, `warren usage`'s budget table and `warren users unmapped`, as an operator runs
// them: the real command for the happy paths and help, in-process for the tables of bad input.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { getAgentGroupByFolder } from '../../src/db/agent-groups.ts';
import { listAuditEvents } from '../../src/db/audit.ts';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import { recordDroppedMessage } from '../../src/db/dropped-messages.ts';
import { recordModelUsage } from '../../src/db/model-usage.ts';
import { addMember, grantRole } from '../../src/db/roles.ts';
import { getUserDailyTokenBudget } from '../../src/db/user-budgets.ts';
import { addIdentity, createUser, setUserStatus } from '../../src/db/users.ts';
import {
  listUnmappedAccounts,
  mergeUsers,
  userForAccount,
  type UnmappedAccount,
} from '../../src/host/access/index.ts';
import { runWarrenCli, runWarrenInProcess } from '../harness/warren-cli.ts';

let dataDir: string;
const warren = (args: string[]) => runWarrenCli(args, { dataDir });
const inProcess = (args: string[]) => runWarrenInProcess(args, { dataDir });

function withDb<T>(work: (db: Db) => T): T {
  const db = openCentralDb(join(dataDir, 'warren.db'));
  try {
    return work(db);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-cli-budget-'));
  dataDir = join(root, 'data');
  expect((await warren(['init', '--groups-dir', join(root, 'groups')])).code).toBe(0);
});

/** A model call recorded now for `userId` in the main group. */
function usage(db: Db, userId: string | null, tokens: number, createdAt = new Date().toISOString()): void {
  recordModelUsage(db, {
    agentGroupId: getAgentGroupByFolder(db, 'main')!.id,
    sessionId: 'ses_1',
    userId,
    provider: 'claude',
    model: 'claude-sonnet-4-5',
    path: '/v1/messages',
    inputTokens: tokens,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    statusCode: 200,
    durationMs: 1,
    createdAt,
  });
}

describe('warren users budget', () => {
  test('sets, shows and clears a user’s daily token budget, each change audited', async () => {
    const kim = withDb((db) => {
      const user = userForAccount(
        db,
        { kind: 'telegram', externalId: '501', name: 'Kim' },
        new Date().toISOString(),
      );
      usage(db, user.id, 120);
      usage(db, user.id, 9000, '2020-01-01T00:00:00.000Z'); // another day: not today's
      return user.id;
    });
    const set = await warren(['users', 'budget', 'telegram:501', '5000']);
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(set.stdout).toMatch(
      new RegExp(
        `^${kim} \\(Kim\\): 5000 tokens per UTC day \\(was: no daily token budget\\); 120 used today, resets at \\d{4}-\\d{2}-\\d{2}T00:00:00\\.000Z\\n$`,
      ),
    );
    const shown = JSON.parse((await inProcess(['users', 'budget', kim, '--json'])).stdout) as Record<
      string,
      unknown
    >;
    expect(shown).toMatchObject({ userId: kim, displayName: 'Kim', dailyTokenBudget: 5000, usedToday: 120 });
    expect(Date.parse(shown.resetsAt as string)).toBeGreaterThan(Date.now());

    expect((await inProcess(['users', 'show', kim])).stdout).toContain(
      '\nbudget      5000 tokens per UTC day\n',
    );
    expect((await inProcess(['users', 'budget', kim, '5000'])).stdout).toMatch(
      /: 5000 tokens per UTC day; 120 used/,
    );
    expect((await inProcess(['users', 'budget', kim, 'none'])).stdout).toMatch(
      /: no daily token budget \(was: 5000 tokens per UTC day\); 120 used today/,
    );
    withDb((db) => {
      expect(getUserDailyTokenBudget(db, kim)).toBeNull();
      const events = listAuditEvents(db, { target: { kind: 'user', id: kim } });
      // Newest first; setting the same budget again changed nothing and recorded nothing.
      expect(events.map((e) => [e.action, e.detail])).toEqual([
        ['user.budget_cleared', { before: 5000, after: null }],
        ['user.budget_set', { before: null, after: 5000 }],
      ]);
      expect(events[0]!.actor).toMatch(/^cli:/);
    });
  });

  test.each([
    [['users', 'budget', 'u_x', '0'], /"0" is not a budget: give a whole number of tokens per UTC day/],
    [['users', 'budget', 'u_x', '--', '-5'], /"-5" is not a budget/],
    [['users', 'budget', 'u_x', '1.5'], /"1.5" is not a budget/],
    [['users', 'budget', 'u_x', 'lots'], /"lots" is not a budget/],
    [['users', 'budget', 'u_x', '99999999999999999999'], /is not a budget/],
    [['users', 'budget', 'u_x', '10', 'more'], /warren users budget: unexpected "more"/],
    [['users', 'budget'], /warren users budget: missing arguments/],
  ])('%j is refused with exit 2, the usage, and nothing changed', async (argv, message) => {
    const before = withDb((db) => {
      const user = createUser(db, { displayName: 'Lee' }, new Date().toISOString());
      return { id: user.id, audit: listAuditEvents(db, {}).length };
    });
    const args = argv.map((a) => (a === 'u_x' ? before.id : a));
    const result = await inProcess(args);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('warren users budget USER [N | none]');
    withDb((db) => {
      expect(getUserDailyTokenBudget(db, before.id)).toBeNull();
      expect(listAuditEvents(db, {}).length).toBe(before.audit);
    });
  });

  test('an unknown or merged user is an error naming what to do, exit 1', async () => {
    expect(await inProcess(['users', 'budget', 'u_nobody', '10'])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^warren users budget: no user u_nobody/),
    });
    const from = withDb((db) => {
      const now = new Date().toISOString();
      const a = createUser(db, { displayName: 'A' }, now);
      const b = createUser(db, { displayName: 'B' }, now);
      mergeUsers(db, a.id, b.id, 'test', now);
      return { a: a.id, b: b.id };
    });
    expect(await inProcess(['users', 'budget', from.a, '10'])).toMatchObject({
      code: 1,
      stderr: `warren users budget: ${from.a} was merged into ${from.b}; change that user\n`,
    });
  });
});

describe('warren usage', () => {
  test('shows each user’s tokens today against their budget, in text and JSON', async () => {
    const ids = withDb((db) => {
      const now = new Date().toISOString();
      const mo = createUser(db, { displayName: 'Mo' }, now);
      const ny = createUser(db, { displayName: 'Ny' }, now);
      usage(db, mo.id, 700);
      usage(db, ny.id, 30);
      usage(db, null, 5);
      return { mo: mo.id, ny: ny.id };
    });
    expect((await inProcess(['users', 'budget', ids.mo, '1000'])).code).toBe(0);
    const text = await inProcess(['usage']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /\ntoday \(UTC, resets at .*\), every agent group together:\nUSER\s+USED TODAY\s+DAILY BUDGET\s+LEFT\n/,
    );
    expect(text.stdout).toMatch(new RegExp(`Mo \\(${ids.mo}\\)\\s+700\\s+1000\\s+300\\n`));
    expect(text.stdout).toMatch(new RegExp(`Ny \\(${ids.ny}\\)\\s+30\\s+-\\s+-\\n`));

    const rows = JSON.parse((await inProcess(['usage', '--json'])).stdout) as {
      userId: string | null;
      userToday: unknown;
    }[];
    expect(rows.find((r) => r.userId === ids.mo)?.userToday).toMatchObject({
      userId: ids.mo,
      usedToday: 700,
      dailyTokenBudget: 1000,
      resetsAt: expect.stringMatching(/T00:00:00\.000Z$/),
    });
    expect(rows.find((r) => r.userId === ids.ny)?.userToday).toMatchObject({
      usedToday: 30,
      dailyTokenBudget: null,
    });
    expect(rows.find((r) => r.userId === null)?.userToday).toBeNull();

    const one = await inProcess(['usage', '--user', ids.ny]);
    expect(one.stdout).toContain(ids.ny);
    expect(one.stdout).not.toContain(ids.mo);
  });
});

describe('warren users unmapped', () => {
  test('lists accounts that spoke and belong to no known person, with the command that maps each', async () => {
    const ids = withDb((db) => {
      const now = new Date().toISOString();
      const first = (kind: string, externalId: string, name?: string, isBot = false) =>
        userForAccount(db, { kind, externalId, name, isBot }, now).id;
      // Known people: made by an operator, or holding a role, or with several accounts.
      const ana = createUser(db, { displayName: 'Ana Lima' }, now, 'cli:op');
      const owner = first('webchat', 'op', 'Operator');
      grantRole(db, { userId: owner, role: 'owner' }, 'cli:op', now);
      const two = first('slack', 'U2', 'Two Accounts');
      addIdentity(db, { userId: two, kind: 'discord', externalId: 'd2' }, 'cli:op', now);
      // Stand-ins the router made, still alone: unmapped.
      const anaOnTelegram = first('telegram', '900', 'ana  lima');
      const stranger = first('telegram', '901', 'Stranger');
      const bot = first('telegram', '902', 'Ana Lima', true);
      const member = first('whatsapp', '+4470', 'Member');
      addMember(db, member, getAgentGroupByFolder(db, 'main')!.id, 'approval', now);
      recordDroppedMessage(
        db,
        { channelType: 'telegram', chatId: 'c1', senderId: '901', reason: 'no_wiring' },
        '2099-01-01T00:00:00.000Z',
      );
      recordDroppedMessage(
        db,
        { channelType: 'telegram', chatId: 'c2', senderId: '901', reason: 'unknown_sender' },
        now,
      );
      // Dealt with by the operator: suspended, or merged into someone.
      setUserStatus(db, first('telegram', '903', 'Spammer'), 'suspended', 'cli:op', now);
      mergeUsers(db, first('telegram', '904', 'Merged'), ana.id, 'cli:op', now);
      return { ana: ana.id, owner, two, anaOnTelegram, stranger, bot, member };
    });

    const listed = JSON.parse((await inProcess(['users', 'unmapped', '--json'])).stdout) as UnmappedAccount[];
    const mine = listed.filter((a) => Object.values(ids).includes(a.userId));
    // Most recently seen first: the stranger's dropped message is the latest sign of life.
    expect(mine.map((a) => a.account)).toEqual([
      'telegram:901',
      ...['telegram:900', 'telegram:902', 'whatsapp:+4470'].sort(),
    ]);
    const by = (account: string) => mine.find((a) => a.account === account)!;
    expect(by('telegram:901')).toMatchObject({
      userId: ids.stranger,
      displayName: 'Stranger',
      droppedMessages: 2,
      lastSeenAt: '2099-01-01T00:00:00.000Z',
      likelyPeople: [],
      command: `warren users merge ${ids.stranger} USER`,
    });
    expect(by('telegram:900')).toMatchObject({
      likelyPeople: [{ userId: ids.ana, displayName: 'Ana Lima' }],
      command: `warren users merge ${ids.anaOnTelegram} ${ids.ana}`,
    });
    expect(by('telegram:902')).toMatchObject({ userKind: 'bot', likelyPeople: [] });
    expect(by('whatsapp:+4470').memberOf).toEqual(['main']);
    expect(withDb((db) => listUnmappedAccounts(db, { limit: 1 }))).toHaveLength(1);

    const text = await inProcess(['users', 'unmapped']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`telegram:900  "ana  lima"  user ${ids.anaOnTelegram}\n  first seen `);
    expect(text.stdout).toContain(
      `  likely Ana Lima (${ids.ana})\n  warren users merge ${ids.anaOnTelegram} ${ids.ana}\n`,
    );
    expect(text.stdout).toMatch(
      /telegram:901 {2}"Stranger" {2}user \S+\n {2}first seen .*, 2 dropped message\(s\)\n/,
    );

    // The suggested command maps it: it leaves the list.
    expect((await inProcess(['users', 'merge', ids.anaOnTelegram, ids.ana])).code).toBe(0);
    const after = JSON.parse((await inProcess(['users', 'unmapped', '--json'])).stdout) as UnmappedAccount[];
    expect(after.map((a) => a.account)).not.toContain('telegram:900');
  });

  test('a name the platform gave is printed escaped: it cannot drive the terminal', async () => {
    withDb((db) =>
      userForAccount(
        db,
        { kind: 'telegram', externalId: '905', name: 'Eve\u001b[2J\nroot' },
        new Date().toISOString(),
      ),
    );
    const text = (await inProcess(['users', 'unmapped'])).stdout;
    expect(text).toContain('telegram:905  "Eve\\u001b[2J\\nroot"  user ');
    expect(text).not.toContain('\u001b');
  });

  test('extra words are refused with exit 2; help explains what unmapped means', async () => {
    const extra = await inProcess(['users', 'unmapped', 'now']);
    expect(extra).toMatchObject({ code: 2, stdout: '' });
    expect(extra.stderr).toMatch(/^warren users unmapped: unexpected "now"/);
    for (const args of [
      ['users', 'help'],
      ['help', 'users'],
    ]) {
      const help = await warren(args);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('warren users budget USER [N | none] [--json]');
      expect(help.stdout).toContain('warren users unmapped [--json]');
      expect(help.stdout).toContain(
        'An unmapped account is one whose user the router made on its first message',
      );
    }
  });
});
