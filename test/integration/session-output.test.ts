// The host's reader of a session's out/ (src/host/sessions/output.ts, outbound.ts) against what a
// compromised container can write there: links, FIFOs, foreign schemas, huge and deep rows. Real files,
// real SQLite; each attack must fail alone, with a reason, and never reach outside the session.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  createSessionFiles,
  heartbeatAt,
  insertMessagesIn,
  readOutboundPage,
  removeOutboxFolder,
  sessionPaths,
  SessionUnsafeError,
  stageOutboxFiles,
  OUTPUT_LIMITS,
  type SessionPaths,
} from '../../src/host/sessions/index.ts';
import { jsonDepthExceeds } from '../../src/host/sessions/outbound.ts';

let root: string;
let paths: SessionPaths;
/** A host file no session may read, send or delete. */
let secret: string;
let outside: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'warren-output-'));
  paths = sessionPaths(join(root, 'data'), 'ag_1', 'ses_1');
  createSessionFiles(paths);
  outside = join(root, 'outside');
  mkdirSync(outside);
  secret = join(outside, 'secrets.json');
  writeFileSync(secret, '{"ANTHROPIC_API_KEY":"sk-canary"}');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Writes rows the way a container can: its own SQLite handle on out/outbound.db, checks off. */
function writeRows(rows: Record<string, unknown>[]): void {
  const db = new Database(paths.outbound);
  db.pragma('ignore_check_constraints = ON');
  const insert =
    db.prepare(`INSERT INTO messages_out (id, seq, timestamp, kind, content, platform_id, channel_type)
    VALUES (@id, @seq, @timestamp, @kind, @content, @platform_id, @channel_type)`);
  for (const row of rows) {
    insert.run({
      timestamp: '2026-01-01T00:00:00.000Z',
      kind: 'chat',
      platform_id: null,
      channel_type: null,
      ...row,
    });
  }
  db.close();
}

const send = (text: string, files: string[] = []) => JSON.stringify({ op: 'send', text, files });

describe('outbound.db that is not a plain database', () => {
  test('a symlink to a host file is refused without reading the target', () => {
    rmSync(paths.outbound);
    symlinkSync(secret, paths.outbound);
    expect(() => readOutboundPage(paths)).toThrow(SessionUnsafeError);
    expect(() => readOutboundPage(paths)).toThrow(/symbolic link|cannot be linked/);
    expect(readFileSync(secret, 'utf8')).toContain('sk-canary');
  });

  test('a FIFO is refused at once instead of blocking the host', () => {
    rmSync(paths.outbound);
    execFileSync('mkfifo', [paths.outbound]);
    const started = performance.now();
    expect(() => readOutboundPage(paths)).toThrow(/outbound\.db is a FIFO, not a regular file/);
    expect(() =>
      insertMessagesIn(paths, [{ kind: 'system', timestamp: 't', content: { event: 'x' } }]),
    ).toThrow(SessionUnsafeError);
    expect(performance.now() - started).toBeLessThan(500);
  });

  test('a folder in its place is refused', () => {
    rmSync(paths.outbound);
    mkdirSync(paths.outbound);
    expect(() => readOutboundPage(paths)).toThrow(SessionUnsafeError);
  });

  test.each([
    ['a trigger', 'CREATE TRIGGER t AFTER DELETE ON messages_out BEGIN DELETE FROM session_state; END'],
    ['a view', 'CREATE VIEW v AS SELECT * FROM messages_out'],
    ['an index', 'CREATE INDEX i ON messages_out(content)'],
    ['an extra table', 'CREATE TABLE extra (x)'],
  ])('a schema with %s is refused', (_what, sql) => {
    const db = new Database(paths.outbound);
    db.exec(sql);
    db.close();
    expect(() => readOutboundPage(paths)).toThrow(/schema other than the contract/);
  });

  test('a generated column in place of the contract table is refused', () => {
    const db = new Database(paths.outbound);
    db.exec(`DROP TABLE messages_out;
      CREATE TABLE messages_out (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, in_reply_to TEXT,
        timestamp TEXT NOT NULL, deliver_after TEXT, kind TEXT NOT NULL, platform_id TEXT, channel_type TEXT,
        thread_id TEXT, content TEXT GENERATED ALWAYS AS (hex(zeroblob(500000000))) VIRTUAL)`);
    db.close();
    expect(() => readOutboundPage(paths)).toThrow(/schema other than the contract/);
  });

  test('garbage bytes are refused as not a database', () => {
    writeFileSync(paths.outbound, Buffer.alloc(8192, 7));
    expect(() => readOutboundPage(paths)).toThrow(SessionUnsafeError);
  });

  test('a seq past 2^52 makes the session unusable instead of breaking seq order', () => {
    writeRows([{ id: 'out_big', seq: 2 ** 53 + 1, content: send('x') }]);
    expect(() =>
      insertMessagesIn(paths, [{ kind: 'system', timestamp: 't', content: { event: 'x' } }]),
    ).toThrow(/past 2\^52/);
  });
});

describe('rows', () => {
  test('each bad row fails alone with its reason; good rows around it are read', () => {
    writeRows([
      { id: 'out_ok1', seq: 1, content: send('first') },
      { id: '../../..', seq: 3, content: send('traversal') },
      { id: 'out_big', seq: 5, content: send('x'.repeat(OUTPUT_LIMITS.maxContentBytes + 1)) },
      { id: 'out_deep', seq: 7, content: '['.repeat(100_000) + ']'.repeat(100_000) },
      { id: 'out_kind', seq: 9, kind: 'evil', content: send('x') },
      { id: 'out_even', seq: 10, content: send('x') },
      { id: 'out_addr', seq: 11, platform_id: 'p'.repeat(10_000), content: send('x') },
      { id: 'out_json', seq: 13, content: '{"op":"send",' },
      { id: 'out_text_seq', seq: 'fifteen', content: send('x') },
      { id: 'out_ok2', seq: 17, content: send('last') },
    ]);
    const page = readOutboundPage(paths);
    const byId = new Map(page.rows.map((r) => [r.id, r]));
    expect(byId.get('out_ok1')?.op).toMatchObject({ op: 'send', text: 'first' });
    expect(byId.get('out_ok2')?.op).toMatchObject({ op: 'send', text: 'last' });
    expect(byId.get('seq_3')?.error).toMatch(/id/);
    expect(byId.get('out_big')?.error).toMatch(/content over the size limit/);
    expect(byId.get('out_deep')?.error).toMatch(/nests deeper than 64/);
    expect(byId.get('out_kind')?.error).toMatch(/kind/);
    expect(byId.get('out_even')?.error).toMatch(/odd/);
    expect(byId.get('out_addr')?.error).toMatch(/platform_id over the size limit/);
    expect(byId.get('out_json')?.error).toMatch(/not JSON/);
    expect(page.rows.some((r) => r.id === 'out_text_seq')).toBe(false); // never read: its seq is no integer
    expect(page.rows).toHaveLength(9);
  });

  test('a 100 MB row is refused without being read into memory', () => {
    const db = new Database(paths.outbound);
    db.prepare(
      `INSERT INTO messages_out (id, seq, timestamp, kind, content)
      VALUES ('out_huge', 1, 't', 'chat', printf('"%.*c"', 100000000, 'a'))`,
    ).run();
    db.close();
    const heapBefore = process.memoryUsage().rss;
    const started = performance.now();
    const page = readOutboundPage(paths);
    const ms = performance.now() - started;
    expect(page.rows[0]?.error).toMatch(/content over the size limit/);
    expect(process.memoryUsage().rss - heapBefore).toBeLessThan(100 * 1024 * 1024);
    expect(ms).toBeLessThan(1000);
  }, 60_000);

  test('rows are read in bounded pages', () => {
    writeRows(
      Array.from({ length: OUTPUT_LIMITS.rowsPerPage + 5 }, (_, i) => ({
        id: `out_${i}`,
        seq: 2 * i + 1,
        content: send(`m${i}`),
      })),
    );
    const first = readOutboundPage(paths);
    expect(first.rows).toHaveLength(OUTPUT_LIMITS.rowsPerPage);
    expect(first.more).toBe(true);
    const second = readOutboundPage(paths, first.lastSeq);
    expect(second.rows.map((r) => r.id)).toEqual(['out_100', 'out_101', 'out_102', 'out_103', 'out_104']);
    expect(second.more).toBe(false);
  });

  test('the JSON depth check is linear and skips brackets inside strings', () => {
    expect(jsonDepthExceeds('{"a":"[[[[[[[[[["}', 3)).toBe(false);
    expect(jsonDepthExceeds('[[[[', 3)).toBe(true);
    expect(jsonDepthExceeds('"\\"[[[["', 2)).toBe(false);
    const deep = '['.repeat(1_000_000);
    const started = performance.now();
    expect(jsonDepthExceeds(deep, 64)).toBe(true);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('outbox files', () => {
  const folder = (id: string) => join(paths.outbox, id);

  test('a plain file is copied into the host folder and released after use', async () => {
    mkdirSync(folder('out_1'));
    writeFileSync(join(folder('out_1'), 'chart.png'), 'PNG');
    const staged = await stageOutboxFiles(paths, 'out_1', ['chart.png']);
    if (!staged.ok) throw new Error(staged.error);
    expect(staged.files[0]!.path.startsWith(paths.hostDir)).toBe(true);
    expect(readFileSync(staged.files[0]!.path, 'utf8')).toBe('PNG');
    await staged.release();
    expect(existsSync(staged.files[0]!.path)).toBe(false);
  });

  test('a symlinked file is refused', async () => {
    mkdirSync(folder('out_1'));
    symlinkSync(secret, join(folder('out_1'), 'key.txt'));
    const staged = await stageOutboxFiles(paths, 'out_1', ['key.txt']);
    expect(staged).toMatchObject({ ok: false, error: expect.stringMatching(/symbolic link/) });
  });

  test('a symlinked message folder is refused', async () => {
    symlinkSync(outside, folder('out_1'));
    const staged = await stageOutboxFiles(paths, 'out_1', ['secrets.json']);
    expect(staged).toMatchObject({ ok: false, error: expect.stringMatching(/not a folder of the session/) });
  });

  test('an outbox replaced by a symlink is refused', async () => {
    rmSync(paths.outbox, { recursive: true });
    symlinkSync(root, paths.outbox);
    const staged = await stageOutboxFiles(paths, 'outside', ['secrets.json']);
    expect(staged).toMatchObject({ ok: false, error: expect.stringMatching(/out\/outbox is not a folder/) });
  });

  test('a FIFO is refused at once', async () => {
    mkdirSync(folder('out_1'));
    execFileSync('mkfifo', [join(folder('out_1'), 'pipe.txt')]);
    const staged = await stageOutboxFiles(paths, 'out_1', ['pipe.txt']);
    expect(staged).toMatchObject({ ok: false, error: expect.stringMatching(/a FIFO/) });
  });

  test('a file over the cap is refused as too large', async () => {
    mkdirSync(folder('out_1'));
    writeFileSync(join(folder('out_1'), 'big.bin'), Buffer.alloc(OUTPUT_LIMITS.maxFileBytes + 1));
    const staged = await stageOutboxFiles(paths, 'out_1', ['big.bin']);
    expect(staged).toMatchObject({ ok: false, code: 'too_large' });
  });

  test.each([['../outside/secrets.json'], ['.hidden'], ['a/b'], ['..']])(
    'file name %s is refused',
    async (name) => {
      const staged = await stageOutboxFiles(paths, 'out_1', [name]);
      expect(staged).toMatchObject({ ok: false, code: 'invalid_request' });
    },
  );

  test('a traversal id, a symlinked folder or a symlinked outbox delete nothing outside', async () => {
    await removeOutboxFolder(paths, '../../..');
    symlinkSync(outside, folder('out_link'));
    await removeOutboxFolder(paths, 'out_link');
    expect(existsSync(secret)).toBe(true);
    rmSync(paths.outbox, { recursive: true });
    symlinkSync(root, paths.outbox);
    await removeOutboxFolder(paths, 'outside');
    expect(existsSync(secret)).toBe(true);
  });

  test('a delivered message folder is removed, a nested folder inside it is left', async () => {
    mkdirSync(join(folder('out_1'), 'nested'), { recursive: true });
    writeFileSync(join(folder('out_1'), 'a.txt'), 'a');
    mkdirSync(folder('out_2'));
    writeFileSync(join(folder('out_2'), 'b.txt'), 'b');
    await removeOutboxFolder(paths, 'out_1');
    await removeOutboxFolder(paths, 'out_2');
    expect(existsSync(join(folder('out_1'), 'a.txt'))).toBe(false);
    expect(existsSync(join(folder('out_1'), 'nested'))).toBe(true);
    expect(existsSync(folder('out_2'))).toBe(false);
  });
});

describe('heartbeat', () => {
  test('no file is no heartbeat; a file of any kind gives its time without being opened', () => {
    expect(heartbeatAt(paths)).toBeNull();
    execFileSync('mkfifo', [paths.heartbeat]);
    expect(heartbeatAt(paths)).toBeGreaterThan(0);
    rmSync(paths.heartbeat);
    symlinkSync(secret, paths.heartbeat);
    expect(heartbeatAt(paths)).toBeGreaterThan(0);
  });

  test('an unreadable out/ folder is an error, not "no heartbeat"', () => {
    renameSync(paths.outDir, `${paths.outDir}.moved`);
    writeFileSync(paths.outDir, 'not a folder');
    expect(() => heartbeatAt(paths)).toThrow(/heartbeat cannot be read/);
  });
});
