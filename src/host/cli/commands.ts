// The `warren` commands: each one's help text and the function that runs it with the parsed flags.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { initDataFolder, DATA_SECRETS, readDataSecret } from '../data-folder.ts';
import { loadSecrets } from '../gateway/index.ts';
import type { RunningHost } from '../index.ts';
import { createLogger, logFormatFor } from '../logger.ts';
import { guardProcess } from '../process-guards.ts';
import { APPROVALS_HELP, runApprovalsCommand } from './approvals.ts';
import { CHANNELS_HELP, runChannelsCommand } from './channels.ts';
import { CHAT_HELP, runChat } from './chat.ts';
import { CRON_HELP, cronNext } from './cron.ts';
import { DELIVERIES_HELP, runDeliveriesCommand } from './deliveries.ts';
import { DOCTOR_HELP, runDoctorCommand } from './doctor.ts';
import { DROPPED_HELP, runDroppedCommand } from './dropped.ts';
import { GROUPS_HELP, runGroupsCommand } from './groups.ts';
import { LOGIN_LINK_HELP, runLoginLinkCommand } from './login-link.ts';
import { LOGS_HELP, runLogsCommand } from './logs.ts';
import { ROLES_HELP, runRolesCommand } from './roles.ts';
import { runSessionsCommand, SESSIONS_HELP } from './sessions.ts';
import { runStatusCommand, STATUS_HELP } from './status.ts';
import { runTasksCommand, TASKS_HELP } from './tasks.ts';
import { runTokensCommand, TOKENS_HELP } from './tokens.ts';
import { runUsageCommand, USAGE_HELP } from './usage.ts';
import { runUsersCommand, USERS_HELP } from './users.ts';
import { runUnwireCommand, runWireCommand, runWiringsCommand, wiringHelp, type WiringIo } from './wirings.ts';

const FLAGS = {
  'data-dir': { type: 'string' },
  'groups-dir': { type: 'string' },
  port: { type: 'string' },
  chat: { type: 'string' },
  as: { type: 'string' },
  tz: { type: 'string' },
  from: { type: 'string' },
  count: { type: 'string' },
  minutes: { type: 'string' },
  all: { type: 'boolean' },
  admin: { type: 'boolean' },
  json: { type: 'boolean' },
  provider: { type: 'string' },
  model: { type: 'string' },
  'base-url': { type: 'string' },
  'key-name': { type: 'string' },
  'allow-models': { type: 'string' },
  rpm: { type: 'string' },
  'daily-tokens': { type: 'string' },
  tools: { type: 'string' },
  'timeout-ms': { type: 'string' },
  group: { type: 'string' },
  user: { type: 'string' },
  since: { type: 'string' },
  out: { type: 'string' },
  yes: { type: 'boolean' },
  hash: { type: 'string' },
  note: { type: 'string' },
  choice: { type: 'string' },
  edited: { type: 'string' },
  name: { type: 'string' },
  mode: { type: 'string' },
  'api-url': { type: 'string' },
  secret: { type: 'string', multiple: true },
  set: { type: 'string', multiple: true },
  engage: { type: 'string' },
  pattern: { type: 'string' },
  'session-mode': { type: 'string' },
  'sender-scope': { type: 'string' },
  ignored: { type: 'string' },
  'unknown-senders': { type: 'string' },
  'group-chat': { type: 'boolean' },
  dm: { type: 'boolean' },
  failed: { type: 'boolean' },
  limit: { type: 'string' },
  follow: { type: 'boolean' },
  message: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The command line as words: `positionals[0]` is the command. Every flag is known to every command. */
export function parseCommandLine(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: FLAGS });
}

export type Flags = ReturnType<typeof parseCommandLine>['values'];

/** The time and terminal a command works with. */
export interface Terminal {
  now: Date;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export interface CommandContext {
  /** The words after the command's name. */
  args: string[];
  flags: Flags;
  config: Config;
  terminal: Terminal;
  /** The terminal and who acts, for the audit trail (asked only by the commands that act). */
  operator: () => Terminal & { actor: string };
  /** Whether anything answers on the host's port. */
  hostRunning: () => Promise<boolean>;
}

export interface CliCommand {
  /** Printed for `warren NAME help` and `warren NAME --help`. */
  help: string;
  /** Resolves with the exit code. */
  run: (ctx: CommandContext) => number | Promise<number>;
}

export const COMMANDS: Readonly<Record<string, CliCommand>> = {
  init: {
    help: `warren init
creates the data folder, the central database and the default agent group; changes nothing that exists.
`,
    run: initCommand,
  },
  start: {
    help: `warren start
runs the host (web chat, API and agents) on 127.0.0.1 until it is stopped (Ctrl-C or SIGTERM).
`,
    run: startCommand,
  },
  chat: { help: CHAT_HELP, run: chatCommand },
  tasks: {
    help: TASKS_HELP,
    run: ({ args, flags, config, operator, hostRunning }) =>
      runTasksCommand({
        ...operator(),
        config,
        subcommand: args[0],
        taskId: args[1],
        all: flags.all ?? false,
        json: flags.json ?? false,
        hostRunning,
      }),
  },
  groups: { help: GROUPS_HELP, run: groupsCommand },
  usage: {
    help: USAGE_HELP,
    run: ({ args, flags, config, terminal }) =>
      runUsageCommand({
        ...terminal,
        config,
        subcommand: args[0],
        group: flags.group,
        user: flags.user,
        since: flags.since,
        json: flags.json ?? false,
      }),
  },
  users: { help: USERS_HELP, run: (ctx) => runUsersCommand(peopleIo(ctx)) },
  roles: { help: ROLES_HELP, run: (ctx) => runRolesCommand({ ...peopleIo(ctx), group: ctx.flags.group }) },
  dropped: {
    help: DROPPED_HELP,
    run: ({ flags, config, terminal }) =>
      runDroppedCommand({ ...terminal, config, json: flags.json ?? false }),
  },
  approvals: { help: APPROVALS_HELP, run: approvalsCommand },
  tokens: {
    help: TOKENS_HELP,
    run: ({ args, flags, config, operator }) =>
      runTokensCommand({ ...operator(), config, args, user: flags.user, json: flags.json ?? false }),
  },
  'login-link': {
    help: LOGIN_LINK_HELP,
    run: ({ args, flags, config, operator }) =>
      runLoginLinkCommand({
        ...operator(),
        config,
        args,
        minutes: flags.minutes,
        admin: flags.admin ?? false,
      }),
  },
  cron: { help: CRON_HELP, run: cronCommand },
  channels: {
    help: CHANNELS_HELP,
    run: ({ args, flags, config, terminal }) =>
      runChannelsCommand({
        ...terminal,
        config,
        args,
        name: flags.name,
        mode: flags.mode,
        apiUrl: flags['api-url'],
        secret: flags.secret,
        set: flags.set,
        json: flags.json ?? false,
        env: process.env,
      }),
  },
  wire: { help: wiringHelp('wire'), run: (ctx) => runWireCommand(wiringIo(ctx)) },
  unwire: { help: wiringHelp('unwire'), run: (ctx) => runUnwireCommand(wiringIo(ctx)) },
  wirings: { help: wiringHelp('wirings'), run: (ctx) => runWiringsCommand(wiringIo(ctx)) },
  sessions: {
    help: SESSIONS_HELP,
    run: ({ args, flags, config, operator, hostRunning }) =>
      runSessionsCommand({
        ...operator(),
        config,
        args,
        all: flags.all ?? false,
        limit: flags.limit,
        json: flags.json ?? false,
        hostRunning,
      }),
  },
  doctor: {
    help: DOCTOR_HELP,
    run: ({ args, flags, config, terminal }) =>
      runDoctorCommand({ ...terminal, config, args, json: flags.json ?? false, env: process.env }),
  },
  logs: {
    help: LOGS_HELP,
    run: ({ args, flags, config, terminal }) => {
      const stop = new AbortController();
      if (flags.follow) process.once('SIGINT', () => stop.abort());
      return runLogsCommand({
        ...terminal,
        config,
        args,
        limit: flags.limit,
        follow: flags.follow ?? false,
        message: flags.message,
        signal: stop.signal,
      });
    },
  },
  status: {
    help: STATUS_HELP,
    run: ({ args, flags, config, terminal, hostRunning }) =>
      runStatusCommand({ ...terminal, config, args, json: flags.json ?? false, hostRunning }),
  },
  deliveries: {
    help: DELIVERIES_HELP,
    run: ({ args, flags, config, terminal }) =>
      runDeliveriesCommand({
        ...terminal,
        config,
        args,
        failed: flags.failed ?? false,
        limit: flags.limit,
        json: flags.json ?? false,
      }),
  },
};

async function initCommand({ config, terminal }: CommandContext): Promise<number> {
  const secrets = loadSecrets({ file: config.secretsFile, env: process.env });
  const result = await initDataFolder(config, () => new Date(), { secrets });
  result.db.close();
  terminal.write(
    result.changes.length === 0
      ? `${config.dataDir} is already initialised; nothing changed\n`
      : result.changes.map((c) => `${c}\n`).join(''),
  );
  return 0;
}

async function startCommand({ config }: CommandContext): Promise<number> {
  // Installed before the host starts, so a stray rejection during start-up is logged too.
  const log = createLogger(config.logLevel, undefined, logFormatFor(process.stdout, process.env));
  const running: { host?: RunningHost } = {};
  const unguard = guardProcess({ log, shutdown: async () => running.host?.stop() });
  // Loaded here, not at the top: every other command starts faster without the whole host.
  const { startHost } = await import('../index.ts');
  const host = (running.host = await startHost(config, { log }));
  await host.stopped;
  unguard();
  return 0;
}

async function chatCommand({ flags, config }: CommandContext): Promise<number> {
  const name = flags.as ?? userInfo().username;
  await runChat({
    url: `http://${config.host}:${config.port}`,
    chat: flags.chat ?? 'terminal',
    sender: { id: name.replace(/[^A-Za-z0-9._:@-]/g, '_'), name },
    secret: readDataSecret(config.dataDir, DATA_SECRETS.cli),
    input: process.stdin,
    output: process.stdout,
  });
  return 0;
}

function groupsCommand({ args, flags, config, operator }: CommandContext): Promise<number> {
  return runGroupsCommand({
    ...operator(),
    config,
    subcommand: args[0],
    name: args[1],
    flags: {
      provider: flags.provider,
      model: flags.model,
      baseUrl: flags['base-url'],
      keyName: flags['key-name'],
      allowModels: flags['allow-models'],
      rpm: flags.rpm,
      dailyTokens: flags['daily-tokens'],
      tools: flags.tools,
      timeoutMs: flags['timeout-ms'],
    },
    json: flags.json ?? false,
    env: process.env,
  });
}

/** What `users` and `roles` work with. */
function peopleIo({ args, flags, config, operator, hostRunning }: CommandContext) {
  return {
    ...operator(),
    config,
    args,
    json: flags.json ?? false,
    all: flags.all ?? false,
    out: flags.out,
    yes: flags.yes ?? false,
    hostRunning,
  };
}

/** What `wire`, `unwire` and `wirings` work with. */
function wiringIo({ args, flags, config, operator }: CommandContext): WiringIo {
  return {
    ...operator(),
    config,
    args,
    engage: flags.engage,
    pattern: flags.pattern,
    sessionMode: flags['session-mode'],
    senderScope: flags['sender-scope'],
    ignored: flags.ignored,
    unknownSenders: flags['unknown-senders'],
    groupChat: flags['group-chat'] ?? false,
    dm: flags.dm ?? false,
    json: flags.json ?? false,
  };
}

function approvalsCommand({ args, flags, config, operator }: CommandContext): Promise<number> {
  return runApprovalsCommand({
    ...operator(),
    config,
    args,
    all: flags.all ?? false,
    json: flags.json ?? false,
    hash: flags.hash,
    note: flags.note,
    choice: flags.choice,
    edited: flags.edited,
  });
}

function cronCommand({ args, flags, terminal }: CommandContext): number {
  if (args[0] !== 'next') {
    terminal.fail('warren cron: the only subcommand is next: warren cron next "<expr>"\n');
    return 2;
  }
  return cronNext({
    expression: args.slice(1).join(' ') || undefined,
    tz: flags.tz,
    from: flags.from,
    count: flags.count,
    ...terminal,
  });
}
