import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openCentralDb, type Db } from '../db/connection.ts';
import { createAgentGroup, getAgentGroupByFolder } from '../db/agent-groups.ts';
import type { Config } from './config.ts';
import { defaultModelSetup, type Secrets } from './gateway/index.ts';
import { REPO_ROOT } from './repo.ts';

export const DEFAULT_GROUP_FOLDER = 'main';
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
  await mkdir(config.dataDir, { recursive: true });
  if (ensureCliSecret(config.dataDir)) changes.push(`created ${cliSecretPath(config.dataDir)}`);
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

/** The install secret `warren chat` proves itself with (docs/channels.md): readable by the data folder's owner only. */
export function cliSecretPath(dataDir: string): string {
  return join(dataDir, 'cli-secret');
}

/** Creates the secret (mode 0600) when missing; true when it did. */
export function ensureCliSecret(dataDir: string): boolean {
  try {
    writeFileSync(cliSecretPath(dataDir), `${randomBytes(32).toString('base64url')}\n`, {
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
 * The secret, refusing one that others may read: whoever reads it may chat as the operator.
 * Throws with what to do when it is missing or too open.
 */
export function readCliSecret(dataDir: string): string {
  const path = cliSecretPath(dataDir);
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
