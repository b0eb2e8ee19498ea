// The host keeps session files open between units of work (src/host/sessions/connections.ts). A kept
// handle must never let a container do what a fresh open would refuse: change the schema under it,
// swap the file, or overwrite it in place. Nor may it outlive its file (a folder removed and made
// again), or outlive its use (idle handles close). Real files, real SQLite.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  closeKeptFilesUnder,
  createSessionFiles,
  insertMessagesIn,
  keptFileCount,
  readOutboundPage,
  sessionPaths,
  settleOutbound,
  SessionUnsafeError,
  withSessionFile,
  type SessionPaths,
} from '../../src/host/sessions/index.ts';
import { IDLE_MS } from '../../src/host/sessions/connections.ts';

let root: string;
let paths: SessionPaths;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'warren-kept-'));
  paths = sessionPaths(join(root, 'data'), 'ag_1', 'ses_1');
  createSessionFiles(paths);
});
afterEach(() => {
  closeKeptFilesUnder(root);
  rmSync(root, { recursive: true, force: true });
});

/** What a container can do: its own handle on out/outbound.db. */
function asContainer(work: (db: Database.Database) => void): void {
  const db = new Database(paths.outbound);
  try {
    work(db);
  } finally {
    db.close();
  }
}

function writeReply(id: string, seq: number): void {
  asContainer((db) =>
    db
      .prepare(
        `INSERT INTO messages_out (id, seq, timestamp, kind, content) VALUES (?, ?, '2026-01-01T00:00:00.000Z', 'chat', ?)`,
      )
      .run(id, seq, JSON.stringify({ op: 'send', text: id, files: [] })),
  );
}

const ids = () => readOutboundPage(paths).rows.map((r) => r.id);

describe('outbound.db changed under a kept handle', () => {
  beforeEach(() => {
    writeReply('out_1', 1);
    expect(ids()).toEqual(['out_1']); // the handle is now kept
    expect(keptFileCount()).toBeGreaterThan(0);
  });

  test('rows the runner commits later are read through the kept handle', () => {
    writeReply('out_3', 3);
    expect(ids()).toEqual(['out_1', 'out_3']);
  });

  test.each([
    ['a view', 'CREATE VIEW v AS SELECT * FROM messages_out'],
    ['a trigger', 'CREATE TRIGGER t AFTER DELETE ON messages_out BEGIN DELETE FROM session_state; END'],
    [
      'a table swapped for a view of a huge generated value',
      `ALTER TABLE messages_out RENAME TO old;
       CREATE VIEW messages_out AS SELECT id, seq, in_reply_to, timestamp, deliver_after, kind, platform_id,
         channel_type, thread_id, hex(zeroblob(500000000)) AS content FROM old`,
    ],
  ])('a schema changed to hold %s is refused on the next read', (_what, sql) => {
    asContainer((db) => db.exec(sql));
    const started = performance.now();
    expect(() => ids()).toThrow(/schema other than the contract/);
    expect(performance.now() - started).toBeLessThan(500);
  });

  test('the file swapped for a symlink to a host file is refused', () => {
    const secret = join(root, 'secret.db');
    writeFileSync(secret, 'not yours');
    rmSync(paths.outbound);
    symlinkSync(secret, paths.outbound);
    expect(() => ids()).toThrow(SessionUnsafeError);
  });

  test('the file swapped for a FIFO is refused at once', () => {
    rmSync(paths.outbound);
    execFileSync('mkfifo', [paths.outbound]);
    expect(() => ids()).toThrow(/is a FIFO, not a regular file/);
  });

  test('the file swapped for another database is checked before it is read', () => {
    const other = join(paths.outDir, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE messages_out (x)');
    db.close();
    renameSync(other, paths.outbound);
    expect(() => ids()).toThrow(/schema other than the contract/);
  });

  test('the file overwritten in place with garbage is refused', () => {
    writeFileSync(paths.outbound, Buffer.alloc(8192, 7));
    expect(() => ids()).toThrow(SessionUnsafeError);
  });

  test('settling after the container ended drops the kept handle: the next read opens afresh', () => {
    // A read between a runner's crash and the rollback may have cached pages of its torn commit.
    const before = keptFileCount();
    settleOutbound(paths);
    expect(keptFileCount()).toBe(before - 1);
    expect(ids()).toEqual(['out_1']);
    expect(keptFileCount()).toBe(before);
  });

  test('the file truncated in place is refused', () => {
    writeFileSync(paths.outbound, '');
    expect(() => ids()).toThrow(SessionUnsafeError);
  });
});

describe('inbound.db', () => {
  const chat = (text: string) => ({
    kind: 'chat' as const,
    timestamp: '2026-01-01T00:00:00.000Z',
    content: { text, sender: { id: 'webchat:ana' } },
  });

  test('a session folder removed and made again is written through a new handle', () => {
    insertMessagesIn(paths, [chat('before')]);
    rmSync(paths.root, { recursive: true });
    createSessionFiles(paths);
    insertMessagesIn(paths, [chat('after')]);
    const db = new Database(paths.inbound, { readonly: true });
    const texts = db.prepare('SELECT content FROM messages_in').pluck().all() as string[];
    db.close();
    expect(texts.map((c) => JSON.parse(c).text)).toEqual(['after']);
  });

  test('a unit of work that calls another on the same file keeps its transaction', () => {
    const count = () =>
      withSessionFile(paths, 'inbound', 'read', (db) =>
        db.prepare('SELECT count(*) FROM destinations').pluck().get(),
      );
    withSessionFile(paths, 'inbound', 'write', (db) => {
      const insert = db.prepare("INSERT INTO destinations (name, kind) VALUES (?, 'channel')");
      db.transaction(() => {
        insert.run('first');
        expect(count()).toBe(1); // the same handle, inside the transaction
        insert.run('second');
      })();
    });
    expect(count()).toBe(2);
  });
});

test('handles unused for IDLE_MS are closed', () => {
  vi.useFakeTimers();
  try {
    insertMessagesIn(paths, [
      { kind: 'system', timestamp: '2026-01-01T00:00:00.000Z', content: { event: 'x' } },
    ]);
    expect(keptFileCount()).toBe(2); // inbound.db, and outbound.db read for its highest seq
    vi.advanceTimersByTime(IDLE_MS * 2);
    expect(keptFileCount()).toBe(0);
  } finally {
    vi.useRealTimers();
  }
});
