// An agent group's image with the packages an admin approved (install_packages): the agent image
// plus one layer holding the npm packages (under /opt/warren/npm) and the files of the Debian
// packages. Everything runs in child processes and streams; nothing blocks the host's event loop.
//
// Limits, on purpose (docs/approvals.md):
// - npm packages are installed with --ignore-scripts: no package code runs on the host, so packages
//   that need an install script or a native build do not work.
// - Debian packages are downloaded with their dependencies (apt-get download) and unpacked
//   (dpkg-deb -x); their maintainer scripts never run, so packages that need configuring at install
//   time may not work. The host's own apt sources and architecture are used.
// - Containers have no network: what a package downloads at run time fails.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { imageExists } from './image.ts';
import { ContainerRuntimeError, silentLogger, type ContainerLogger } from './runtime.ts';
import { withTarStream } from './tar-stream.ts';
import { errorText } from '../../shared/error-text.ts';

export const PACKAGE_IMAGE_REPO = 'localhost/warren-agent-packages';
export const NPM_PREFIX = '/opt/warren/npm';

export interface PackageSet {
  apt: string[];
  npm: string[];
}

export interface PackageImageOptions {
  log?: ContainerLogger;
  /** A step (download, unpack, build) taking longer than this fails the build. */
  stepTimeoutMs?: number;
}

/** Pure: one tag per (base image, set of packages), whatever order the packages are listed in. */
export function packageImageTag(baseTag: string, packages: PackageSet): string {
  const canonical = JSON.stringify({
    base: baseTag,
    apt: [...new Set(packages.apt)].sort(),
    npm: [...new Set(packages.npm)].sort(),
  });
  return `${PACKAGE_IMAGE_REPO}:${createHash('sha256').update(canonical).digest('hex').slice(0, 12)}`;
}

/** Builds the image unless one with its tag exists; returns its tag (the base's when nothing is asked). */
export async function ensurePackageImage(
  docker: Docker,
  baseTag: string,
  packages: PackageSet,
  options: PackageImageOptions = {},
): Promise<string> {
  if (packages.apt.length === 0 && packages.npm.length === 0) return baseTag;
  const log = options.log ?? silentLogger;
  const timeoutMs = options.stepTimeoutMs ?? 10 * 60_000;
  const tag = packageImageTag(baseTag, packages);
  if (await imageExists(docker, tag)) return tag;
  const started = performance.now();
  const work = await mkdtemp(join(tmpdir(), 'warren-packages-'));
  try {
    const context = join(work, 'context');
    const layer = join(context, 'rootfs');
    await mkdir(layer, { recursive: true });
    if (packages.npm.length > 0) await installNpm(join(layer, NPM_PREFIX), packages.npm, timeoutMs);
    if (packages.apt.length > 0) await unpackDebs(join(work, 'debs'), layer, packages.apt, timeoutMs);
    await writeFile(
      join(context, 'Dockerfile'),
      [
        `FROM ${baseTag}`,
        'COPY rootfs/ /',
        `ENV NODE_PATH=${NPM_PREFIX}/node_modules PATH=${NPM_PREFIX}/node_modules/.bin:/usr/local/bin:/usr/bin:/bin`,
        'LABEL warren.image=agent-packages',
        '',
      ].join('\n'),
    );
    await build(docker, context, tag);
  } catch (err) {
    throw new ContainerRuntimeError(
      `image ${tag} with ${describePackages(packages)} could not be built: ${errorText(err)}`,
      { cause: err },
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  log.info({ tag, ms: Math.round(performance.now() - started), ...packages }, 'package image built');
  return tag;
}

async function installNpm(prefix: string, specs: string[], timeoutMs: number): Promise<void> {
  await mkdir(prefix, { recursive: true });
  await run(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      '--omit=dev',
      '--loglevel=error',
      ...specs,
    ],
    { timeoutMs, env: { npm_config_update_notifier: 'false' } },
  );
}

/** Downloads the packages and what they depend on, and unpacks them into the layer (merged /usr). */
async function unpackDebs(debDir: string, layer: string, names: string[], timeoutMs: number): Promise<void> {
  await mkdir(debDir, { recursive: true });
  const listed = await run(
    'apt-cache',
    [
      'depends',
      '--recurse',
      '--no-recommends',
      '--no-suggests',
      '--no-conflicts',
      '--no-breaks',
      '--no-replaces',
      '--no-enhances',
      ...names,
    ],
    { timeoutMs },
  );
  const all = aptDependencyNames(listed);
  await run('apt-get', ['download', '-q', ...all], { cwd: debDir, timeoutMs });
  for (const file of (await readdir(debDir)).filter((f) => f.endsWith('.deb')).sort()) {
    await run('dpkg-deb', ['-x', join(debDir, file), layer], { timeoutMs });
  }
  await mergeUsr(layer);
}

/** Pure: package names from `apt-cache depends --recurse` (top-level lines; virtual `<names>` skipped). */
export function aptDependencyNames(output: string): string[] {
  const names = output
    .split('\n')
    .filter((line) => /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$/.test(line.trim()) && !/^\s/.test(line))
    .map((line) => line.trim());
  return [...new Set(names)];
}

/**
 * The agent image links /bin, /lib … into /usr; a layer holding real directories there would
 * replace those links. Move them under usr/ first.
 */
async function mergeUsr(layer: string): Promise<void> {
  for (const dir of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    const from = join(layer, dir);
    const info = await lstat(from).catch(() => null);
    if (!info?.isDirectory()) continue;
    await cp(from, join(layer, 'usr', dir), { recursive: true, force: true, verbatimSymlinks: true });
    await rm(from, { recursive: true, force: true });
  }
}

/** Streams the build context through tar into the engine's build (FROM a local image, no network). */
async function build(docker: Docker, context: string, tag: string): Promise<void> {
  await withTarStream(context, async (tar) => {
    const stream = await docker.buildImage(tar, { t: tag, rm: true, networkmode: 'none' });
    const events = await new Promise<{ error?: string; errorDetail?: { message?: string } }[]>(
      (resolve, reject) =>
        docker.modem.followProgress(stream, (err: Error | null, result: unknown[]) =>
          err ? reject(err) : resolve(result as { error?: string }[]),
        ),
    );
    const failed = events.find((e) => e.error || e.errorDetail);
    if (failed) throw new Error(failed.error ?? failed.errorDetail?.message ?? 'build failed');
  });
}

/** Runs a program (no shell), resolving with its stdout; a non-zero exit or the timeout rejects. */
function run(
  command: string,
  args: string[],
  options: { cwd?: string; timeoutMs: number; env?: Record<string, string> },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not run (${err.message})`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else {
        const why = signal
          ? `was killed (${signal}; timeout ${options.timeoutMs} ms?)`
          : `exited with ${code}`;
        reject(new Error(`${command} ${args[0]} ${why}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
      }
    });
  });
}

const describePackages = (p: PackageSet) =>
  [p.apt.length ? `apt ${p.apt.join(' ')}` : '', p.npm.length ? `npm ${p.npm.join(' ')}` : '']
    .filter(Boolean)
    .join(', ');
