// Bundles the agent runner into one ESM entry file (plus chunks/) that the host mounts read-only at
// /app/runner. Native modules stay external: the agent image provides them in /app/node_modules.
// Code that is imported dynamically (the model clients, cron) goes to chunks/ and is read only when
// first used, so a runner of the scripted provider starts as fast as before the model clients came.
// Run directly: `tsx scripts/build-runner.ts` (or `npm run build:runner`).
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

export const RUNNER_ENTRY = 'container/agent-runner/src/main.ts';
export const RUNNER_OUTFILE = 'container/agent-runner/dist/runner.mjs';

export interface BuildRunnerOptions {
  /** Defaults to the runner's main.ts; tests bundle probe scripts the same way. */
  entry?: string;
  outfile?: string;
}

export async function buildRunner(
  repoRoot: string,
  options: BuildRunnerOptions = {},
): Promise<{ outfile: string; ms: number }> {
  const started = performance.now();
  const entry = resolve(repoRoot, options.entry ?? RUNNER_ENTRY);
  const outfile = resolve(repoRoot, options.outfile ?? RUNNER_OUTFILE);
  const outdir = dirname(outfile);
  const result = await build({
    entryPoints: { [basename(outfile, extname(outfile))]: entry },
    outdir,
    outExtension: { '.js': extname(outfile) },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3'],
    // Bundled CommonJS dependencies call require(); ESM has none, so give them one.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    plugins: [englishZodOnly],
    sourcemap: true,
    logLevel: 'warning',
  });
  await removeStaleChunks(join(outdir, 'chunks'), Object.keys(result.metafile.outputs));
  return { outfile, ms: Math.round(performance.now() - started) };
}

/**
 * zod exports its ~40 error-message locales as one namespace (`z.locales`), which bundling cannot
 * shake: 366 KB that every runner parsed at start-up for messages it never shows. The runner's zod
 * speaks English (zod's default, `z.locales.en`); the other locales are left out of the bundle.
 */
const englishZodOnly: Plugin = {
  name: 'english-zod-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core|mini)[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), '../locales/en.js'), namespace: 'zod-locales' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: dirname(args.path),
    }));
  },
};

/** Chunks of earlier builds (their names carry a content hash) that this build no longer uses. */
async function removeStaleChunks(dir: string, outputs: string[]): Promise<void> {
  const current = new Set(outputs.map((output) => basename(output)));
  const files = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(files.filter((f) => !current.has(f)).map((f) => rm(join(dir, f), { force: true })));
}

async function main(): Promise<void> {
  const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
  if (!existsSync(join(repoRoot, RUNNER_ENTRY))) {
    console.log(`build-runner: ${RUNNER_ENTRY} does not exist yet; nothing to bundle`);
    return;
  }
  const { outfile, ms } = await buildRunner(repoRoot);
  console.log(`build-runner: ${outfile} (${ms} ms)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(`build-runner: bundling failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
