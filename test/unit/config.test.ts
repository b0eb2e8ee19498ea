import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/host/config.ts';

const cwd = '/srv/warren';

test('defaults: ./data, ./groups, port 7420 on loopback', () => {
  const config = loadConfig({ flags: {}, env: {}, cwd });
  expect(config).toMatchObject({
    dataDir: '/srv/warren/data',
    groupsDir: '/srv/warren/groups',
    host: '127.0.0.1',
    port: 7420,
    logLevel: 'info',
    centralDbPath: '/srv/warren/data/warren.db',
  });
});

test('flags win over the environment, the environment over the config file', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-config-'));
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ port: 8000, logLevel: 'debug' }));
  const fromFile = loadConfig({ flags: { dataDir }, env: {}, cwd });
  expect([fromFile.port, fromFile.logLevel]).toEqual([8000, 'debug']);
  const fromEnv = loadConfig({ flags: { dataDir }, env: { WARREN_PORT: '8001' }, cwd });
  expect(fromEnv.port).toBe(8001);
  const fromFlag = loadConfig({ flags: { dataDir, port: '8002' }, env: { WARREN_PORT: '8001' }, cwd });
  expect(fromFlag.port).toBe(8002);
});

test('bad values are refused with the name of the setting', () => {
  expect(() => loadConfig({ flags: { port: '99999' }, env: {}, cwd })).toThrow(/port must be a whole number/);
  expect(() => loadConfig({ flags: {}, env: { WARREN_LOG_LEVEL: 'loud' }, cwd })).toThrow(/WARREN_LOG_LEVEL/);
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-config-'));
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ prot: 7000 }));
  expect(() => loadConfig({ flags: { dataDir }, env: {}, cwd })).toThrow(ConfigError);
  writeFileSync(join(dataDir, 'config.json'), '{ not json');
  expect(() => loadConfig({ flags: { dataDir }, env: {}, cwd })).toThrow(/is not valid JSON/);
});

test('each data folder gets its own install id for labelling containers', () => {
  const a = loadConfig({ flags: { dataDir: '/a' }, env: {}, cwd });
  const b = loadConfig({ flags: { dataDir: '/b' }, env: {}, cwd });
  expect(a.installId).toMatch(/^[0-9a-f]{12}$/);
  expect(a.installId).not.toBe(b.installId);
  expect(loadConfig({ flags: { dataDir: '/a' }, env: {}, cwd }).installId).toBe(a.installId);
});

test('the host stops idle containers a little after the runner would exit by itself', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-config-'));
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ containers: { idleExitMs: 120_000 } }));
  const { containers } = loadConfig({ flags: { dataDir }, env: {}, cwd });
  expect(containers).toMatchObject({ idleExitMs: 120_000, idleStopMs: 150_000, maxLifetimeMs: 1_800_000 });
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ containers: { maxLifetimeMs: 10 } }));
  expect(() => loadConfig({ flags: { dataDir }, env: {}, cwd })).toThrow(/maxLifetimeMs/);
});

test('web chat limits have defaults, take config.json values, and refuse nonsense', () => {
  expect(loadConfig({ flags: {}, env: {}, cwd }).webchat).toEqual({
    maxStreamsPerChat: 20,
    maxStreams: 200,
    maxQueuedBytes: 4 * 1024 * 1024,
    postsPerMinutePerSender: 60,
    postsPerMinutePerChat: 240,
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-config-'));
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ webchat: { maxStreamsPerChat: 5 } }));
  expect(loadConfig({ flags: { dataDir }, env: {}, cwd }).webchat).toMatchObject({
    maxStreamsPerChat: 5,
    maxStreams: 200,
  });
  for (const bad of [
    { maxStreams: 0 },
    { maxQueuedBytes: 1024 },
    { postsPerMinutePerChat: 1.5 },
    { other: 1 },
  ]) {
    writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ webchat: bad }));
    expect(() => loadConfig({ flags: { dataDir }, env: {}, cwd })).toThrow(/webchat/);
  }
});

test('attachment caps default to 20 MiB a file and 50 MiB a message, take config.json values, refuse nonsense', () => {
  expect(loadConfig({ flags: {}, env: {}, cwd }).attachments).toEqual({
    maxFileBytes: 20 * 1024 * 1024,
    maxMessageBytes: 50 * 1024 * 1024,
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-config-'));
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ attachments: { maxFileMb: 0.5 } }));
  expect(loadConfig({ flags: { dataDir }, env: {}, cwd }).attachments).toEqual({
    maxFileBytes: 512 * 1024,
    maxMessageBytes: 50 * 1024 * 1024,
  });
  for (const bad of [{ maxFileMb: 0 }, { maxMessageMb: -1 }, { maxFileMb: '20' }, { other: 1 }]) {
    writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ attachments: bad }));
    expect(() => loadConfig({ flags: { dataDir }, env: {}, cwd })).toThrow(/attachments/);
  }
});

test('chat platform settings default to 120 s of typing and a 5 s liveness check, and refuse nonsense', () => {
  expect(loadConfig({ flags: {}, env: {}, cwd }).channels).toEqual({
    typingTimeoutMs: 120_000,
    watchdogCheckMs: 5_000,
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-config-'));
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ channels: { watchdogCheckSeconds: 1 } }));
  expect(loadConfig({ flags: { dataDir }, env: {}, cwd }).channels.watchdogCheckMs).toBe(1_000);
  for (const bad of [{ typingTimeoutSeconds: 1 }, { watchdogCheckSeconds: 0.5 }, { staleAfterMs: 5 }]) {
    writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ channels: bad }));
    expect(() => loadConfig({ flags: { dataDir }, env: {}, cwd })).toThrow(/channels/);
  }
});

test('publicUrl: unset by default (the address the host listens on); the file or WARREN_PUBLIC_URL, without a trailing slash', () => {
  expect(loadConfig({ flags: { port: '8123' }, env: {}, cwd }).publicUrl).toBeUndefined();
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-config-'));
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ publicUrl: 'https://warren.example.com/' }));
  expect(loadConfig({ flags: { dataDir }, env: {}, cwd }).publicUrl).toBe('https://warren.example.com');
  const env = { WARREN_PUBLIC_URL: 'https://chat.example.org/warren//' };
  expect(loadConfig({ flags: { dataDir }, env, cwd }).publicUrl).toBe('https://chat.example.org/warren');
  expect(() => loadConfig({ flags: {}, env: { WARREN_PUBLIC_URL: 'ftp://x' }, cwd })).toThrow(
    /WARREN_PUBLIC_URL/,
  );
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ publicUrl: 'javascript:alert(1)' }));
  expect(() => loadConfig({ flags: { dataDir }, env: {}, cwd })).toThrow(/publicUrl/);
});
