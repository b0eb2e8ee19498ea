// The dashboard's browser code is typechecked on its own (DOM types, kept out of the host's program
// by the root tsconfig), so `npm run typecheck` alone would not see a mistake in it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

test('the dashboard browser code typechecks against the DOM', async () => {
  const tsc = promisify(execFile)(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'src/host/dashboard/browser/tsconfig.json'],
    { cwd: new URL('../..', import.meta.url) },
  );
  await expect(tsc.then(({ stdout }) => stdout)).resolves.toBe('');
}, 60_000);
