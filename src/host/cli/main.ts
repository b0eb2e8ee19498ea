// The `warren` command. Each subcommand parses its flags, loads the config and calls one function.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { userInfo } from 'node:os';
import { initDataFolder } from '../data-folder.ts';
import { startHost } from '../index.ts';
import { runChat } from './chat.ts';

const USAGE = `usage: warren <command> [options]

commands:
  init     create the data folder, the central database and the default agent group
  start    run the host (web chat, API and agents) on 127.0.0.1
  chat     talk to the main agent from this terminal (the host must be running)

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
  switch (command) {
    case 'init': {
      const result = await initDataFolder(config, () => new Date());
      result.db.close();
      process.stdout.write(
        result.changes.length === 0
          ? `${config.dataDir} is already initialised; nothing changed\n`
          : result.changes.map((c) => `${c}\n`).join(''),
      );
      return 0;
    }
    case 'start': {
      const host = await startHost(config);
      await host.stopped;
      return 0;
    }
    case 'chat': {
      const name = values.as ?? userInfo().username;
      await runChat({
        url: `http://${config.host}:${config.port}`,
        chat: values.chat ?? 'terminal',
        sender: { id: name.replace(/[^A-Za-z0-9._:@-]/g, '_'), name },
        input: process.stdin,
        output: process.stdout,
      });
      return 0;
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
    process.stderr.write(`warren: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
