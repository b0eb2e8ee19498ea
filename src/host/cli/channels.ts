// `warren channels add|list|remove|test`: the chat-platform bots Warren runs (docs/channels.md). The
// database holds which secrets to read, never their values; `test` makes one real call to the platform.
import {
  createChannelInstallation,
  listChannelInstallations,
  removeChannelInstallation,
  type ChannelInstallation,
} from '../../db/channel-installations.ts';
import type { Db } from '../../db/connection.ts';
import { errorText } from '../../shared/error-text.ts';
import {
  ADAPTER_FACTORIES,
  buildAdapter,
  channelStateIn,
  channelTypeOf,
  installationConfig,
  isPlatform,
  missingCredentials,
  neededRoles,
  parseConfig,
  PLATFORMS,
  secretNameOf,
} from '../channels/index.ts';
import type { Config } from '../config.ts';
import { loadSecrets } from '../gateway/index.ts';
import { createLogger } from '../logger.ts';
import { withCentralDb } from './central-db.ts';
import { renderTable } from './table.ts';

export const CHANNELS_HELP = `warren channels add PLATFORM [--name NAME] [--mode MODE] [--api-url URL] [--secret ROLE=NAME]... [--set KEY=VALUE]...
    PLATFORM: ${PLATFORMS.join(', ')}; NAME defaults to the platform (a second bot needs its own name).
    --set: a platform setting (docs/channels.md), e.g. --set webhookUrl=https://bot.example.com/channels/telegram/webhook; a dot nests (--set imap.port=993)
    Credentials are read from the environment or the secrets file, by the names \`channels list\` shows.
warren channels list [--json]
warren channels remove NAME          NAME as listed (telegram, telegram-support…)
warren channels test NAME            one real call to the platform with the installation's credentials
Changes take effect when Warren next starts.
`;

export interface ChannelsIo {
  config: Config;
  args: string[];
  name?: string;
  mode?: string;
  apiUrl?: string;
  secret?: string[];
  set?: string[];
  json: boolean;
  now: Date;
  env: NodeJS.ProcessEnv;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export function runChannelsCommand(io: ChannelsIo): Promise<number> {
  const [sub, arg] = io.args;
  return withCentralDb({ name: 'channels', sub, usage: CHANNELS_HELP }, io, (db) => {
    switch (sub) {
      case 'add':
        return add(db, io, arg);
      case undefined:
      case 'list':
        return list(db, io);
      case 'remove':
        return remove(db, io, arg);
      case 'test':
        return test(db, io, arg);
      default:
        io.fail(`warren channels: unknown subcommand "${sub}"\n\n${CHANNELS_HELP}`);
        return 2;
    }
  });
}

async function add(db: Db, io: ChannelsIo, platform: string | undefined): Promise<number> {
  if (!platform || !isPlatform(platform)) {
    io.fail(`warren channels add: name a platform: ${PLATFORMS.join(', ')}\n`);
    return 2;
  }
  const secrets = parsePairs('--secret', io.secret ?? [], 'botToken=MY_BOT_TOKEN');
  if (typeof secrets === 'string') return refuse(io, secrets);
  const settings = parsePairs('--set', io.set ?? [], 'pollTimeoutSeconds=30');
  if (typeof settings === 'string') return refuse(io, settings);
  const config = installationConfig.safeParse({
    ...nestedSettings(settings),
    ...(io.mode ? { mode: io.mode } : {}),
    ...(io.apiUrl ? { apiBaseUrl: io.apiUrl } : {}),
    ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
  });
  if (!config.success) {
    const issue = config.error.issues[0]!;
    return refuse(io, `${issue.path.join('.')}: ${issue.message}`);
  }
  const name = io.name ?? platform;
  const draft = { channelType: platform, name, config: config.data as Record<string, never> };
  const taken = listChannelInstallations(db).find((i) => channelTypeOf(i) === channelTypeOf(draft));
  if (taken) {
    io.fail(
      `warren channels add: ${channelTypeOf(draft)} exists already (warren channels remove ${channelTypeOf(draft)})\n`,
    );
    return 1;
  }
  const settingsProblem = await checkSettings(draft);
  if (settingsProblem) return refuse(io, settingsProblem);
  const installation = createChannelInstallation(db, draft, io.now.toISOString());
  io.write(`added ${channelTypeOf(installation)}\n`);
  const missing = missingCredentials(installation, secretsOf(io).get);
  if (missing.length > 0)
    io.write(`it needs ${missing.join(', ')}: set them in the environment or in ${io.config.secretsFile}\n`);
  io.write(
    `check it with: warren channels test ${channelTypeOf(installation)}; restart Warren to connect it\n`,
  );
  return 0;
}

function list(db: Db, io: ChannelsIo): number {
  const secrets = secretsOf(io);
  const rows = listChannelInstallations(db).map((i) => describe(i, secrets.get));
  if (io.json) io.write(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0) io.write('no channels installed (web chat and the terminal need none)\n');
  else
    io.write(
      renderTable(
        ['NAME', 'PLATFORM', 'MODE', 'STATUS', 'API', 'CREDENTIALS'],
        rows.map((r) => [
          r.name,
          r.platform,
          r.mode,
          r.status,
          r.apiBaseUrl ?? 'default',
          r.credentials.map((c) => `${c.secret}${c.set ? '' : ' (missing)'}`).join(', '),
        ]),
      ),
    );
  return 0;
}

function describe(installation: ChannelInstallation, secret: (name: string) => string | undefined) {
  const config = parseConfig(installation);
  const { mode, roles } = neededRoles(installation);
  return {
    name: channelTypeOf(installation),
    platform: installation.channelType,
    mode,
    status: installation.status,
    apiBaseUrl: config.apiBaseUrl ?? null,
    credentials: roles.map((role) => {
      const name = secretNameOf(installation, config, role);
      return { role, secret: name, set: secret(name) !== undefined };
    }),
  };
}

function remove(db: Db, io: ChannelsIo, name: string | undefined): number {
  const installation = name && find(db, name);
  if (!installation) {
    io.fail(
      `warren channels remove: no channel named ${JSON.stringify(name ?? '')} (warren channels list)\n`,
    );
    return name ? 1 : 2;
  }
  removeChannelInstallation(db, installation.id);
  io.write(`removed ${name}; its chats and sessions stay. Restart Warren to disconnect it.\n`);
  return 0;
}

async function test(db: Db, io: ChannelsIo, name: string | undefined): Promise<number> {
  const installation = name && find(db, name);
  if (!installation) {
    io.fail(`warren channels test: no channel named ${JSON.stringify(name ?? '')} (warren channels list)\n`);
    return name ? 1 : 2;
  }
  const probed = await probeInstallation(db, installation, secretsOf(io));
  if (probed.ok) {
    io.write(`${name}: connected as ${probed.botName}\n`);
    return 0;
  }
  io.fail(`warren channels test: ${name}: ${probed.error}\n`);
  return 1;
}

/** One live API call with the installation's credentials (`channels test`, `doctor`). */
export async function probeInstallation(
  db: Db,
  installation: ChannelInstallation,
  secrets: { file: string; get: (name: string) => string | undefined },
): Promise<{ ok: true; botName: string } | { ok: false; error: string }> {
  try {
    const adapter = await buildAdapter(installation, ADAPTER_FACTORIES, {
      secret: secrets.get,
      secretsFile: secrets.file,
      maxInboundFileBytes: 0,
      state: channelStateIn(db, () => new Date()),
      log: createLogger('silent'),
      clock: () => new Date(),
    });
    const { botName } = await withTimeout(adapter.probe(), 15_000);
    return { ok: true, botName };
  } catch (err) {
    return { ok: false, error: errorText(err) };
  }
}

const find = (db: Db, name: string) => listChannelInstallations(db).find((i) => channelTypeOf(i) === name);

export function secretsOf(io: Pick<ChannelsIo, 'config' | 'env'>) {
  const secrets = loadSecrets({ file: io.config.secretsFile, env: io.env });
  return { file: secrets.file, get: (n: string) => secrets.get(n) };
}

/**
 * The adapter's own check of its platform settings (unknown keys, a webhook without its URL…): it is
 * built once with stand-in credentials, which connects nothing.
 */
async function checkSettings(
  draft: Pick<ChannelInstallation, 'channelType' | 'name' | 'config'>,
): Promise<string | undefined> {
  try {
    await buildAdapter(
      { ...draft, id: '', status: 'enabled', createdAt: '', updatedAt: '' },
      ADAPTER_FACTORIES,
      {
        secret: () => 'unchecked',
        secretsFile: '',
        maxInboundFileBytes: 0,
        // Built to check its settings only: it remembers nothing.
        state: () => ({ get: () => undefined, set: () => undefined }),
        log: createLogger('silent'),
        clock: () => new Date(),
      },
    );
    return undefined;
  } catch (err) {
    return errorText(err);
  }
}

function refuse(io: ChannelsIo, problem: string): number {
  io.fail(`warren channels add: ${problem}\n`);
  return 2;
}

/** `--secret botToken=MY_BOT_TOKEN` → { botToken: 'MY_BOT_TOKEN' }, or what is wrong with one. */
function parsePairs(flag: string, pairs: string[], example: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1 || at === pair.length - 1) return `${flag} takes KEY=VALUE (e.g. ${example}), got "${pair}"`;
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

/** `imap.host=…` sets `host` inside `imap` (email's server settings); values typed as settingValue. */
function nestedSettings(pairs: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(pairs)) {
    const path = key.split('.');
    if (path.some((part) => part === '' || part === '__proto__' || part === 'constructor')) continue;
    let at = out;
    for (const part of path.slice(0, -1)) {
      const next = Object.hasOwn(at, part) ? at[part] : undefined;
      at = at[part] = typeof next === 'object' && next !== null ? (next as Record<string, unknown>) : {};
    }
    at[path.at(-1)!] = settingValue(raw);
  }
  return out;
}

/** A setting's value as typed: numbers and true/false as such, anything else as text. */
function settingValue(raw: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return raw;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the platform did not answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
