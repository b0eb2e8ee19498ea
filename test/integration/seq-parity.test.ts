import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { createSessionFiles, sessionPaths } from '../../src/host/sessions/index.ts';
import { startRace } from '../harness/race-start.ts';

const run = promisify(execFile);
const COUNT = 1000;

function writer(side: 'host' | 'runner', dataDir: string) {
  return run(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/seq-writer.ts', side, 'ag_1', 'ses_1', dataDir, String(COUNT)],
    { maxBuffer: 16 << 20 },
  ).then(({ stdout }) => JSON.parse(stdout) as number[]);
}

const strictlyIncreasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);

test('two processes writing both files at once never share a seq and each stays in order', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-seq-'));
  const paths = sessionPaths(dataDir, 'ag_1', 'ses_1');
  await createSessionFiles(paths);

  const host = writer('host', dataDir);
  const runner = writer('runner', dataDir);
  await startRace(paths.root, 2);
  const [hostSeqs, runnerSeqs] = await Promise.all([host, runner]);

  expect(hostSeqs).toHaveLength(COUNT);
  expect(runnerSeqs).toHaveLength(COUNT);
  expect(hostSeqs.every((s) => s % 2 === 0)).toBe(true);
  expect(runnerSeqs.every((s) => s % 2 === 1)).toBe(true);
  expect(strictlyIncreasing(hostSeqs)).toBe(true);
  expect(strictlyIncreasing(runnerSeqs)).toBe(true);
  expect(new Set([...hostSeqs, ...runnerSeqs]).size).toBe(2 * COUNT);

  // The writes really interleaved: each side saw the other's seqs and jumped over them.
  const runnerMin = runnerSeqs[0]!;
  const runnerMax = runnerSeqs.at(-1)!;
  expect(hostSeqs.filter((s) => s > runnerMin && s < runnerMax).length).toBeGreaterThan(0);

  for (const file of [paths.inbound, paths.outbound]) {
    const db = new Database(file, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    db.close();
  }
  const inbound = new Database(paths.inbound, { readonly: true });
  expect(inbound.prepare('SELECT seq FROM messages_in ORDER BY rowid').pluck().all()).toEqual(hostSeqs);
  inbound.close();
});
