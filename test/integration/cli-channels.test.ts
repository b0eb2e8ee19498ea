// `warren channels` as an operator meets it: the real command on a real data folder.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { runWarrenCli } from '../harness/warren-cli.ts';

let dataDir: string;
const warren = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runWarrenCli(args, {
    dataDir,
    env: { TELEGRAM_BOT_TOKEN: '', SLACK_BOT_TOKEN: '', SLACK_APP_TOKEN: '', ...env },
  });

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-cli-channels-'));
  dataDir = join(root, 'data');
  expect((await warren(['init', '--groups-dir', join(root, 'groups')])).code).toBe(0);
});

test('add names the credentials it still needs; list shows them missing, then set', async () => {
  const added = await warren(['channels', 'add', 'telegram']);
  expect(added.code).toBe(0);
  expect(added.stdout).toContain('added telegram');
  expect(added.stdout).toContain('it needs TELEGRAM_BOT_TOKEN');

  const missing = JSON.parse((await warren(['channels', 'list', '--json'])).stdout) as {
    name: string;
    mode: string;
    credentials: { secret: string; set: boolean }[];
  }[];
  expect(missing).toEqual([
    expect.objectContaining({
      name: 'telegram',
      mode: 'polling',
      credentials: [{ role: 'botToken', secret: 'TELEGRAM_BOT_TOKEN', set: false }],
    }),
  ]);
  const set = await warren(['channels', 'list'], { TELEGRAM_BOT_TOKEN: '123:abc' });
  expect(set.stdout).toMatch(/telegram\s+telegram\s+polling\s+enabled\s+default\s+TELEGRAM_BOT_TOKEN\n/);
  expect(set.stdout).not.toContain('123:abc');
});

test('a second bot of a platform has its own name, secrets and API base URL', async () => {
  const added = await warren([
    'channels',
    'add',
    'slack',
    '--name',
    'support',
    '--mode',
    'http',
    '--api-url',
    'http://127.0.0.1:9/api/',
    '--secret',
    'signingSecret=SUPPORT_SIGNING',
  ]);
  expect(added.code, added.stderr).toBe(0);
  expect(added.stdout).toContain('added slack-support');
  expect(added.stdout).toContain('SLACK_BOT_TOKEN_SUPPORT, SUPPORT_SIGNING');
  const list = await warren(['channels', 'list']);
  expect(list.stdout).toMatch(/slack-support\s+slack\s+http\s+enabled\s+http:\/\/127\.0\.0\.1:9\/api\//);
});

test('bad input is refused with what to do, and nothing is stored', async () => {
  const cases: [string[], number, RegExp][] = [
    [['channels', 'add'], 2, /name a platform: telegram, slack, discord/],
    [['channels', 'add', 'myspace'], 2, /name a platform/],
    [
      ['channels', 'add', 'slack', '--name', 'x', '--mode', 'rtm'],
      2,
      /slack has no mode "rtm" \(modes: socket, http\)/,
    ],
    [['channels', 'add', 'telegram', '--name', 'x', '--set', 'bogus=1'], 2, /telegram settings: .*bogus/i],
    [['channels', 'add', 'telegram', '--name', 'x', '--mode', 'webhook'], 2, /webhook mode needs webhookUrl/],
    [
      ['channels', 'add', 'telegram', '--name', 'x', '--set', 'pollTimeoutSeconds'],
      2,
      /--set takes KEY=VALUE/,
    ],
    [['channels', 'add', 'slack', '--name', 'y', '--api-url', 'ftp://x'], 2, /apiBaseUrl/],
    [['channels', 'add', 'slack', '--name', 'y', '--secret', 'botToken'], 2, /--secret takes KEY=VALUE/],
    [['channels', 'add', 'slack', '--name', 'y', '--secret', 'botToken=lower'], 2, /secret names are like/],
    [['channels', 'add', 'telegram'], 1, /telegram exists already/],
    [['channels', 'add', 'telegram', '--name', 'Bad Name'], 1, /use 1-64 of a-z/],
    [['channels', 'remove', 'nope'], 1, /no channel named "nope"/],
    [['channels', 'frobnicate'], 2, /unknown subcommand "frobnicate"/],
  ];
  const outs = await Promise.all(cases.map(([args]) => warren(args)));
  for (const [i, [args, code, message]] of cases.entries()) {
    expect(outs[i]!.code, args.join(' ')).toBe(code);
    expect(outs[i]!.stderr, args.join(' ')).toMatch(message);
  }
  const names = (JSON.parse((await warren(['channels', 'list', '--json'])).stdout) as { name: string }[]).map(
    (c) => c.name,
  );
  expect(names).toEqual(['slack-support', 'telegram']);
});

test('platform settings are set with --set and checked by the adapter', async () => {
  const added = await warren([
    'channels',
    'add',
    'telegram',
    '--name',
    'hooks',
    '--mode',
    'webhook',
    '--set',
    'webhookUrl=https://bot.example.com/channels/telegram-hooks/webhook',
    '--set',
    'webhookCheckSeconds=30',
  ]);
  expect(added.code, added.stderr).toBe(0);
  expect(added.stdout).toContain('TELEGRAM_BOT_TOKEN_HOOKS, TELEGRAM_WEBHOOK_SECRET_HOOKS');
  expect((await warren(['channels', 'remove', 'telegram-hooks'])).code).toBe(0);
});

test('test names the missing credential; remove takes the installation away', async () => {
  const tested = await warren(['channels', 'test', 'telegram']);
  expect(tested.code).toBe(1);
  expect(tested.stderr).toMatch(/needs TELEGRAM_BOT_TOKEN: set it in the environment or in .*secrets\.json/);
  const removed = await warren(['channels', 'remove', 'slack-support']);
  expect(removed.code).toBe(0);
  expect((await warren(['channels', 'list'])).stdout).not.toContain('slack-support');
});

test('a dot in --set nests a setting: email takes its servers that way', async () => {
  const server = (kind: string, port: number) => [
    ...['--set', `${kind}.host=mail.example.com`, '--set', `${kind}.port=${port}`],
    ...['--set', `${kind}.secure=true`],
  ];
  const added = await warren([
    ...['channels', 'add', 'email', '--set', 'address=warren@example.com'],
    ...server('imap', 993),
    ...server('smtp', 465),
  ]);
  expect(added.code, added.stderr).toBe(0);
  expect(added.stdout).toContain('it needs EMAIL_PASSWORD');
  const refused = await warren([
    ...['channels', 'add', 'email', '--name', 'bad', '--set', 'address=warren@example.com'],
    ...server('imap', 993),
    ...['--set', 'smtp.host=mail.example.com', '--set', 'smtp.port=none', '--set', 'smtp.secure=true'],
  ]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/email settings: smtp\.port: /);
  expect((await warren(['channels', 'remove', 'email'])).code).toBe(0);
});
