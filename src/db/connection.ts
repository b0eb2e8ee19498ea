import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrate.ts';
import { cacheStatements } from '../shared/statement-cache.ts';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the central database with the settings every caller relies on,
 * and brings its schema up to date. Throws MigrationError, before touching data, when the
 * schema on disk cannot be trusted by this code.
 */
export function openCentralDb(file: string): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = cacheStatements(new Database(file));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
