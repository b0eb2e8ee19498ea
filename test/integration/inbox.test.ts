// Files people send, stored under a session's in/inbox/: every name, type and size is hostile input.
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, test } from 'vitest';
import {
  checkedType,
  createSessionFiles,
  insertMessagesIn,
  safeFileName,
  sessionPaths,
  storeInboxFiles,
  type SessionPaths,
} from '../../src/host/sessions/index.ts';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const file = (name: string, data: string | Buffer = 'hello', type = 'text/plain') => ({
  name,
  type,
  data: Buffer.isBuffer(data) ? data : Buffer.from(data),
});

let dir: string;
let paths: SessionPaths;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-inbox-'));
  paths = sessionPaths(join(dir, 'data'), 'ag_1', 'sess_1');
  createSessionFiles(paths);
});

const filesIn = (id: string) => readdirSync(join(paths.inbox, id)).sort();

describe('a hostile name becomes a plain file inside the message folder', () => {
  test.each([
    ['../../etc/passwd', 'passwd'],
    ['a/b', 'b'],
    ['..\\..\\boot.ini', 'boot.ini'],
    ['..', 'file'],
    ['.bashrc', 'bashrc'],
    ['evil\u0000.txt', 'evil.txt'],
    ['line\nbreak\r.txt', 'linebreak.txt'],
    ['right\u202eto-left.txt', 'rightto-left.txt'],
    ['  spaced   out  ', 'spaced out'],
    ['', 'file'],
    ['a:b|c?.txt', 'abc.txt'],
  ])('%j is stored as %j', (name, stored) => {
    expect(safeFileName(name)).toBe(stored);
    const { attachments } = storeInboxFiles(paths, 'in_1', [file(name)]);
    expect(attachments).toEqual([
      { name: stored, type: 'text/plain', size: 5, path: `inbox/in_1/${stored}` },
    ]);
    expect(filesIn('in_1')).toEqual([stored]);
    expect(readFileSync(join(paths.inbox, 'in_1', stored), 'utf8')).toBe('hello');
  });

  test('a 300-character name is cut to 120 bytes, its extension kept, never inside a character', () => {
    const long = `${'é'.repeat(150)}.pdf`;
    const name = safeFileName(long);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(120);
    expect(name).toMatch(/^é+\.pdf$/);
    expect(safeFileName('x'.repeat(300))).toBe('x'.repeat(120));
  });

  test('the same name twice (in any case) gets a number, so no file replaces another', () => {
    const { attachments } = storeInboxFiles(paths, 'in_2', [
      file('a.txt', 'one'),
      file('A.txt', 'two'),
      file('sub/a.txt', 'three'),
    ]);
    expect(attachments.map((a) => a.name)).toEqual(['a.txt', 'A (2).txt', 'a (3).txt']);
    expect(readFileSync(join(paths.inbox, 'in_2', 'a (3).txt'), 'utf8')).toBe('three');
  });

  // Found by the web chat fuzz test: the number made a name at the limit longer than the limit.
  test('a repeated name at the length limit stays within it when numbered', () => {
    const long = `${'x'.repeat(300)}.txt`;
    const { attachments } = storeInboxFiles(paths, 'in_2b', [file(long), file(long)]);
    expect(attachments.map((a) => Buffer.byteLength(a.name))).toEqual([120, 120]);
    expect(attachments[1]!.name).toBe(`${'x'.repeat(112)} (2).txt`);
  });

  test('files and the message folder are private to the host user (0600 / 0700), nothing is executable', () => {
    storeInboxFiles(paths, 'in_3', [file('run.sh', '#!/bin/sh\necho hi\n', 'application/x-sh')]);
    expect(lstatSync(join(paths.inbox, 'in_3')).mode & 0o777).toBe(0o700);
    expect(lstatSync(join(paths.inbox, 'in_3', 'run.sh')).mode & 0o777).toBe(0o600);
  });

  test('a message id that is not one is refused before anything is written', () => {
    expect(() => storeInboxFiles(paths, '../in_x', [file('a')])).toThrow(/not a message id/);
    expect(readdirSync(paths.inbox)).toEqual([]);
  });
});

describe('caps', () => {
  const limits = { maxFileBytes: 10, maxMessageBytes: 15 };

  test('a file over the per-file cap is not stored and is named for the agent', () => {
    const stored = storeInboxFiles(paths, 'in_4', [file('big.bin', 'x'.repeat(11)), file('ok.txt')], limits);
    expect(stored.attachments.map((a) => a.name)).toEqual(['ok.txt']);
    expect(stored.refused).toEqual([
      '[file not stored: big.bin (11 bytes), larger than the 10 bytes a file may have]',
    ]);
    expect(filesIn('in_4')).toEqual(['ok.txt']);
  });

  test('files past the per-message cap (in the order sent) are not stored; a later small one still fits', () => {
    const stored = storeInboxFiles(
      paths,
      'in_5',
      [file('a', 'x'.repeat(10)), file('b', 'x'.repeat(6)), file('c', 'x'.repeat(5))],
      limits,
    );
    expect(stored.attachments.map((a) => a.name)).toEqual(['a', 'c']);
    expect(stored.refused).toEqual([
      "[file not stored: b (6 bytes), past the 15 bytes one message's files may have]",
    ]);
  });

  test('only refused files: no folder at all', () => {
    const stored = storeInboxFiles(paths, 'in_6', [file('big', 'x'.repeat(11))], limits);
    expect(stored.attachments).toEqual([]);
    expect(readdirSync(paths.inbox)).toEqual([]);
  });
});

describe('declared types', () => {
  test.each([
    ['image/png', PNG, 'image/png'],
    ['IMAGE/PNG; charset=x', PNG, 'image/png'],
    ['image/png', Buffer.from('MZ\x90\x00 not a png'), 'application/octet-stream'],
    ['application/pdf', Buffer.from('<script>'), 'application/octet-stream'],
    ['text/plain; charset=utf-8', Buffer.from('hi'), 'text/plain'],
    ['text/html\r\nx-evil: 1', Buffer.from('hi'), 'application/octet-stream'],
    ['not a type', Buffer.from('hi'), 'application/octet-stream'],
    ['', Buffer.from('hi'), 'application/octet-stream'],
    ['../../x/y', Buffer.from('hi'), 'application/octet-stream'],
  ])('%j (bytes %#) is shown as %j', (declared, data, shown) => {
    expect(checkedType(declared, data)).toBe(shown);
  });
});

describe('idempotent and atomic', () => {
  test('a replay of a message whose row exists returns the same entries and writes nothing', () => {
    const first = storeInboxFiles(paths, 'in_7', [file('a.txt', 'first')]);
    insertMessagesIn(paths, [chatRow('in_7', first.attachments)]);
    const inode = lstatSync(join(paths.inbox, 'in_7', 'a.txt')).ino;
    expect(storeInboxFiles(paths, 'in_7', [file('a.txt', 'first')])).toEqual(first);
    expect(lstatSync(join(paths.inbox, 'in_7', 'a.txt')).ino).toBe(inode);
    // Like the row (the first write wins), the files are never replaced once the row exists.
    storeInboxFiles(paths, 'in_7', [file('a.txt', 'other')]);
    expect(readFileSync(join(paths.inbox, 'in_7', 'a.txt'), 'utf8')).toBe('first');
  });

  test('an earlier attempt whose row was never written is replaced whole, with no staging left behind', () => {
    storeInboxFiles(paths, 'in_8', [file('old.txt'), file('gone.txt')]);
    mkdirSync(join(paths.inbox, '.tmp-in_8-deadbeef'));
    storeInboxFiles(paths, 'in_8', [file('new.txt')]);
    expect(filesIn('in_8')).toEqual(['new.txt']);
    expect(readdirSync(paths.inbox)).toEqual(['in_8']);
  });
});

describe('links planted in the inbox are never followed', () => {
  // The container mounts in/ read-only (DESIGN §3), so it cannot plant these; the inbox still never
  // follows a link, whoever made it.
  test('a link in place of the message folder is replaced, its target untouched', () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, join(paths.inbox, 'in_9'));
    storeInboxFiles(paths, 'in_9', [file('passwd', 'pwned')]);
    expect(readdirSync(outside)).toEqual([]);
    expect(lstatSync(join(paths.inbox, 'in_9')).isDirectory()).toBe(true);
    expect(filesIn('in_9')).toEqual(['passwd']);
  });

  test('a link in place of in/inbox itself stops the write, nothing lands at its target', () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    rmdirSync(paths.inbox);
    symlinkSync(outside, paths.inbox);
    expect(() => storeInboxFiles(paths, 'in_10', [file('a.txt')])).toThrow(/not a folder/);
    expect(readdirSync(outside)).toEqual([]);
  });
});

function chatRow(id: string, attachments: unknown[]) {
  return {
    id,
    kind: 'chat' as const,
    timestamp: '2026-01-01T00:00:00.000Z',
    content: { text: '', sender: { id: 'webchat:ana' }, attachments },
  };
}
