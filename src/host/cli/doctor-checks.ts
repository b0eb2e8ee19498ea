// The checks of `warren doctor` (docs/operations.md): each looks at one thing the host needs and says
// what is wrong with it and the command that fixes it. Plain data out; nothing is changed.
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import Database from 'better-sqlite3';
import Docker from 'dockerode';
import { listAgentGroups } from '../../db/agent-groups.ts';
import { listChannelInstallations } from '../../db/channel-installations.ts';
import type { Db } from '../../db/connection.ts';
import { checksum } from '../../db/migrate.ts';
import { MIGRATIONS } from '../../db/migrations/index.ts';
import { errorText } from '../../shared/error-text.ts';
import { channelTypeOf, missingCredentials } from '../channels/index.ts';
import type { Config } from '../config.ts';
import { agentImageTag, findEngineSocket, imageExists } from '../containers/index.ts';
import { DATA_SECRETS, dataSecretPath } from '../data-folder.ts';
import { describeGroupModel } from '../gateway/index.ts';
import { probeInstallation } from './channels.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  /** What was checked: `data folder`, `database`, `channel telegram`, `agent group main`… */
  name: string;
  status: CheckStatus;
  detail: string;
  /** The command or step that fixes it, when something is wrong. */
  fix?: string;
}

export interface DoctorSources {
  config: Config;
  repoRoot: string;
  secrets: { file: string; get: (name: string) => string | undefined };
}

/** Files only the host's user may read, and the folder only it may enter. */
export async function checkDataFolder(config: Config): Promise<Check> {
  const name = 'data folder';
  const dir = await stat(config.dataDir).catch(() => undefined);
  if (!dir?.isDirectory())
    return { name, status: 'fail', detail: `${config.dataDir} does not exist`, fix: 'warren init' };
  const open: { path: string; mode: number; want: number }[] = [];
  if ((dir.mode & 0o077) !== 0) open.push({ path: config.dataDir, mode: dir.mode, want: 0o700 });
  const files = [
    config.centralDbPath,
    config.secretsFile,
    ...Object.values(DATA_SECRETS).map((secret) => dataSecretPath(config.dataDir, secret)),
  ];
  for (const file of files) {
    const info = await stat(file).catch(() => undefined);
    if (info && (info.mode & 0o077) !== 0) open.push({ path: file, mode: info.mode, want: 0o600 });
  }
  if (open.length === 0)
    return { name, status: 'ok', detail: `${config.dataDir}: only its owner can read it` };
  return {
    name,
    status: 'fail',
    detail: `other accounts can read ${open.map((o) => `${o.path} (${modeOf(o.mode)})`).join(', ')}`,
    fix: open.map((o) => `chmod ${o.want.toString(8)} ${o.path}`).join('; '),
  };
}

/** The central database opens, read-only, and its migrations match this Warren's. */
export function checkDatabase(config: Config): { check: Check; db?: Db } {
  const name = 'database';
  if (!existsSync(config.centralDbPath))
    return {
      check: { name, status: 'fail', detail: `no database at ${config.centralDbPath}`, fix: 'warren init' },
    };
  let db: Db;
  try {
    db = new Database(config.centralDbPath, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    return {
      check: { name, status: 'fail', detail: `cannot open ${config.centralDbPath}: ${errorText(err)}` },
    };
  }
  const applied = (
    db.prepare('SELECT version, checksum FROM schema_migrations ORDER BY version').all() as {
      version: number;
      checksum: string;
    }[]
  ).map((row) => ({ ...row, migration: MIGRATIONS.find((m) => m.version === row.version) }));
  const newer = applied.filter((row) => !row.migration);
  const edited = applied.filter((row) => row.migration && checksum(row.migration) !== row.checksum);
  const pending = MIGRATIONS.filter((m) => !applied.some((row) => row.version === m.version));
  if (newer.length > 0)
    return {
      check: {
        name,
        status: 'fail',
        detail: `migrated by a newer Warren (version ${newer.map((r) => r.version).join(', ')} unknown here)`,
        fix: 'run the Warren version that made it, or restore a backup',
      },
    };
  if (edited.length > 0)
    return {
      check: {
        name,
        status: 'fail',
        detail: `migration ${edited.map((r) => r.version).join(', ')} was changed since it was applied`,
        fix: 'restore src/db/migrations to the released files',
      },
    };
  const detail = `${config.centralDbPath}, schema version ${applied.at(-1)?.version ?? 0}`;
  if (pending.length > 0)
    return {
      check: {
        name,
        status: 'warn',
        detail: `${detail}; ${pending.length} migration(s) to apply`,
        fix: 'warren start applies them',
      },
      db,
    };
  return { check: { name, status: 'ok', detail }, db };
}

/** The container engine answers, and the agent image for this code is built. */
export async function checkEngine(sources: DoctorSources): Promise<Check[]> {
  let socketPath: string;
  try {
    socketPath = await findEngineSocket(sources.config.dockerHost);
  } catch (err) {
    return [
      {
        name: 'container engine',
        status: 'fail',
        detail: errorText(err),
        fix: 'bash scripts/setup-container-engine.sh (installs and starts Podman), or set DOCKER_HOST',
      },
    ];
  }
  const engine: Check = { name: 'container engine', status: 'ok', detail: `answers on ${socketPath}` };
  try {
    const tag = await agentImageTag(sources.repoRoot);
    const built = await imageExists(new Docker({ socketPath, timeout: 5000 }), tag);
    return [
      engine,
      built
        ? { name: 'agent image', status: 'ok', detail: `${tag} is built` }
        : {
            name: 'agent image',
            status: 'warn',
            detail: `${tag} is not built yet`,
            fix: 'warren start builds it (a few minutes)',
          },
    ];
  } catch (err) {
    return [engine, { name: 'agent image', status: 'fail', detail: errorText(err) }];
  }
}

/** Each enabled installation: its credentials are set, and one live call with them works. */
export async function checkChannels(db: Db, sources: DoctorSources): Promise<Check[]> {
  return Promise.all(
    listChannelInstallations(db, 'enabled').map(async (installation): Promise<Check> => {
      const type = channelTypeOf(installation);
      const name = `channel ${type}`;
      let missing: string[];
      try {
        missing = missingCredentials(installation, sources.secrets.get);
      } catch (err) {
        return {
          name,
          status: 'fail',
          detail: errorText(err),
          fix: `warren channels remove ${type}, then add it again`,
        };
      }
      if (missing.length > 0)
        return {
          name,
          status: 'fail',
          detail: `${missing.join(' and ')} not set`,
          fix: `set ${missing.join(' and ')} in the environment or in ${sources.secrets.file}`,
        };
      const probed = await probeInstallation(db, installation, sources.secrets);
      return probed.ok
        ? { name, status: 'ok', detail: `connected as ${probed.botName}` }
        : {
            name,
            status: 'fail',
            detail: probed.error,
            fix: `check its settings and credentials (warren channels list; docs/channels.md)`,
          };
    }),
  );
}

/** Each agent group has a model its calls can reach, with its key. */
export function checkGroups(db: Db, sources: DoctorSources): Check[] {
  return listAgentGroups(db).map((group) => {
    const { level, message } = describeGroupModel(group, sources.secrets.get);
    const fix = message.includes('; set') ? message.slice(message.lastIndexOf('; ') + 2) : undefined;
    return {
      name: `agent group ${group.folder}`,
      status: level === 'warn' ? 'warn' : 'ok',
      detail: message.replace(`agent group ${group.folder}: `, ''),
      ...(level === 'warn' && fix ? { fix } : {}),
    };
  });
}

const modeOf = (mode: number) => `mode ${(mode & 0o777).toString(8)}`;
