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

/**
 * The same command run in this process, from the commands table (src/host/cli/commands.ts) as the
 * `warren` entry runs it, for tables of bad input: a process per case is slow on a small machine.
 * `help` and config loading from the command line are the entry's, not covered here.
 */
export async function runWarrenInProcess(
  argv: string[],
  options: { dataDir: string; hostRunning?: boolean },
): Promise<CliResult> {
  const { COMMANDS, parseCommandLine } = await import('../../src/host/cli/commands.ts');
  const { loadConfig } = await import('../../src/host/config.ts');
  const { positionals, values } = parseCommandLine(argv);
  const [name, ...args] = positionals;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) throw new Error(`no command ${String(name)}`);
  const out = { stdout: '', stderr: '' };
  const terminal = {
    now: new Date(),
    write: (text: string) => void (out.stdout += text),
    fail: (text: string) => void (out.stderr += text),
  };
  const code = await command.run({
    args,
    flags: values,
    config: loadConfig({ flags: { dataDir: options.dataDir }, env: {}, cwd: process.cwd() }),
    terminal,
    operator: () => ({ ...terminal, actor: 'cli:test' }),
    hostRunning: () => Promise.resolve(options.hostRunning ?? false),
  });
  return { code, ...out };
}
