// Waiting for the other side's lock at the end of its commit (src/shared/commit-tail.ts): real SQLite
// locks held by another thread, the host's bounded wait, and the runner's 5 s one in fine steps.
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { readWaitingForLock } from '../../src/shared/commit-tail.ts';
import {
  createSessionFiles,
  insertMessagesIn,
  OUTPUT_LIMITS,
  readOutboundPage,
  SessionBusyError,
  sessionPaths,
  type SessionPaths,
} from '../../src/host/sessions/index.ts';
import {
  closeRunnerSession,
  openRunnerSession,
  readPendingWork,
} from '../../container/agent-runner/src/db/session.ts';

let root: string;
let paths: SessionPaths;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'warren-commit-tail-'));
  paths = sessionPaths(root, 'ag_1', 'ses_1');
  createSessionFiles(paths);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/**
 * Another thread takes the exclusive lock of `path` (with a journal when `write` is set, as in the
 * middle of a commit), holds it for `holdMs` from the moment the returned `start()` is called, then
 * commits. A worker thread, because this thread blocks while it waits.
 */
async function holdLock(path: string, holdMs: number, write = false) {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const Database = require(workerData.sqlite);
     const db = new Database(workerData.path);
     db.exec('BEGIN EXCLUSIVE');
     if (workerData.write) db.prepare("INSERT INTO session_routing (id) VALUES (1)").run();
     parentPort.postMessage('locked');
     Atomics.wait(workerData.signal, 0, 0);
     Atomics.wait(workerData.signal, 0, 1, workerData.holdMs);
     db.exec('COMMIT');
     db.close();`,
    {
      eval: true,
      workerData: {
        path,
        holdMs,
        write,
        signal,
        sqlite: createRequire(import.meta.url).resolve('better-sqlite3'),
      },
    },
  );
  await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
  const done = new Promise((resolve) => worker.once('exit', resolve));
  return {
    start: () => {
      Atomics.store(signal, 0, 1);
      Atomics.notify(signal, 0);
    },
    done,
  };
}

const countRows = (path: string) => () => {
  const db = new Database(path, { readonly: true, timeout: 0 });
  try {
    return db.prepare('SELECT count(*) FROM messages_in').pluck().get();
  } finally {
    db.close();
  }
};

test("at a commit's end (the lock held, no journal left) a read tries again until the lock is free", async () => {
  const lock = await holdLock(paths.inbound, 5);
  let tries = 0;
  const read = countRows(paths.inbound);
  lock.start();
  const rows = readWaitingForLock(() => (tries++, read()), `${paths.inbound}-journal`, { maxMs: 2000 });
  await lock.done;
  expect(rows).toBe(0);
  expect(tries).toBeGreaterThan(1); // it did find the lock, and waited it out
});

test('in the middle of a commit (its journal exists) the host gives up at once; the runner waits', async () => {
  const journal = `${paths.inbound}-journal`;
  writeFileSync(journal, ''); // a commit's journal, as the other side would see it
  const lock = await holdLock(paths.inbound, 20);
  let tries = 0;
  const read = countRows(paths.inbound);
  lock.start();
  expect(() => readWaitingForLock(() => (tries++, read()), journal, { maxMs: 2000 })).toThrow(
    /database is locked/,
  );
  expect(tries).toBe(1);
  unlinkSync(journal);
  await lock.done;

  const [row] = insertMessagesIn(paths, [
    { kind: 'chat', timestamp: new Date().toISOString(), content: { text: 'hi', sender: { id: 'u' } } },
  ]);
  const runner = openRunnerSession({
    sessionId: paths.sessionId,
    inboundPath: paths.inbound,
    outboundPath: paths.outbound,
  });
  try {
    // The host's commit in progress: a real journal and its lock, for 30 ms.
    const commit = await holdLock(paths.inbound, 30, true);
    commit.start();
    expect(readPendingWork(runner, new Date().toISOString()).rows.map((m) => m.id)).toEqual([row!.id]);
    await commit.done;
  } finally {
    closeRunnerSession(runner);
  }
});

test('a container that keeps its lock without a journal costs the host at most its wait budget', async () => {
  readOutboundPage(paths); // keeps the handle, as delivery does
  const container = new Database(paths.outbound);
  container.exec('BEGIN EXCLUSIVE'); // locked, and no journal: it looks like a commit's end forever
  try {
    const sleeps = vi.spyOn(Atomics, 'wait');
    const reads = 300;
    const sleepsDuring = (batch: () => void) => {
      sleeps.mockClear();
      batch();
      return sleeps.mock.calls.length;
    };
    const readAll = () => {
      for (let i = 0; i < reads; i++) expect(() => readOutboundPage(paths)).toThrow(SessionBusyError);
    };
    await new Promise((resolve) => setTimeout(resolve, 1000)); // a fresh budget second
    const started = performance.now();
    const withBudget = sleepsDuring(readAll);
    const afterIt = sleepsDuring(readAll); // the same second, on a machine fast enough: nothing left
    // A loaded machine may take more than a second for the 600 reads: each second has its budget.
    const seconds = Math.floor((performance.now() - started) / 1000) + 1;
    sleeps.mockRestore();
    // Each sleep is at least 0.1 ms and the budget is charged at least that; one read may overshoot
    // by its own commitTailWaitMs. Unbounded, 600 reads would sleep about five times each.
    const mostSleeps = (OUTPUT_LIMITS.commitTailBudgetMsPerS + OUTPUT_LIMITS.commitTailWaitMs) / 0.1;
    expect(withBudget).toBeGreaterThan(0);
    expect(withBudget).toBeLessThanOrEqual(mostSleeps);
    expect(withBudget + afterIt).toBeLessThanOrEqual(seconds * mostSleeps);
    if (seconds === 1) expect(afterIt).toBe(0);
  } finally {
    container.exec('COMMIT');
    container.close();
  }
  expect(readOutboundPage(paths).rows).toEqual([]);
});
