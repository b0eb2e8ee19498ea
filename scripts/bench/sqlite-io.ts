// SQLite work per warm message, host and runner: database opens, commits and fsyncs, counted over a
// stretch of warm messages of its own (strace slows what it traces, so never over timed messages).
import { join } from 'node:path';
import { expectEchoes, type ChatClient } from './chat-client.ts';
import type { BenchHost } from './host.ts';
import { countCommits } from './sqlite-commits.ts';
import { traceSqliteSyscalls, type FileCounts, type SqliteSyscalls } from './sqlite-syscalls.ts';
import { round } from './stats.ts';

export interface SqliteIoOptions {
  messages: number;
  pauseMs: number;
  timeoutMs: number;
  /** The chat's session: its container is the runner traced. */
  sessionId: string;
}

const METHOD =
  'strace -f -y -e trace=openat,unlink,unlinkat,fsync,fdatasync attached to the host process ' +
  "and to the chat's runner process, over messages of their own (not the timed ones); opens = " +
  'openat of a *.db file, journal_commits = *.db-journal unlinked (one per DELETE-journal write ' +
  'transaction), fsyncs = fsync/fdatasync of a database file, its journal or its folder. host.commits: ' +
  "better-sqlite3's Statement run/get/all wrapped in this process (WAL commits of the central DB included)";

/** Sends `messages` more messages in the chat with strace attached; figures are per message. */
export async function measureSqliteIo(bench: BenchHost, chat: ChatClient, opts: SqliteIoOptions) {
  const runnerPids = [...(await bench.runners.pids(opts.sessionId)).values()];
  if (runnerPids.length !== 1)
    throw new Error(`expected one runner for ${opts.sessionId}, found ${runnerPids.length}`);
  const dir = bench.config.dataDir;
  const host = await traceSqliteSyscalls([process.pid], join(dir, 'strace-host.txt'));
  const runner = await traceSqliteSyscalls(runnerPids, join(dir, 'strace-runner.txt'));
  const commits = countCommits();
  let hostCounts: SqliteSyscalls;
  let runnerCounts: SqliteSyscalls;
  try {
    const texts = Array.from({ length: opts.messages }, (_, i) => `counted ${i}`);
    expectEchoes(await chat.sendSeries(texts, opts), texts);
  } finally {
    commits.stop();
    hostCounts = await host.stop();
    runnerCounts = await runner.stop();
  }
  const perMessage = (counts: FileCounts) => {
    const result = {} as FileCounts;
    for (const key of Object.keys(counts) as (keyof FileCounts)[]) {
      result[key] = round(counts[key] / opts.messages, 2);
    }
    return result;
  };
  const side = (counts: SqliteSyscalls) => ({
    opens: perMessage(counts.opens),
    journal_commits: perMessage(counts.journal_commits),
    fsyncs: perMessage(counts.fsyncs),
  });
  return {
    messages: opts.messages,
    host: { ...side(hostCounts), commits: perMessage(commits.counts()) },
    runner: side(runnerCounts),
    measured: METHOD,
  };
}
