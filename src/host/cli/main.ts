// The `warren` command. Each subcommand parses its flags, loads the config and calls one function.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { userInfo } from 'node:os';
import { initDataFolder, readCliSecret, restrictNewFileModes } from '../data-folder.ts';
import { loadSecrets } from '../gateway/index.ts';
import { startHost, type RunningHost } from '../index.ts';
import { createLogger } from '../logger.ts';
import { guardProcess } from '../process-guards.ts';
import { runChat } from './chat.ts';
import { cronNext } from './cron.ts';
import { runGroupsCommand } from './groups.ts';
import { runTasksCommand } from './tasks.ts';
import { runUsageCommand } from './usage.ts';
import { runApprovalsCommand } from './approvals.ts';
import { runTokensCommand } from './tokens.ts';
import { runLoginLinkCommand } from './login-link.ts';
import { runDroppedCommand } from './dropped.ts';
import { runRolesCommand } from './roles.ts';
import { runUsersCommand } from './users.ts';
import { errorText } from '../../shared/error-text.ts';

const USAGE = `usage: warren <command> [options]

commands:
  init     create the data folder, the central database and the default agent group
  start    run the host (web chat, API and agents) on 127.0.0.1
  chat     talk to the main agent from this terminal (the host must be running)
  tasks    scheduled tasks: list [--all] [--json] | show ID | run-now ID | pause ID | resume ID | cancel ID
  approvals  list [--all] | show ID | approve ID --hash HASH [--note T] [--choice ID] [--edited F] | reject ID
  tokens   admin API tokens: create NAME [--user USER] | list | revoke ID
  login-link USER [--minutes N]  a one-time link that signs a browser in to the web chat as USER
  cron     cron next "<expr>" [--tz ZONE] [--from ISO] [--count N]: the next run times, in UTC
  groups   agent groups and their models: list [--json] | show NAME | model NAME [model options]
           (warren groups help: the model options)
  usage    tokens used per agent group and user: [--group NAME] [--user ID] [--since ISO] [--json]
  users    list | show | add | suspend | activate | link | unlink | merge | bind-code | export | delete
           (warren users help, warren roles help: details)
  roles    list [USER] | grant USER ROLE [--group G] | revoke USER ROLE [--group G]  (owner, admin, member)
  dropped  messages that were not routed, and why (unknown senders, caps on agent messages, …)

options (every command):
  --data-dir DIR     data folder (default ./data, or WARREN_DATA_DIR)
  --groups-dir DIR   agent group folders (default ./groups, or WARREN_GROUPS_DIR)
  --port N           the host's port (default 7420, or WARREN_PORT)

options (chat):
  --chat NAME        conversation name (default: terminal)
  --as NAME          your name (default: your login name)
`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
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
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const config = loadConfig({
    flags: { dataDir: values['data-dir'], groupsDir: values['groups-dir'], port: values.port },
    env: process.env,
    cwd: process.cwd(),
  });
  // Files a command creates (the data folder, its database, exports) are the operator's alone.
  restrictNewFileModes();
  // The time and terminal a command works with; the operator is who acts, for the audit trail
  // (asked only by the commands that act: a uid without a name must not stop `warren start`).
  const terminal = {
    now: new Date(),
    write: (text: string) => void process.stdout.write(text),
    fail: (text: string) => void process.stderr.write(text),
  };
  const operator = () => ({ ...terminal, actor: `cli:${userInfo().username}` });
  // Anything answering on the host's port counts: a host that is up but busy must not be missed.
  const hostRunning = () =>
    fetch(`http://${config.host}:${config.port}/webchat/`, { signal: AbortSignal.timeout(1000) }).then(
      () => true,
      () => false,
    );
  switch (command) {
    case 'init': {
      const secrets = loadSecrets({ file: config.secretsFile, env: process.env });
      const result = await initDataFolder(config, () => new Date(), { secrets });
      result.db.close();
      process.stdout.write(
        result.changes.length === 0
          ? `${config.dataDir} is already initialised; nothing changed\n`
          : result.changes.map((c) => `${c}\n`).join(''),
      );
      return 0;
    }
    case 'start': {
      // Installed before the host starts, so a stray rejection during start-up is logged too.
      const log = createLogger(config.logLevel);
      const running: { host?: RunningHost } = {};
      const unguard = guardProcess({ log, shutdown: async () => running.host?.stop() });
      const host = (running.host = await startHost(config, { log }));
      await host.stopped;
      unguard();
      return 0;
    }
    case 'chat': {
      const name = values.as ?? userInfo().username;
      await runChat({
        url: `http://${config.host}:${config.port}`,
        chat: values.chat ?? 'terminal',
        sender: { id: name.replace(/[^A-Za-z0-9._:@-]/g, '_'), name },
        secret: readCliSecret(config.dataDir),
        input: process.stdin,
        output: process.stdout,
      });
      return 0;
    }
    case 'tasks':
      return runTasksCommand({
        ...operator(),
        config,
        subcommand: positionals[1],
        taskId: positionals[2],
        all: values.all ?? false,
        json: values.json ?? false,
        hostRunning,
      });
    case 'groups':
      return runGroupsCommand({
        ...operator(),
        config,
        subcommand: positionals[1],
        name: positionals[2],
        flags: {
          provider: values.provider,
          model: values.model,
          baseUrl: values['base-url'],
          keyName: values['key-name'],
          allowModels: values['allow-models'],
          rpm: values.rpm,
          dailyTokens: values['daily-tokens'],
          tools: values.tools,
          timeoutMs: values['timeout-ms'],
        },
        json: values.json ?? false,
        env: process.env,
      });
    case 'usage':
      return runUsageCommand({
        ...terminal,
        config,
        subcommand: positionals[1],
        group: values.group,
        user: values.user,
        since: values.since,
        json: values.json ?? false,
      });
    case 'users':
    case 'roles': {
      const io = {
        ...operator(),
        config,
        args: positionals.slice(1),
        json: values.json ?? false,
        all: values.all ?? false,
        out: values.out,
        yes: values.yes ?? false,
        hostRunning,
      };
      return command === 'users' ? runUsersCommand(io) : runRolesCommand({ ...io, group: values.group });
    }
    case 'dropped':
      return runDroppedCommand({ ...terminal, config, json: values.json ?? false });
    case 'approvals':
      return runApprovalsCommand({
        ...operator(),
        config,
        args: positionals.slice(1),
        all: values.all ?? false,
        json: values.json ?? false,
        hash: values.hash,
        note: values.note,
        choice: values.choice,
        edited: values.edited,
      });
    case 'tokens':
      return runTokensCommand({
        ...operator(),
        config,
        args: positionals.slice(1),
        user: values.user,
        json: values.json ?? false,
      });
    case 'login-link':
      return runLoginLinkCommand({
        ...operator(),
        config,
        args: positionals.slice(1),
        minutes: values.minutes,
      });
    case 'cron': {
      if (positionals[1] !== 'next') {
        process.stderr.write('warren cron: the only subcommand is next: warren cron next "<expr>"\n');
        return 2;
      }
      return cronNext({
        expression: positionals.slice(2).join(' ') || undefined,
        tz: values.tz,
        from: values.from,
        count: values.count,
        ...terminal,
      });
    }
    default:
      process.stderr.write(`warren: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Known failures (bad config, refused migration, no engine) carry a message meant for the operator.
    process.stderr.write(`warren: ${errorText(err)}\n`);
    process.exit(1);
  },
);
