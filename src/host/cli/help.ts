// What `warren` answers without acting: the usage, and each command's help (`warren users help`,
// `warren help users`, `warren users --help`). Plain text out; the entry (main.ts) prints it.
import { COMMANDS } from './commands.ts';

export const USAGE = `usage: warren <command> [options]

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

export interface HelpAnswer {
  text: string;
  code: number;
  /** An unknown command is an error: its answer goes to stderr. */
  toStderr?: true;
}

/** The text to print and the exit code, or undefined when the command line asks a command to act. */
export function answerHelp(positionals: string[], helpFlag: boolean): HelpAnswer | undefined {
  const [name, ...args] = positionals;
  // `warren help users` is `warren users help`.
  if (name === 'help' && args[0] !== undefined && Object.hasOwn(COMMANDS, args[0]))
    return { text: COMMANDS[args[0]]!.help, code: 0 };
  if (!name || name === 'help') return { text: USAGE, code: name || helpFlag ? 0 : 2 };
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) return { text: `warren: unknown command "${name}"\n\n${USAGE}`, code: 2, toStderr: true };
  if (helpFlag || args[0] === 'help') return { text: command.help, code: 0 };
  return undefined;
}
