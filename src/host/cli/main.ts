// The `warren` command: finds the command in the table (commands.ts), answers its help, or loads the
// config and runs it.
import { userInfo } from 'node:os';
import { errorText } from '../../shared/error-text.ts';
import { loadConfig, type Config } from '../config.ts';
import { restrictNewFileModes } from '../data-folder.ts';
import { COMMANDS, parseCommandLine, type CommandContext, type Flags } from './commands.ts';

const USAGE = `usage: warren <command> [options]

commands:
  init     create the data folder, the central database and the default agent group
  start    run the host (web chat, API and agents) on 127.0.0.1
  chat     talk to the main agent from this terminal (the host must be running)
  status   what is wrong, on one screen: host, engine, containers, channels, approvals, failures [--json]
  doctor   checks permissions, database, engine and image, channel credentials, models and keys [--json]
  tasks    scheduled tasks: list [--all] [--json] | show ID | run-now ID | pause ID | resume ID | cancel ID
  approvals  list [--all] | show ID | approve ID --hash HASH [--note T] [--choice ID] [--edited F] | reject ID
  tokens   admin API tokens: create NAME [--user USER] | list | revoke ID
  login-link USER [--minutes N]  a one-time link that signs a browser in to the web chat as USER
           login-link --admin [USER]: a one-time link to the dashboard (/admin/), for an owner or admin
  cron     cron next "<expr>" [--tz ZONE] [--from ISO] [--count N]: the next run times, in UTC
  groups   agent groups and their models: list [--json] | show NAME | model NAME [model options]
           (warren groups help: the model options)
  usage    tokens used per agent group and user: [--group NAME] [--user ID] [--since ISO] [--json]
  users    list | show | add | suspend | activate | link | unlink | merge | bind-code | budget | unmapped
           | export | delete  (warren users help, warren roles help: details)
  roles    list [USER] | grant USER ROLE [--group G] | revoke USER ROLE [--group G]  (owner, admin, member)
  dropped  messages that were not routed, and why (unknown senders, caps on agent messages, …)
  channels chat platforms: add PLATFORM [--name N] [--mode M] | list [--json] | test NAME | remove NAME
           (telegram, slack, discord, webhook, teams, whatsapp, email; warren channels help)
  wire     wire CHANNEL:CHAT_ID GROUP [--engage M] [--session-mode M] [--unknown-senders P]: a group answers there
  unwire   unwire CHANNEL:CHAT_ID GROUP: it stops answering there
  wirings  which agent group answers in which chat, and how [--json]  (warren wire help: the options)
  sessions list [--all] [--json] | show ID | stop ID: conversations and their containers
  logs     logs SESSION [--limit N] [--follow]: what the session's container printed
  deliveries list [--failed] [--limit N] [--json]: the latest attempts to send replies to chats

options (every command):
  --data-dir DIR     data folder (default ./data, or WARREN_DATA_DIR)
  --groups-dir DIR   agent group folders (default ./groups, or WARREN_GROUPS_DIR)
  --port N           the host's port (default 7420, or WARREN_PORT)

options (chat):
  --chat NAME        conversation name (default: terminal)
  --as NAME          your name (default: your login name)
`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseCommandLine(argv);
  const [name, ...args] = positionals;
  // `warren help users` is `warren users help`.
  const helped = name === 'help' && args[0] !== undefined && Object.hasOwn(COMMANDS, args[0]);
  if (helped) {
    process.stdout.write(COMMANDS[args[0]!]!.help);
    return 0;
  }
  if (!name || name === 'help') {
    process.stdout.write(USAGE);
    return name || values.help ? 0 : 2;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`warren: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  if (values.help || args[0] === 'help') {
    process.stdout.write(command.help);
    return 0;
  }
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
