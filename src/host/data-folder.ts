import { existsSync } from 'node:fs';
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
