// The central schema as SQLite holds it after every migration, for tests that read its CHECKs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCentralDb } from '../../src/db/connection.ts';

/** Each table of a freshly migrated central database with its CREATE TABLE statement. */
export function centralSchemaTables(): { name: string; sql: string }[] {
  const dir = mkdtempSync(join(tmpdir(), 'warren-schema-'));
  const db = openCentralDb(join(dir, 'warren.db'));
  try {
    return db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL")
      .all() as { name: string; sql: string }[];
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
