// Where keys and model settings come from, and what happens when they are wrong: secrets only the
// host's user can read, settings validated with messages that name the group, a new install's
// default provider chosen by the keys it finds.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import {
  createAgentGroup,
  getAgentGroup,
  getAgentGroupByFolder,
  ModelConfigError,
  updateAgentGroup,
} from '../../src/db/agent-groups.ts';
import { openCentralDb } from '../../src/db/connection.ts';
import { migrate } from '../../src/db/migrate.ts';
import { MIGRATIONS } from '../../src/db/migrations/index.ts';
import { loadConfig } from '../../src/host/config.ts';
import { initDataFolder } from '../../src/host/data-folder.ts';
import { describeGroupModel, loadSecrets, SecretsFileError } from '../../src/host/gateway/index.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'warren-gwcfg-'));
const now = '2026-05-01T10:00:00.000Z';

describe('secrets', () => {
  test('keys come from the environment first, then the secrets file; a missing file is fine', () => {
    const dir = tmp();
    const file = join(dir, 'secrets.json');
    expect(loadSecrets({ file, env: { ANTHROPIC_API_KEY: 'env-key' } }).get('ANTHROPIC_API_KEY')).toBe(
      'env-key',
    );
    writeFileSync(file, JSON.stringify({ ANTHROPIC_API_KEY: 'file-key', OPENAI_API_KEY: 'file-openai' }), {
      mode: 0o600,
    });
    const secrets = loadSecrets({ file, env: { ANTHROPIC_API_KEY: 'env-key', EMPTY: '' } });
    expect(secrets.get('ANTHROPIC_API_KEY')).toBe('env-key');
    expect(secrets.get('OPENAI_API_KEY')).toBe('file-openai');
    expect(secrets.get('EMPTY')).toBeUndefined();
    expect(secrets.get('NOPE')).toBeUndefined();
  });

  test('a pasted newline around a key is dropped; a key that cannot be a header value is not used', () => {
    const dir = tmp();
    const file = join(dir, 'secrets.json');
    writeFileSync(file, JSON.stringify({ OPENAI_API_KEY: ' sk-file\n' }), { mode: 0o600 });
    const secrets = loadSecrets({ file, env: { ANTHROPIC_API_KEY: 'sk-env\n', BROKEN: 'two words' } });
    expect(secrets.get('ANTHROPIC_API_KEY')).toBe('sk-env');
    expect(secrets.get('OPENAI_API_KEY')).toBe('sk-file');
    expect(secrets.get('BROKEN')).toBeUndefined();
    writeFileSync(file, JSON.stringify({ OPENAI_API_KEY: 'sk-with space-secret' }), { mode: 0o600 });
    expect(() => loadSecrets({ file, env: {} })).toThrow('problem at: OPENAI_API_KEY');
    expect(() => loadSecrets({ file, env: {} })).not.toThrow(/space-secret/);
  });

  test('a secrets file other users can read is refused with the fix, and without its contents', () => {
    const file = join(tmp(), 'secrets.json');
    writeFileSync(file, JSON.stringify({ ANTHROPIC_API_KEY: 'sk-ant-secret-value' }));
    chmodSync(file, 0o644);
    const attempt = () => loadSecrets({ file, env: {} });
    expect(attempt).toThrow(SecretsFileError);
    expect(attempt).toThrow(`can be read by other users (mode 0644); run: chmod 600 "${file}"`);
    chmodSync(file, 0o640);
    expect(attempt).toThrow(/mode 0640/);
    chmodSync(file, 0o600);
    expect(attempt().get('ANTHROPIC_API_KEY')).toBe('sk-ant-secret-value');
  });

  test.each([
    ['{"ANTHROPIC_API_KEY": "sk-ant-secret-value"', 'is not valid JSON'],
    [
      '{"nested": {"key": "sk-ant-secret-value"}}',
      'must be a flat object of names to non-empty strings (problem at: nested)',
    ],
    ['["sk-ant-secret-value"]', 'must be a flat object'],
  ])('%s is refused without quoting the file', (content, message) => {
    const file = join(tmp(), 'secrets.json');
    writeFileSync(file, content, { mode: 0o600 });
    let error: unknown;
    try {
      loadSecrets({ file, env: {} });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SecretsFileError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('sk-ant-secret-value');
  });

  test('WARREN_SECRETS_FILE moves the secrets file; it defaults to <data-dir>/secrets.json', () => {
    expect(loadConfig({ flags: { dataDir: '/srv/w' }, env: {}, cwd: '/' }).secretsFile).toBe(
      '/srv/w/secrets.json',
    );
    expect(
      loadConfig({ flags: { dataDir: '/srv/w' }, env: { WARREN_SECRETS_FILE: 'keys.json' }, cwd: '/etc/w' })
        .secretsFile,
    ).toBe('/etc/w/keys.json');
  });
});

describe('model settings', () => {
  test('valid settings round-trip; a trailing slash is dropped from the base URL', () => {
    const db = openCentralDb(join(tmp(), 'warren.db'));
    const group = createAgentGroup(
      db,
      {
        name: 'Ops',
        folder: 'ops',
        provider: 'openai',
        model: 'llama3.1',
        modelConfig: {
          baseUrl: 'http://127.0.0.1:11434/v1/',
          requestsPerMinute: 30,
          dailyTokenBudget: 100000,
          allowedTools: ['Bash', 'mcp__warren__send_message'],
          timeoutMs: 300000,
        },
      },
      now,
    );
    expect(getAgentGroup(db, group.id)!.modelConfig).toEqual({
      baseUrl: 'http://127.0.0.1:11434/v1',
      requestsPerMinute: 30,
      dailyTokenBudget: 100000,
      allowedTools: ['Bash', 'mcp__warren__send_message'],
      timeoutMs: 300000,
    });
    db.close();
  });

  test.each([
    [{ baseUrl: 'ftp://example.com' }, 'baseUrl must be an http:// or https:// URL'],
    [{ baseUrl: 'https://user:pw@example.com' }, 'must not carry a user name, password, query or fragment'],
    [{ apiKeyName: 'my key' }, 'apiKeyName is an environment-style name'],
    [{ requestsPerMinute: 0 }, 'requestsPerMinute'],
    [{ dailyTokenBudget: 1.5 }, 'dailyTokenBudget'],
    [{ timeoutMs: 10 }, 'timeoutMs'],
    [{ allowedModels: [] }, 'allowedModels'],
    [{ allowedTools: ['rm -rf'] }, 'a tool name such as Bash'],
    [{ temperature: 2 }, 'temperature'],
  ])('%j is refused with a message naming the group and the setting', (modelConfig, message) => {
    const db = openCentralDb(join(tmp(), 'warren.db'));
    const group = createAgentGroup(db, { name: 'Ops', folder: 'ops', provider: 'claude' }, now);
    const attempt = () => updateAgentGroup(db, group.id, { modelConfig }, now);
    expect(attempt).toThrow(ModelConfigError);
    expect(attempt).toThrow(/^agent group ops: invalid model settings: /);
    expect(attempt).toThrow(message);
    expect(getAgentGroup(db, group.id)!.modelConfig).toEqual({}); // nothing changed
    db.close();
  });

  test('a hand-edited row with bad settings fails when read, naming the group', () => {
    const file = join(tmp(), 'warren.db');
    const db = openCentralDb(file);
    const group = createAgentGroup(db, { name: 'Ops', folder: 'ops', provider: 'claude' }, now);
    db.prepare('UPDATE agent_groups SET model_config = ? WHERE id = ?').run(
      '{"requestsPerMinute":"lots"}',
      group.id,
    );
    expect(() => getAgentGroup(db, group.id)).toThrow(
      /^agent group ops: invalid model settings: .*requestsPerMinute/,
    );
    expect(() =>
      db.prepare('UPDATE agent_groups SET model_config = ? WHERE id = ?').run('not json', group.id),
    ).toThrow(/CHECK constraint failed/);
    db.close();
  });

  test('migration 002 gives agent groups made before it empty model settings', () => {
    const file = join(tmp(), 'warren.db');
    const raw = new Database(file);
    migrate(raw, MIGRATIONS.slice(0, 1));
    raw
      .prepare(
        "INSERT INTO agent_groups (id, name, folder, provider, model, created_at, updated_at) VALUES ('ag_old', 'Old', 'old', 'claude', 'm', ?, ?)",
      )
      .run(now, now);
    raw.close();
    const db = openCentralDb(file);
    expect(getAgentGroupByFolder(db, 'old')).toMatchObject({
      provider: 'claude',
      model: 'm',
      modelConfig: {},
    });
    db.close();
  });
});

describe('default provider of a new install', () => {
  async function initWith(keys: Record<string, string>) {
    const root = tmp();
    const config = loadConfig({
      flags: { dataDir: join(root, 'data'), groupsDir: join(root, 'groups') },
      env: {},
      cwd: root,
    });
    const { db, changes } = await initDataFolder(config, () => new Date(now), {
      secrets: { get: (name) => keys[name] },
    });
    const main = getAgentGroupByFolder(db, 'main')!;
    db.close();
    return { main, changes };
  }

  test('an Anthropic key makes main a claude agent', async () => {
    const { main, changes } = await initWith({ ANTHROPIC_API_KEY: 'k', OPENAI_API_KEY: 'k' });
    expect(main).toMatchObject({ provider: 'claude', model: 'claude-sonnet-4-5', modelConfig: {} });
    expect(changes).toContain('created agent group "main" (provider: claude, model: claude-sonnet-4-5)');
  });

  test('else an OpenAI key (with base URL and model if given) makes it an openai agent', async () => {
    expect((await initWith({ OPENAI_API_KEY: 'k' })).main).toMatchObject({
      provider: 'openai',
      model: 'gpt-4.1-mini',
      modelConfig: {},
    });
    expect(
      (
        await initWith({
          OPENAI_API_KEY: 'k',
          OPENAI_BASE_URL: 'https://llm.example.com/v1',
          OPENAI_MODEL: 'qwen3',
        })
      ).main,
    ).toMatchObject({
      provider: 'openai',
      model: 'qwen3',
      modelConfig: { baseUrl: 'https://llm.example.com/v1' },
    });
  });

  test('a local server (base URL and model, no key) counts too; nothing at all means scripted', async () => {
    expect(
      (await initWith({ OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1', OPENAI_MODEL: 'llama3.1' })).main,
    ).toMatchObject({
      provider: 'openai',
      model: 'llama3.1',
    });
    expect((await initWith({})).main).toMatchObject({ provider: 'scripted', model: null });
  });
});

describe('start-up lines', () => {
  const group = (provider: 'claude' | 'openai' | 'scripted', model: string | null, modelConfig = {}) => ({
    id: 'ag_1',
    name: 'Main',
    folder: 'main',
    provider,
    model,
    modelConfig,
    timezone: null,
    containerConfig: {},
    createdAt: now,
    updatedAt: now,
  });

  test('each group says what it uses and whether its key is there', () => {
    expect(describeGroupModel(group('scripted', null), () => undefined)).toEqual({
      level: 'info',
      message: 'agent group main: provider scripted (no model configured; see docs/models.md)',
    });
    expect(describeGroupModel(group('claude', 'claude-sonnet-4-5'), () => 'k')).toEqual({
      level: 'info',
      message:
        'agent group main: claude claude-sonnet-4-5 at https://api.anthropic.com, key ANTHROPIC_API_KEY present',
    });
    const missing = describeGroupModel(group('openai', 'gpt-4.1-mini'), () => undefined);
    expect(missing.level).toBe('warn');
    expect(missing.message).toContain('key OPENAI_API_KEY is missing, so its model calls get an error');
    expect(
      describeGroupModel(
        group('openai', 'llama3.1', { baseUrl: 'http://127.0.0.1:11434/v1' }),
        () => undefined,
      ),
    ).toEqual({
      level: 'info',
      message: 'agent group main: openai llama3.1 at http://127.0.0.1:11434/v1, no key (none configured)',
    });
  });
});
