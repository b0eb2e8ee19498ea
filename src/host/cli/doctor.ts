// `warren doctor`: checks what the host needs (doctor-checks.ts) and prints, for each thing wrong, what
// it is and the command that fixes it. `--json` prints the checks as a list. Exit code 1 when a check
// failed (a warning alone exits 0). Nothing is changed, and no model is called.
import type { Config } from '../config.ts';
import { loadSecrets } from '../gateway/index.ts';
import { REPO_ROOT } from '../repo.ts';
import {
  checkChannels,
  checkDatabase,
  checkDataFolder,
  checkEngine,
  checkGroups,
  type Check,
  type DoctorSources,
} from './doctor-checks.ts';

export const DOCTOR_HELP = `warren doctor [--json]
checks the data folder's permissions, the database and its migrations, the container engine and the
agent image, each channel's credentials (with one live call to its platform) and each agent group's
model and key; prints what is wrong and the command that fixes it. Changes nothing.
Exit code 1 when a check failed. --json: the checks as a JSON list.
`;

export interface DoctorIo {
  config: Config;
  args: string[];
  json: boolean;
  env: NodeJS.ProcessEnv;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export async function runDoctorCommand(io: DoctorIo): Promise<number> {
  const [sub] = io.args;
  if (sub === 'help') {
    io.write(DOCTOR_HELP);
    return 0;
  }
  if (sub !== undefined) {
    io.fail(`warren doctor: unexpected "${sub}"\n\n${DOCTOR_HELP}`);
    return 2;
  }
  const checks = await runChecks(io);
  io.write(io.json ? `${JSON.stringify(checks, null, 2)}\n` : doctorText(checks));
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

async function runChecks(io: DoctorIo): Promise<Check[]> {
  const secrets = loadSecrets({ file: io.config.secretsFile, env: io.env });
  const sources: DoctorSources = {
    config: io.config,
    repoRoot: REPO_ROOT,
    secrets: { file: secrets.file, get: (name) => secrets.get(name) },
  };
  const checks: Check[] = [await checkDataFolder(io.config)];
  const { check, db } = checkDatabase(io.config);
  checks.push(check);
  checks.push(...(await checkEngine(sources)));
  if (db) {
    try {
      checks.push(...checkGroups(db, sources), ...(await checkChannels(db, sources)));
    } finally {
      db.close();
    }
  }
  return checks;
}

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

export function doctorText(checks: readonly Check[]): string {
  const lines = checks.flatMap((c) => [
    `${MARK[c.status]}  ${c.name}: ${c.detail}`,
    ...(c.status !== 'ok' && c.fix ? [`      fix: ${c.fix}`] : []),
  ]);
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  lines.push('', failed + warned === 0 ? 'all good' : `${failed} failed, ${warned} warning(s)`);
  return `${lines.join('\n')}\n`;
}
