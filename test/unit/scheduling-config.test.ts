// The scheduling settings in config.json: defaults, overrides, and a bad value refused by name.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/host/config.ts';

const withFile = (json: unknown) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-sched-config-'));
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify(json));
  return () => loadConfig({ flags: { dataDir }, env: {}, cwd: '/' });
};

test('defaults: 3 failures pause a task, all catches up at most 10 runs, 50 tasks per conversation', () => {
  expect(loadConfig({ flags: {}, env: {}, cwd: '/srv' }).scheduling).toEqual({
    maxFailures: 3,
    maxCatchUp: 10,
    maxTasksPerSession: 50,
    missedGraceMs: 60_000,
  });
});

test('config.json sets them one by one', () => {
  expect(withFile({ scheduling: { maxFailures: 5 } })().scheduling).toMatchObject({
    maxFailures: 5,
    maxCatchUp: 10,
  });
});

test('a bad value or an unknown key is refused, naming it', () => {
  expect(withFile({ scheduling: { maxFailures: 0 } })).toThrow(ConfigError);
  expect(withFile({ scheduling: { maxFailures: 0 } })).toThrow(/scheduling\.maxFailures/);
  expect(withFile({ scheduling: { retries: 2 } })).toThrow(/retries/);
});
