// Commits made by this process through better-sqlite3, counted from the inside: every statement runs
// through Statement.prototype (db.transaction's own BEGIN and COMMIT too), so wrapping those methods
// sees every commit of every connection, the central DB's WAL commits included (strace cannot see
// those: a WAL commit with synchronous=NORMAL is a plain write).
import { basename } from 'node:path';
import Database from 'better-sqlite3';
import { sqliteFileOf, type FileCounts } from './sqlite-syscalls.ts';

interface CountedStatement {
  database: Database.Database;
  readonly: boolean;
  source: string;
}

/**
 * Pure: did running this statement end a transaction with a commit? Either it closed an open
 * transaction other than by ROLLBACK (COMMIT, END, db.transaction's commit), or it wrote in
 * autocommit mode (a transaction of its own). A transaction that only read counts too (the wrapper
 * cannot tell): compare with the journal commits strace counts for the session files.
 */
export function endedWithCommit(
  statement: { readonly: boolean; source: string },
  wasInTransaction: boolean,
  isInTransaction: boolean,
): boolean {
  // A pragma (journal_mode, synchronous, … set on every open) writes no rows.
  if (isInTransaction || /^\s*PRAGMA\b/i.test(statement.source)) return false;
  if (wasInTransaction) return !/^\s*ROLLBACK\b/i.test(statement.source);
  return !statement.readonly;
}

export interface CommitCounter {
  /** Commits since the counter was made, by database file. */
  counts(): FileCounts;
  /** Puts the unwrapped methods back: what runs afterwards is neither counted nor slowed. */
  stop(): void;
}

/**
 * Wraps Statement.prototype.run/get/all until stop(); statements prepared before are counted too
 * (methods are looked up on the prototype at each call). One counter at a time.
 */
export function countCommits(): CommitCounter {
  const counts: FileCounts = { inbound: 0, outbound: 0, central: 0, other: 0 };
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, unknown>;
  probe.close();
  const originals = new Map<string, unknown>();
  for (const method of ['run', 'get', 'all'] as const) {
    const original = proto[method] as (...args: unknown[]) => unknown;
    originals.set(method, original);
    proto[method] = function (this: CountedStatement, ...args: unknown[]) {
      const was = this.database.inTransaction;
      const result = original.apply(this, args);
      if (endedWithCommit(this, was, this.database.inTransaction)) {
        counts[sqliteFileOf(basename(this.database.name))]++;
      }
      return result;
    };
  }
  return {
    counts: () => ({ ...counts }),
    stop: () => {
      for (const [method, original] of originals) proto[method] = original;
    },
  };
}
