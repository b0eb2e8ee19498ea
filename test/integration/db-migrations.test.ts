import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { openCentralDb } from '../../src/db/connection.ts';
import { migrate, MigrationError, type Migration } from '../../src/db/migrate.ts';
import { MIGRATIONS } from '../../src/db/migrations/index.ts';

const dbFile = () => join(mkdtempSync(join(tmpdir(), 'warren-')), 'warren.db');

function snapshot(db: Database.Database) {
  return {
    schema: db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all(),
    migrations: db.prepare('SELECT * FROM schema_migrations ORDER BY version').all(),
  };
}

test('migrations apply to an empty database and running them again changes nothing', () => {
  const db = new Database(dbFile());
  expect(migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
  const before = snapshot(db);
  expect(migrate(db)).toEqual([]);
  expect(snapshot(db)).toEqual(before);
  db.close();
});

test('an applied migration that was edited since is refused with a checksum error and nothing changes', () => {
  const db = new Database(dbFile());
  migrate(db);
  const before = snapshot(db);
  const edited: Migration[] = MIGRATIONS.map((m, i) =>
    i === 0 ? { ...m, sql: `${m.sql}\nCREATE TABLE sneaky (x);` } : m,
  );
  const next: Migration = {
    version: MIGRATIONS.length + 1,
    name: 'next',
    sql: 'CREATE TABLE next_table (x);',
  };
  expect(() => migrate(db, [...edited, next])).toThrow(MigrationError);
  expect(() => migrate(db, [...edited, next])).toThrow(/checksum/);
  expect(snapshot(db)).toEqual(before);
  db.close();
});

test('a database migrated by newer code is refused as newer than this code', () => {
  const file = dbFile();
  const db = new Database(file);
  const future: Migration = {
    version: MIGRATIONS.length + 1,
    name: 'future',
    sql: 'CREATE TABLE future (x);',
  };
  migrate(db, [...MIGRATIONS, future]);
  expect(() => migrate(db)).toThrow(/newer than this code/);
  db.close();
  expect(() => openCentralDb(file)).toThrow(MigrationError);
});

test('a migration that fails half-way leaves no trace and is not recorded', () => {
  const db = new Database(dbFile());
  migrate(db);
  const before = snapshot(db);
  const broken: Migration = {
    version: MIGRATIONS.length + 1,
    name: 'broken',
    sql: 'CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);',
  };
  expect(() => migrate(db, [...MIGRATIONS, broken])).toThrow(/no such table/);
  expect(snapshot(db)).toEqual(before);
  db.close();
});

test('the central database opens in WAL mode with foreign keys enforced', () => {
  const db = openCentralDb(dbFile());
  expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
  db.close();
});

test('migration 007 keeps every delivery attempt and lets host notices outside a session be recorded', () => {
  const db = new Database(dbFile());
  migrate(db, MIGRATIONS.slice(0, 6));
  const now = '2026-12-01T10:00:00.000Z';
  db.prepare(
    "INSERT INTO agent_groups (id, name, folder, created_at, updated_at) VALUES ('ag_a', 'A', 'a', ?, ?)",
  ).run(now, now);
  db.prepare(
    "INSERT INTO sessions (id, agent_group_id, thread_id, created_at) VALUES ('ses_1', 'ag_a', 't', ?)",
  ).run(now);
  const attempt = (sessionId: string | null, messageOutId: string) =>
    db
      .prepare(
        `INSERT INTO delivery_attempts (session_id, message_out_id, attempt, idempotency_key, channel_type,
           status, started_at) VALUES (?, ?, 1, 'k', 'webchat', 'delivered', ?)`,
      )
      .run(sessionId, messageOutId, now);
  attempt('ses_1', 'msg_1');
  const before = db.prepare('SELECT * FROM delivery_attempts').all();
  expect(() => attempt(null, 'notice:control:mg_1:p1')).toThrow(/NOT NULL/);

  expect(migrate(db, MIGRATIONS.slice(0, 7))).toEqual([7]);
  expect(db.prepare('SELECT * FROM delivery_attempts').all()).toEqual(before);
  attempt(null, 'notice:control:mg_1:p1');
  expect(() => attempt(null, 'notice:control:mg_1:p1')).toThrow(/UNIQUE/);
  expect(() => attempt(null, 'msg_2')).toThrow(/CHECK/);
  db.close();
});
