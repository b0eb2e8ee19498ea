// The real `warren` command as an operator runs it: `node bin/warren.js …` from the repository root,
// its exit code and output returned whether it succeeds or fails.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `warren <args>` (with `--data-dir <dataDir>` when given) talking to WARREN_PORT `port`. */
export function runWarrenCli(
  args: string[],
  options: { dataDir?: string; port?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const dataDirArgs = options.dataDir === undefined ? [] : ['--data-dir', options.dataDir];
  return run(process.execPath, ['bin/warren.js', ...args, ...dataDirArgs], {
    env: { ...process.env, WARREN_PORT: options.port ?? '1', ...options.env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: CliResult) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}
