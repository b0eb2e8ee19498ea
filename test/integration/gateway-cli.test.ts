// `warren groups …` and `warren usage` called as functions on a real data folder, plus the real
// command refusing a secrets file that others can read.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, test } from 'vitest';
import { getAgentGroupByFolder } from '../../src/db/agent-groups.ts';
import { listAuditEvents } from '../../src/db/audit.ts';
import { openCentralDb } from '../../src/db/connection.ts';
import { recordModelUsage } from '../../src/db/model-usage.ts';
import { createUser } from '../../src/db/users.ts';
import { runGroupsCommand, type ModelFlags } from '../../src/host/cli/groups.ts';
import { runUsageCommand } from '../../src/host/cli/usage.ts';
import { loadConfig, type Config } from '../../src/host/config.ts';
import { initDataFolder } from '../../src/host/data-folder.ts';

let config: Config;
beforeEach(async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-gwcli-'));
  config = loadConfig({
    flags: { dataDir: join(root, 'data'), groupsDir: join(root, 'groups') },
    env: {},
    cwd: root,
  });
  (await initDataFolder(config, () => new Date())).db.close();
});

async function groups(
  subcommand: string | undefined,
  name?: string,
  flags: ModelFlags = {},
  env: NodeJS.ProcessEnv = {},
) {
  let out = '';
  let err = '';
  const code = await runGroupsCommand({
    config,
    subcommand,
    name,
    flags,
    json: false,
    env,
    now: new Date('2026-05-01T12:00:00Z'),
    actor: 'cli:tester',
    write: (t) => (out += t),
    fail: (t) => (err += t),
  });
  return { code, out, err };
}

async function usage(
  input: { subcommand?: string; group?: string; user?: string; since?: string; json?: boolean } = {},
) {
  let out = '';
  let err = '';
  const code = await runUsageCommand({
    config,
    subcommand: input.subcommand,
    group: input.group,
    user: input.user,
    since: input.since,
    json: input.json ?? false,
    now: new Date('2026-05-02T12:00:00Z'),
    write: (t) => (out += t),
    fail: (t) => (err += t),
  });
  return { code, out, err };
}

const mainGroup = () => {
  const db = openCentralDb(config.centralDbPath);
  const group = getAgentGroupByFolder(db, 'main')!;
  const events = listAuditEvents(db, { target: { kind: 'agent_group', id: group.id } });
  db.close();
  return { group, events };
};

describe('warren groups', () => {
  test('list shows each group’s provider, model and key status', async () => {
    const result = await groups('list');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^GROUP\s+NAME\s+PROVIDER\s+MODEL\s+BASE URL\s+KEY\s+LIMITS\n/);
    expect(result.out).toMatch(/main\s+Main\s+scripted\s+-\s+-\s+-\s+-/);
  });

  test('model switches main to Ollama: provider, model, base URL and limits; show prints them', async () => {
    const result = await groups('model', 'main', {
      provider: 'openai',
      model: 'llama3.1',
      baseUrl: 'http://127.0.0.1:11434/v1',
      rpm: '30',
      dailyTokens: '200000',
      tools: 'Bash,Write',
      timeoutMs: '300000',
    });
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toContain(
      'agent group main: openai llama3.1 at http://127.0.0.1:11434/v1, no key (none configured)',
    );
    const { group, events } = mainGroup();
    expect(group).toMatchObject({
      provider: 'openai',
      model: 'llama3.1',
      modelConfig: {
        baseUrl: 'http://127.0.0.1:11434/v1',
        requestsPerMinute: 30,
        dailyTokenBudget: 200000,
        allowedTools: ['Bash', 'Write'],
        timeoutMs: 300000,
      },
    });
    expect(events).toMatchObject([
      {
        actor: 'cli:tester',
        action: 'agent_group.model_changed',
        detail: { before: { provider: 'scripted' }, after: { provider: 'openai' } },
      },
    ]);
    const show = await groups('show', 'main');
    expect(show.out).toContain('calls per minute 30');
    expect(show.out).toContain('tokens per day   200000 (0 used today, UTC)');
    expect(show.out).toContain('allowed tools    Bash, Write');
  });

  test('settings merge into what is there; an empty value clears one', async () => {
    await groups('model', 'main', {
      provider: 'claude',
      model: 'claude-sonnet-4-5',
      rpm: '10',
      allowModels: 'claude-sonnet-4-5,claude-haiku-*',
    });
    await groups('model', 'main', { dailyTokens: '5000' });
    expect(mainGroup().group.modelConfig).toEqual({
      requestsPerMinute: 10,
      dailyTokenBudget: 5000,
      allowedModels: ['claude-sonnet-4-5', 'claude-haiku-*'],
    });
    await groups('model', 'main', { rpm: '' });
    expect(mainGroup().group.modelConfig).toEqual({
      dailyTokenBudget: 5000,
      allowedModels: ['claude-sonnet-4-5', 'claude-haiku-*'],
    });
  });

  test('a claude group without its key is saved but warned about', async () => {
    const result = await groups('model', 'main', { provider: 'claude', model: 'claude-sonnet-4-5' });
    expect(result.code).toBe(0);
    expect(result.err).toContain(
      'warning: agent group main: claude claude-sonnet-4-5 at https://api.anthropic.com: key ANTHROPIC_API_KEY is missing',
    );
    const withKey = await groups('list', undefined, {}, { ANTHROPIC_API_KEY: 'sk-ant-x' });
    expect(withKey.out).toContain('ANTHROPIC_API_KEY present');
    expect(withKey.out).not.toContain('sk-ant-x');
  });

  test.each([
    [{ provider: 'gemini' }, '--provider must be one of claude, openai, scripted, got "gemini"'],
    [{ provider: 'claude' }, '--model is required: the claude provider needs a model name'],
    [{ provider: 'openai', model: 'm', rpm: 'ten' }, '--rpm must be a whole number, got "ten"'],
    [
      { provider: 'openai', model: 'm', baseUrl: 'localhost:11434' },
      'baseUrl must be an http:// or https:// URL',
    ],
    [{ provider: 'openai', model: 'm', timeoutMs: '5' }, 'agent group main: invalid model settings'],
    [{}, 'nothing to change'],
  ])('model %j is refused with exit 2 and changes nothing', async (flags, message) => {
    const result = await groups('model', 'main', flags);
    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
    expect(mainGroup().group).toMatchObject({ provider: 'scripted', model: null, modelConfig: {} });
  });

  test('an unknown group or subcommand is a clear error', async () => {
    expect(await groups('show', 'nope')).toMatchObject({
      code: 1,
      err: expect.stringContaining('no agent group "nope"'),
    });
    expect(await groups('frob')).toMatchObject({
      code: 2,
      err: expect.stringContaining('unknown subcommand "frob"'),
    });
    expect(await groups('model')).toMatchObject({
      code: 2,
      err: expect.stringContaining("give the agent group's folder name"),
    });
  });

  test('help lists the subcommands and the model options', async () => {
    const result = await groups('help');
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toContain('warren groups model NAME [options]');
    expect(result.out).toContain('--daily-tokens N');
  });

  test('without a database it says how to make one', async () => {
    config = { ...config, centralDbPath: join(config.dataDir, 'missing.db') };
    expect(await groups('list')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^warren groups: no database at .*missing\.db; run warren init/),
    });
  });
});

describe('warren usage', () => {
  test('totals per group and user, filtered by group, user and time', async () => {
    const db = openCentralDb(config.centralDbPath);
    const main = getAgentGroupByFolder(db, 'main')!;
    const ana = createUser(db, { displayName: 'Ana' }, '2026-05-01T00:00:00.000Z');
    const row = (userId: string | null, input: number, output: number, createdAt: string, statusCode = 200) =>
      recordModelUsage(db, {
        agentGroupId: main.id,
        sessionId: 'ses_1',
        userId,
        provider: 'claude',
        model: 'claude-sonnet-4-5',
        path: '/v1/messages',
        inputTokens: input,
        outputTokens: output,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        statusCode,
        durationMs: 5,
        createdAt,
      });
    row(ana.id, 100, 10, '2026-05-01T10:00:00.000Z');
    row(ana.id, 200, 20, '2026-05-02T10:00:00.000Z');
    row(null, 5, 0, '2026-05-02T11:00:00.000Z', 500);
    db.close();

    const all = await usage();
    expect(all.out).toMatch(/^GROUP\s+USER\s+CALLS\s+ERRORS\s+INPUT\s+OUTPUT/);
    expect(all.out).toMatch(
      new RegExp(`main\\s+Ana \\(${ana.id}\\)\\s+2\\s+0\\s+300\\s+30\\s+0\\s+0\\s+330`),
    );
    expect(all.out).toMatch(/main\s+\(none\)\s+1\s+1\s+5\s+0\s+0\s+0\s+5/);
    expect(all.out).toContain('335 tokens in all');
    expect(JSON.parse((await usage({ user: ana.id, since: '2026-05-02', json: true })).out)).toMatchObject([
      { group: 'main', userId: ana.id, requests: 1, inputTokens: 200, outputTokens: 20 },
    ]);
    expect((await usage({ group: 'main', since: '2026-06-01' })).out).toBe('no model calls recorded\n');
  });

  test('bad filters are clear errors', async () => {
    expect(await usage({ since: 'yesterday' })).toMatchObject({
      code: 2,
      err: expect.stringContaining('--since "yesterday" is not an ISO-8601 time'),
    });
    expect(await usage({ group: 'nope' })).toMatchObject({
      code: 1,
      err: 'warren usage: no agent group "nope" (warren groups list shows them)\n',
    });
    expect(await usage({ subcommand: 'main' })).toMatchObject({
      code: 2,
      err: expect.stringContaining('warren usage: unexpected "main"'),
    });
  });

  test('help lists the filters', async () => {
    const result = await usage({ subcommand: 'help' });
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toContain('--since ISO');
  });
});

test('the real command refuses to start with a secrets file others can read, naming the fix', async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-gwcli-bin-'));
  const dataDir = join(root, 'data');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'secrets.json'), '{"ANTHROPIC_API_KEY":"sk-ant-do-not-print"}', {
    mode: 0o644,
  });
  const failure = await promisify(execFile)(
    process.execPath,
    ['bin/warren.js', 'init', '--data-dir', dataDir, '--groups-dir', join(root, 'g')],
    {
      env: { ...process.env, ANTHROPIC_API_KEY: '' },
    },
  ).catch((err: { code: number; stderr: string }) => err);
  expect(failure).toMatchObject({ code: 1 });
  const stderr = (failure as { stderr: string }).stderr;
  expect(stderr).toContain(
    `secrets file ${join(dataDir, 'secrets.json')} can be read by other users (mode 0644); run: chmod 600`,
  );
  expect(stderr).not.toContain('sk-ant-do-not-print');
});
