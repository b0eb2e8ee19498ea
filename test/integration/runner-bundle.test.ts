// The runner's bundle (scripts/build-runner.ts) leaves zod's locales other than English out: every
// runner parses what it loads at start-up. A probe bundled the same way shows what zod then has.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildRunner } from '../../scripts/build-runner.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

describe('the runner bundle', () => {
  let dir: string;
  let outfile: string;

  beforeAll(async () => {
    // Inside the repository, so the probe's bundle resolves node_modules as the runner's does.
    dir = await mkdtemp(join(repoRoot, 'test', '.runner-bundle-'));
    const entry = join(dir, 'probe.ts');
    await writeFile(
      entry,
      `import { z } from 'zod';
       const parsed = z.object({ name: z.string() }).safeParse({ name: 1 });
       console.log(JSON.stringify({ locales: Object.keys(z.locales), message: parsed.error?.issues[0]?.message }));`,
    );
    outfile = join(dir, 'dist', 'probe.mjs');
    await buildRunner(repoRoot, { entry, outfile });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('zod keeps English, its default, and only English', async () => {
    const { stdout } = await run(process.execPath, [outfile]);
    expect(JSON.parse(stdout)).toEqual({
      locales: ['en'],
      message: 'Invalid input: expected string, received number',
    });
  });

  test('its zod is half the size of zod with every locale', async () => {
    // The probe has no dynamic import, so zod is all in the one file: about 390 KB, against about 750 KB.
    expect((await stat(outfile)).size).toBeLessThan(500_000);
  });
});
