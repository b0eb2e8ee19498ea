// Compiling a statement costs more than running most of Warren's: the host's and the runner's hot
// paths call `db.prepare(sql)` where they use it, so each connection keeps what it compiled, by SQL text.
import type Database from 'better-sqlite3';

/** Distinct SQL texts kept per connection; past it the cache starts afresh (SQL built from input). */
const MAX_STATEMENTS = 500;

/**
 * Makes `db.prepare` compile each SQL text once. A statement comes back in its default mode (not
 * raw, plucked or expanded), so callers keep writing `db.prepare(sql).pluck().get()`. Two uses of
 * one SQL text share a statement object: one must not hold it (iterate, bind) while the other runs.
 */
export function cacheStatements<T extends Database.Database>(db: T): T {
  const compiled = new Map<string, Database.Statement>();
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    let statement = compiled.get(sql);
    if (!statement) {
      if (compiled.size >= MAX_STATEMENTS) compiled.clear();
      statement = prepare(sql);
      compiled.set(sql, statement);
    } else if (statement.reader) {
      statement.raw(false).pluck(false).expand(false);
    }
    return statement;
  }) as T['prepare'];
  return db;
}
