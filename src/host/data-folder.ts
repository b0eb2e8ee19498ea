import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { chmod, cp, lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openCentralDb, type Db } from '../db/connection.ts';
import { createAgentGroup, getAgentGroupByFolder } from '../db/agent-groups.ts';
import type { Config } from './config.ts';
import { defaultModelSetup, type Secrets } from './gateway/index.ts';
import { REPO_ROOT } from './repo.ts';

export const DEFAULT_GROUP_FOLDER = 'main';
/** The data folder holds chats, keys and every session: only the host's user may enter it. */
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;
/** What the host creates from now on is its user's alone (files 0600, folders 0700). */
const HOST_UMASK = 0o077;
const TEMPLATE = join(REPO_ROOT, 'groups', '_template');

export interface InitResult {
  db: Db;
  /** What was created, one line each; empty when everything already existed. */
  changes: string[];
}

/**
 * Creates whatever is missing of the data folder, the central database (migrated) and the default
 * agent group with its folder. Running it again changes nothing; existing files are never overwritten.
 * The default group's provider follows the keys in `secrets` (docs/models.md); without any, scripted.
 */
export async function initDataFolder(
  config: Config,
  clock: () => Date,
  options: { secrets?: Pick<Secrets, 'get'> } = {},
): Promise<InitResult> {
  const changes: string[] = [];
  if (!existsSync(config.centralDbPath)) changes.push(`created ${config.centralDbPath}`);
  await mkdir(config.dataDir, { recursive: true, mode: PRIVATE_DIR });
  changes.push(...(await tightenDataFolder(config)));
  for (const name of Object.values(DATA_SECRETS)) {
    if (ensureDataSecret(config.dataDir, name))
      changes.push(`created ${dataSecretPath(config.dataDir, name)}`);
  }
  const db = openCentralDb(config.centralDbPath);
  try {
    if (!getAgentGroupByFolder(db, DEFAULT_GROUP_FOLDER)) {
      const setup = defaultModelSetup((name) => options.secrets?.get(name));
      createAgentGroup(db, { name: 'Main', folder: DEFAULT_GROUP_FOLDER, ...setup }, clock().toISOString());
      changes.push(
        `created agent group "${DEFAULT_GROUP_FOLDER}" (provider: ${setup.provider}` +
          `${setup.model ? `, model: ${setup.model}` : ''})`,
      );
    }
    const folder = join(config.groupsDir, DEFAULT_GROUP_FOLDER);
    if (!existsSync(folder)) {
      await cp(TEMPLATE, folder, { recursive: true, errorOnExist: true, force: false });
      changes.push(`created ${folder} from the template`);
    }
    return { db, changes };
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * From here on, everything this process creates is 0600/0700. Session containers still read and
 * write their folders: they run as the host's own uid (lifecycle.ts, session-spec.ts). Returns
 * a function that puts the previous umask back (tests run hosts inside a longer-lived process).
 */
export function restrictNewFileModes(): () => void {
  let previous: number;
  try {
    previous = process.umask(HOST_UMASK);
  } catch {
    return () => {}; // worker threads cannot set it; the explicit modes below still apply
  }
  return () => void process.umask(previous);
}

/**
 * An existing data folder, central database (and its -wal/-shm) that others could read are
 * tightened to 0700/0600 rather than refused: nothing in them is meant for anyone but the host.
 * Returns one line per change, so the operator sees it. Files inside the folder are not walked:
 * once the folder is 0700 nobody else can reach them. A missing database is created 0600 here, so
 * SQLite (which gives -wal and -shm the database's mode) never makes a readable one.
 */
export async function tightenDataFolder(
  config: Pick<Config, 'dataDir' | 'centralDbPath'>,
): Promise<string[]> {
  const changes: string[] = [];
  if (!existsSync(config.centralDbPath)) closeSync(openSync(config.centralDbPath, 'a', PRIVATE_FILE));
  const targets: [string, number][] = [
    [config.dataDir, PRIVATE_DIR],
    ...['', '-wal', '-shm'].map((suffix): [string, number] => [
      `${config.centralDbPath}${suffix}`,
      PRIVATE_FILE,
    ]),
  ];
  for (const [path, mode] of targets) {
    const stat = await lstat(path).catch(() => undefined);
    if (!stat || stat.isSymbolicLink() || (stat.mode & 0o777 & ~mode) === 0) continue;
    await chmod(path, mode);
    changes.push(
      `tightened ${path} from ${(stat.mode & 0o777).toString(8)} to ${mode.toString(8)}: it was open to other users`,
    );
  }
  return changes;
}

/**
 * The install's own secrets, each a file readable by the data folder's owner only: `cli-secret`, which
 * `warren chat` proves itself with (docs/channels.md), and `link-key`, which signs the approval links
 * sent by email (docs/approvals.md).
 */
export const DATA_SECRETS = { cli: 'cli-secret', links: 'link-key' } as const;
export type DataSecret = (typeof DATA_SECRETS)[keyof typeof DATA_SECRETS];

export const dataSecretPath = (dataDir: string, name: DataSecret): string => join(dataDir, name);

/** Creates the secret (mode 0600) when missing; true when it did. */
function ensureDataSecret(dataDir: string, name: DataSecret): boolean {
  try {
    writeFileSync(dataSecretPath(dataDir, name), `${randomBytes(32).toString('base64url')}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * The secret, refusing one that others may read: whoever reads the CLI secret may chat as the operator,
 * whoever reads the link key may forge approval links. Throws with what to do when it is missing or too open.
 */
export function readDataSecret(dataDir: string, name: DataSecret): string {
  const path = dataSecretPath(dataDir, name);
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new Error(
      `${path} does not exist; run \`warren init\` or \`warren start\` with this data folder first`,
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `${path} can be read by other accounts (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${path}`,
    );
  }
  const secret = readFileSync(path, 'utf8').trim();
  if (secret.length < 32)
    throw new Error(`${path} does not hold a secret; delete it and run \`warren init\``);
  return secret;
}
