// The central database for a `warren` command that works on it whether or not the host runs: `help`
// prints the command's usage, a missing database says how to make one, an error the command throws
// (no such user, a refused change) is printed under the command's name, and the handle is always closed.
import { existsSync } from 'node:fs';
import { openCentralDb, type Db } from '../../db/connection.ts';
import type { Config } from '../config.ts';
import { errorText } from '../../shared/error-text.ts';

export interface CentralDbCommand {
  /** The command after `warren`, e.g. `users`. */
  name: string;
  /** The subcommand, named in the message of an error it throws. */
  sub: string | undefined;
  /** Printed for `warren NAME help`; without it `help` is left to the command. */
  usage?: string;
}

export interface CentralDbIo {
  config: Config;
  write: (text: string) => void;
  fail: (text: string) => void;
}

/** Runs `work` on the open central database; resolves with the command's exit code. */
export async function withCentralDb(
  command: CentralDbCommand,
  io: CentralDbIo,
  work: (db: Db) => number | Promise<number>,
): Promise<number> {
  const { name, sub, usage } = command;
  if (sub === 'help' && usage !== undefined) {
    io.write(usage);
    return 0;
  }
  if (!existsSync(io.config.centralDbPath)) {
    io.fail(
      `warren ${name}: no database at ${io.config.centralDbPath}; run warren init (or pass --data-dir)\n`,
    );
    return 1;
  }
  const db = openCentralDb(io.config.centralDbPath);
  try {
    return await work(db);
  } catch (err) {
    const what = sub === undefined ? name : `${name} ${sub}`;
    io.fail(`warren ${what}: ${errorText(err)}\n`);
    return 1;
  } finally {
    db.close();
  }
}
