import { existsSync, mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { INBOUND_DDL, INBOUND_INDEXES, SESSION_SCHEMA_VERSION } from '../../src/shared/session-contract.ts';
import { beforeEach, describe, expect, test } from 'vitest';
import {
  closeKeptFilesUnder,
  createSessionFiles,
  foldAcks,
  insertMessagesIn,
  InvalidMessageError,
  readUndelivered,
  recordDelivered,
  SessionFileError,
  sessionPaths,
  writeDestinations,
  writeRouting,
  type SessionPaths,
} from '../../src/host/sessions/index.ts';
import {
  ackMessages,
  closeRunnerSession,
  openRunnerSession,
  readPendingWork,
  writeMessagesOut,
} from '../../container/agent-runner/src/db/session.ts';

const now = '2026-11-23T10:00:00.000Z';
const chat = (text: string) => ({
  kind: 'chat' as const,
  timestamp: now,
  content: { text, sender: { id: 'webchat:ana' } },
});

let dataDir: string;
let paths: SessionPaths;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'warren-session-'));
  paths = sessionPaths(dataDir, 'ag_1', 'ses_1');
  createSessionFiles(paths);
});

const runnerFor = (p: SessionPaths) =>
  openRunnerSession({ sessionId: p.sessionId, inboundPath: p.inbound, outboundPath: p.outbound });

describe('session folder', () => {
  test('has in/ and out/ with both databases in DELETE journal mode', () => {
    for (const file of [paths.inbound, paths.outbound]) {
      const db = new Database(file, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      db.close();
    }
    expect(paths.inbound).toBe(join(dataDir, 'sessions/ag_1/ses_1/in/inbound.db'));
    expect(paths.outbound).toBe(join(dataDir, 'sessions/ag_1/ses_1/out/outbound.db'));
  });

  test('creating it again keeps every row', () => {
    insertMessagesIn(paths, [chat('hello')]);
    createSessionFiles(paths);
    const runner = runnerFor(paths);
    expect(readPendingWork(runner, now).rows).toHaveLength(1);
    closeRunnerSession(runner);
  });

  test('new files hold exactly the schema a SQLite-made file would, and a crash leftover is ignored', () => {
    const made = sessionPaths(dataDir, 'ag_1', 'ses_made');
    mkdirSync(made.inDir, { recursive: true });
    writeFileSync(`${made.inbound}.new`, 'half a file left by a crash');
    createSessionFiles(made);
    expect(existsSync(`${made.inbound}.new`)).toBe(false);
    const reference = new Database(':memory:');
    reference.exec(INBOUND_DDL + INBOUND_INDEXES);
    const schemaOf = (db: Database.Database) =>
      db.prepare('SELECT type, name, sql FROM sqlite_schema ORDER BY name').all();
    const created = new Database(made.inbound, { readonly: true });
    expect(schemaOf(created)).toEqual(schemaOf(reference));
    expect(created.pragma('user_version', { simple: true })).toBe(SESSION_SCHEMA_VERSION);
    expect(created.pragma('integrity_check', { simple: true })).toBe('ok');
    created.close();
    reference.close();
    expect(readUndelivered(made)).toEqual([]); // the host's strict check of outbound.db passes
  });
});

describe('seq', () => {
  test('host rows get even seqs above the runner rows, runner rows odd seqs above the host rows', () => {
    const [a, b] = insertMessagesIn(paths, [chat('one'), chat('two')]);
    expect([a!.seq, b!.seq]).toEqual([2, 4]);
    const runner = runnerFor(paths);
    const [reply] = writeMessagesOut(runner, [
      { kind: 'chat', timestamp: now, operation: { op: 'send', text: 'hi', files: [] } },
    ]);
    expect(reply!.seq).toBe(5);
    const [c] = insertMessagesIn(paths, [chat('three')]);
    expect(c!.seq).toBe(6);
    closeRunnerSession(runner);
  });
});

describe('the runner and the host see each other', () => {
  test('acks fold into messages_in.status, only for pending rows', () => {
    const [done, failed, untouched] = insertMessagesIn(paths, [chat('a'), chat('b'), chat('c')]);
    const runner = runnerFor(paths);
    ackMessages(runner, [done!.id], 'completed', now);
    ackMessages(runner, [failed!.id], 'failed', now, 'provider error');
    ackMessages(runner, [untouched!.id], 'processing', now);
    expect(foldAcks(paths)).toBe(2);
    expect(foldAcks(paths)).toBe(0);
    const db = new Database(paths.inbound, { readonly: true });
    const statuses = db.prepare('SELECT id, status FROM messages_in ORDER BY seq').all();
    db.close();
    expect(statuses).toEqual([
      { id: done!.id, status: 'completed' },
      { id: failed!.id, status: 'failed' },
      { id: untouched!.id, status: 'pending' },
    ]);
    expect(readPendingWork(runner, now).rows.map((m) => m.id)).toEqual([untouched!.id]);
    closeRunnerSession(runner);
  });

  test('the runner skips rows it finished before the host folded their acks, and keeps seq order', () => {
    const rows = insertMessagesIn(
      paths,
      Array.from({ length: 6 }, (_, i) => chat(`m${i}`)),
    );
    const runner = runnerFor(paths);
    ackMessages(runner, [rows[0]!.id, rows[3]!.id], 'completed', now);
    ackMessages(runner, [rows[4]!.id], 'failed', now, 'provider error');
    ackMessages(runner, [rows[2]!.id], 'processing', now); // claimed by a runner that died
    const pending = readPendingWork(runner, now).rows;
    expect(pending.map((m) => m.id)).toEqual([rows[1]!.id, rows[2]!.id, rows[5]!.id]);
    expect(pending.map((m) => m.seq)).toEqual([...pending.map((m) => m.seq)].sort((a, b) => a - b));
    expect(JSON.parse(pending[0]!.content)).toMatchObject({ text: 'm1' });
    closeRunnerSession(runner);
  });

  test('a message due later is not pending before its time, and the runner learns when it falls due', () => {
    insertMessagesIn(paths, [
      { ...chat('later'), processAfter: '2026-11-23T11:00:00.000Z' },
      { ...chat('sooner'), processAfter: '2026-11-23T10:30:00.000Z' },
    ]);
    const runner = runnerFor(paths);
    expect(readPendingWork(runner, now)).toEqual({ rows: [], nextDueAt: '2026-11-23T10:30:00.000Z' });
    const atHalfPast = readPendingWork(runner, '2026-11-23T10:30:00.000Z');
    expect(atHalfPast.rows.map((m) => JSON.parse(m.content).text)).toEqual(['sooner']);
    expect(atHalfPast.nextDueAt).toBe('2026-11-23T11:00:00.000Z');
    expect(readPendingWork(runner, '2026-11-23T11:00:00.000Z')).toMatchObject({ nextDueAt: null });
    expect(readPendingWork(runner, '2026-11-23T11:00:00.000Z').rows).toHaveLength(2);
    closeRunnerSession(runner);
  });

  test('outbound rows stay undelivered until a delivered record exists, and parse with the shared schema', () => {
    const runner = runnerFor(paths);
    const [first, second] = writeMessagesOut(runner, [
      { kind: 'chat', timestamp: now, operation: { op: 'send', text: 'one', files: [] } },
      { kind: 'chat', timestamp: now, operation: { op: 'react', targetSeq: 2, emoji: 'thumbs_up' } },
    ]);
    expect(readUndelivered(paths).map((m) => m.op?.op)).toEqual(['send', 'react']);
    const delivered = {
      messageOutId: first!.id,
      platformMessageId: 'p1',
      status: 'delivered' as const,
      deliveredAt: now,
    };
    expect(recordDelivered(paths, delivered)).toBe(true);
    expect(recordDelivered(paths, delivered)).toBe(false);
    expect(readUndelivered(paths).map((m) => m.id)).toEqual([second!.id]);
    closeRunnerSession(runner);
  });

  test('an outbound row with invalid content comes back with a reason instead of throwing', () => {
    const db = new Database(paths.outbound);
    db.prepare(
      `INSERT INTO messages_out (id, seq, timestamp, kind, content) VALUES ('bad', 1, ?, 'chat', '{"op":"shout"}')`,
    ).run(now);
    db.close();
    const [row] = readUndelivered(paths);
    expect(row!.op).toBeUndefined();
    expect(row!.error).toMatch(/content is invalid/);
  });

  test('destinations and routing are projections the runner can read', () => {
    writeDestinations(paths, [
      { name: 'ops', kind: 'channel', channelType: 'webchat', platformId: 'ops-room' },
    ]);
    writeDestinations(paths, [{ name: 'team', kind: 'agent', agentGroupId: 'ag_2' }]);
    writeRouting(paths, { channelType: 'webchat', platformId: 'lobby', threadId: null });
    writeRouting(paths, { channelType: 'webchat', platformId: 'lobby', threadId: 't1' });
    const runner = runnerFor(paths);
    expect(runner.inbound.prepare('SELECT name, kind, agent_group_id FROM destinations').all()).toEqual([
      { name: 'team', kind: 'agent', agent_group_id: 'ag_2' },
    ]);
    expect(runner.inbound.prepare('SELECT platform_id, thread_id FROM session_routing').all()).toEqual([
      { platform_id: 'lobby', thread_id: 't1' },
    ]);
    closeRunnerSession(runner);
  });

  test('the same destinations again commit nothing; a changed list is written', () => {
    // Bytes 24-27 of a SQLite file count its commits (the file change counter).
    const commits = () => readFileSync(paths.inbound).readUInt32BE(24);
    const list = [
      { name: 'ops', kind: 'channel' as const, channelType: 'webchat', platformId: 'ops-room' },
      { name: 'team', kind: 'agent' as const, agentGroupId: 'ag_2' },
    ];
    writeDestinations(paths, list);
    const after = commits();
    writeDestinations(paths, [...list].reverse());
    expect(commits()).toBe(after);
    writeDestinations(paths, list.slice(1));
    expect(commits()).toBe(after + 1);
    const runner = runnerFor(paths);
    expect(runner.inbound.prepare('SELECT name FROM destinations').pluck().all()).toEqual(['team']);
    closeRunnerSession(runner);
  });
});

describe('bad input leaves data intact', () => {
  test('a message whose content does not match its kind is refused and nothing is written', () => {
    insertMessagesIn(paths, [chat('kept')]);
    expect(() =>
      insertMessagesIn(paths, [
        chat('would be written'),
        { kind: 'task', timestamp: now, content: { prompt: '' } },
      ]),
    ).toThrow(InvalidMessageError);
    const db = new Database(paths.inbound, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM messages_in').pluck().get()).toBe(1);
    db.close();
  });
});

describe('a broken session file names its session and spares the others', () => {
  const healthy = () => {
    const other = sessionPaths(dataDir, 'ag_1', 'ses_2');
    createSessionFiles(other);
    return insertMessagesIn(other, [chat('still works')]);
  };

  test('a file that is not SQLite at all', () => {
    writeFileSync(paths.inbound, 'these are not the bytes of a database, not even close to it. '.repeat(200));
    expect(() => insertMessagesIn(paths, [chat('x')])).toThrow(SessionFileError);
    expect(() => insertMessagesIn(paths, [chat('x')])).toThrow(
      /session ses_1: inbound\.db is not a SQLite database/,
    );
    expect(healthy()).toHaveLength(1);
  });

  test('a SQLite file whose pages are corrupt', () => {
    insertMessagesIn(
      paths,
      Array.from({ length: 200 }, (_, i) => chat(`row ${i} `.repeat(40))),
    );
    // Damage found when the file is next opened: a kept handle trusts its page cache while the
    // header's change counter, which this damage keeps, says no other writer committed.
    closeKeptFilesUnder(dataDir);
    const bytes = readFileSync(paths.inbound);
    bytes.fill(0xa5, 4096, bytes.length); // keep the header page, destroy every other page
    writeFileSync(paths.inbound, bytes);
    const err = catchError(() => readUndelivered(paths) && insertMessagesIn(paths, [chat('x')]));
    expect(err).toBeInstanceOf(SessionFileError);
    expect((err as SessionFileError).message).toMatch(
      /^session ses_1: inbound\.db (is corrupt|is missing|is not a SQLite)/,
    );
    expect(healthy()).toHaveLength(1);
  });

  test('a database without the contract tables', () => {
    writeFileSync(paths.outbound, '');
    const db = new Database(paths.outbound);
    db.exec('CREATE TABLE something_else (x)');
    db.close();
    expect(() => readUndelivered(paths)).toThrow(
      /session ses_1: outbound\.db out\/outbound\.db has a schema other than the contract/,
    );
    expect(() =>
      openRunnerSession({ sessionId: 'ses_1', inboundPath: paths.inbound, outboundPath: paths.outbound }),
    ).toThrow(SessionFileError);
    expect(healthy()).toHaveLength(1);
  });

  test('a missing file', () => {
    const ghost = sessionPaths(dataDir, 'ag_1', 'ses_ghost');
    expect(() => insertMessagesIn(ghost, [chat('x')])).toThrow(
      /session ses_ghost: outbound\.db does not exist/,
    );
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
