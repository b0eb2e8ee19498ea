// db.prepare compiling once per SQL text (src/shared/statement-cache.ts), on a real in-memory database.
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { cacheStatements } from '../../src/shared/statement-cache.ts';

const db = () => {
  const d = cacheStatements(new Database(':memory:'));
  d.exec("CREATE TABLE t (a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x'), (2, 'y')");
  return d;
};

test('the same SQL text gives the same compiled statement', () => {
  const d = db();
  expect(d.prepare('SELECT a FROM t')).toBe(d.prepare('SELECT a FROM t'));
  expect(d.prepare('SELECT a FROM t')).not.toBe(d.prepare('SELECT b FROM t'));
});

test('a statement comes back in its default mode whatever the last caller set', () => {
  const d = db();
  const sql = 'SELECT a, b FROM t ORDER BY a';
  expect(d.prepare(sql).pluck().all()).toEqual([1, 2]);
  expect(d.prepare(sql).all()).toEqual([
    { a: 1, b: 'x' },
    { a: 2, b: 'y' },
  ]);
  expect(d.prepare(sql).raw().get()).toEqual([1, 'x']);
  expect(d.prepare(sql).get()).toEqual({ a: 1, b: 'x' });
  expect(d.prepare(sql).expand().get()).toEqual({ t: { a: 1, b: 'x' } });
  expect(d.prepare(sql).get()).toEqual({ a: 1, b: 'x' });
});

test('writes and schema changes still work through cached statements', () => {
  const d = db();
  const insert = "INSERT INTO t VALUES (?, 'z')";
  d.prepare(insert).run(3);
  d.exec('ALTER TABLE t ADD COLUMN c TEXT');
  d.prepare(insert.replace("'z')", "'z', 'c')")).run(4);
  expect(d.prepare('SELECT count(*) FROM t').pluck().get()).toBe(4);
});

test('SQL built from input cannot grow the cache without bound', () => {
  const d = db();
  const first = d.prepare('SELECT 0');
  for (let i = 1; i <= 600; i++) d.prepare(`SELECT ${i}`);
  expect(d.prepare('SELECT 0')).not.toBe(first); // compiled again after the cache started afresh
});
