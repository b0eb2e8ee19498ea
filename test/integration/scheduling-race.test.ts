// Two host processes sweeping the same data folder at the same moment: every due task still moves
// forward once and every session is woken once (BEGIN IMMEDIATE on inbound.db, the unique slot
// index, and taking wakes in one central transaction).
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, expect, test } from 'vitest';
import { startClockedHost } from '../harness/clocked-host.ts';
import { startRace } from '../harness/race-start.ts';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const host = startClockedHost({ start: '2026-06-01T08:30:00.000Z' });
afterAll(() => host.close());

async function sweepProcess(
  clockIso: string,
  raceDir: string,
  racer: string,
): Promise<{ woken: string[]; ms: number }> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/sweep-tick.ts', host.dataDir, clockIso, raceDir, racer],
    { cwd: repoRoot },
  );
  return JSON.parse(stdout) as { woken: string[]; ms: number };
}

test('two processes sweeping together: each due task gets one next slot, each session one wake', async () => {
  const SESSIONS = 60;
  const sessions = Array.from({ length: SESSIONS }, () => host.session());
  for (const s of sessions) {
    const scheduled = await host.agent(s, 'schedule_task', { prompt: 'tick', cron: '0 * * * *' });
    expect(scheduled.isError).toBe(false);
    await host.delivery.deliverSession(s.session.id);
  }
  const timings: number[][] = [];
  for (const hour of ['09', '10', '11']) {
    const clockIso = `2026-06-01T${hour}:00:01.000Z`;
    const raceDir = mkdtempSync(join(host.dataDir, `race-${hour}-`));
    const [a, b] = await Promise.all([
      sweepProcess(clockIso, raceDir, 'a'),
      sweepProcess(clockIso, raceDir, 'b'),
      startRace(raceDir, 2),
    ]);
    timings.push([a.ms, b.ms]);
    const all = [...a.woken, ...b.woken].sort();
    expect(all).toEqual(sessions.map((s) => s.session.id).sort());
    for (const s of sessions) {
      const db = new Database(s.paths.inbound, { readonly: true });
      const perSlot = db
        .prepare(
          `SELECT json_extract(content, '$.scheduledFor') AS slot, count(*) AS n FROM messages_in
           WHERE kind = 'task' GROUP BY slot ORDER BY slot`,
        )
        .all() as { slot: string; n: number }[];
      db.close();
      expect(perSlot.every((r) => r.n === 1)).toBe(true);
      expect(perSlot.at(-1)!.slot).toBe(`2026-06-01T${String(Number(hour) + 1).padStart(2, '0')}:00:00.000Z`);
    }
  }
  console.log(`racing sweeps, tick ms per round (process A, process B): ${JSON.stringify(timings)}`);
}, 60_000);
