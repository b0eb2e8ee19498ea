// The `warren` command: finds the command in the table (commands.ts), answers its help, or loads the
// config and runs it.
import { userInfo } from 'node:os';
import { errorText } from '../../shared/error-text.ts';
import { loadConfig, type Config } from '../config.ts';
import { restrictNewFileModes } from '../data-folder.ts';
import { COMMANDS, parseCommandLine, type CommandContext, type Flags } from './commands.ts';
import { answerHelp } from './help.ts';

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseCommandLine(argv);
  const help = answerHelp(positionals, values.help === true);
  if (help) {
    (help.toStderr ? process.stderr : process.stdout).write(help.text);
    return help.code;
  }
  const [name, ...args] = positionals;
  const command = COMMANDS[name!]!;
  const config = loadConfig({
    flags: { dataDir: values['data-dir'], groupsDir: values['groups-dir'], port: values.port },
    env: process.env,
    cwd: process.cwd(),
  });
  // Files a command creates (the data folder, its database, exports) are the operator's alone.
  restrictNewFileModes();
  return command.run(contextOf(args, values, config));
}

function contextOf(args: string[], flags: Flags, config: Config): CommandContext {
  const terminal = {
    now: new Date(),
    write: (text: string) => void process.stdout.write(text),
    fail: (text: string) => void process.stderr.write(text),
  };
  return {
    args,
    flags,
    config,
    terminal,
    // Asked only by the commands that act: a uid without a name must not stop `warren start`.
    operator: () => ({ ...terminal, actor: `cli:${userInfo().username}` }),
    // Anything answering on the host's port counts: a host that is up but busy must not be missed.
    hostRunning: () =>
      fetch(`http://${config.host}:${config.port}/webchat/`, { signal: AbortSignal.timeout(1000) }).then(
        () => true,
        () => false,
      ),
  };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Known failures (bad config, refused migration, no engine) carry a message meant for the operator.
    process.stderr.write(`warren: ${errorText(err)}\n`);
    process.exit(1);
  },
);
