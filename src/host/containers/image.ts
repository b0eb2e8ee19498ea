// The agent image, made from local files only (no registry): the host's own node binary, the shared
// libraries it links, the runner's native modules, and the binaries of binaries.json (bash, and the
// libraries of the claude binary that is mounted at run time). Tagged by a hash of everything that goes in,
// so it is rebuilt exactly when Node's ABI, a native module or the recipe (container/image/) changes.
// See container/image/README.md.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { ContainerRuntimeError, silentLogger, type ContainerLogger } from './runtime.ts';
import { withTarStream } from './tar-stream.ts';
import { errorText } from '../../shared/error-text.ts';

export const AGENT_IMAGE_REPO = 'localhost/warren-agent';
const RECIPE_DIR = 'container/image';
const NATIVE_MODULES_FILE = 'native-modules.json';
const BINARIES_FILE = 'binaries.json';
/** Bump when the rootfs layout below changes in a way the hashed inputs do not show. */
const LAYOUT_VERSION = 1;
const IMAGE_CHANGES = [
  'ENV PATH=/usr/local/bin:/usr/bin:/bin',
  'WORKDIR /app',
  'CMD ["/usr/bin/node"]',
  'LABEL warren.image=agent',
];

const execFileAsync = promisify(execFile);

/** binaries.json: host binaries copied in (with their libraries), and binaries whose libraries only go in. */
interface BinariesRecipe {
  copy: string[];
  librariesOf: string[];
}

interface NativeModuleRecipe {
  name: string;
  /** Paths inside the module folder to copy; the whole folder when missing. */
  include?: string[];
}

export interface AgentImageInputs {
  layoutVersion: number;
  nodeVersion: string;
  abi: string;
  arch: string;
  nativeModules: { name: string; version: string }[];
  recipeFiles: { path: string; content: Buffer | string }[];
  /** binaries.json resolved: a copied binary's content hash, or the libraries a mounted one links. */
  binaries?: { path: string; digest: string }[];
}

export interface EnsuredImage {
  tag: string;
  built: boolean;
  ms: number;
}

/** Pure: the image tag for these inputs; the order of modules and files does not matter. */
export function agentImageTagFor(inputs: AgentImageInputs): string {
  const hash = createHash('sha256');
  const canonical = {
    layout: inputs.layoutVersion,
    node: inputs.nodeVersion,
    abi: inputs.abi,
    arch: inputs.arch,
    modules: [...inputs.nativeModules].sort(byKey((m) => m.name)).map((m) => `${m.name}@${m.version}`),
    files: [...inputs.recipeFiles]
      .sort(byKey((f) => f.path))
      .map((f) => `${f.path}:${createHash('sha256').update(f.content).digest('hex')}`),
    binaries: [...(inputs.binaries ?? [])].sort(byKey((b) => b.path)).map((b) => `${b.path}:${b.digest}`),
  };
  hash.update(JSON.stringify(canonical));
  return `${AGENT_IMAGE_REPO}:${hash.digest('hex').slice(0, 12)}`;
}

export async function readAgentImageInputs(repoRoot: string): Promise<AgentImageInputs> {
  const modules = await readNativeModules(repoRoot);
  const nativeModules = await Promise.all(
    modules.map(async ({ name }) => ({ name, version: await installedVersion(repoRoot, name) })),
  );
  const recipeDir = join(repoRoot, RECIPE_DIR);
  const recipeFiles = await Promise.all(
    (await listFiles(recipeDir)).map(async (file) => ({
      path: relative(recipeDir, file),
      content: await readFile(file),
    })),
  );
  return {
    layoutVersion: LAYOUT_VERSION,
    nodeVersion: process.version,
    abi: process.versions.modules,
    arch: process.arch,
    nativeModules,
    recipeFiles,
    binaries: await binaryDigests(repoRoot),
  };
}

/** What of binaries.json goes into the image; a newer bash or a claude binary linking more rebuilds it. */
async function binaryDigests(repoRoot: string): Promise<{ path: string; digest: string }[]> {
  const recipe = await readBinaries(repoRoot);
  const copied = await Promise.all(
    recipe.copy.map(async (path) => ({
      path,
      digest: createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    })),
  );
  const linked = await Promise.all(
    mountedBinaries(repoRoot, recipe).map(async (path) => ({
      path: relative(repoRoot, path),
      digest: (await sharedLibraries(path)).sort().join(','),
    })),
  );
  return [...copied, ...linked];
}

async function readBinaries(repoRoot: string): Promise<BinariesRecipe> {
  const file = join(repoRoot, RECIPE_DIR, BINARIES_FILE);
  const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<BinariesRecipe>;
  if (!Array.isArray(parsed.copy) || !Array.isArray(parsed.librariesOf)) {
    throw new Error(`${file} needs a "copy" and a "librariesOf" list`);
  }
  return { copy: parsed.copy, librariesOf: parsed.librariesOf };
}

/** The installed ones of `librariesOf` (the claude binary exists only for its own CPU and libc). */
function mountedBinaries(repoRoot: string, recipe: BinariesRecipe): string[] {
  return recipe.librariesOf.map((path) => join(repoRoot, path)).filter((path) => existsSync(path));
}

export async function agentImageTag(repoRoot: string): Promise<string> {
  return agentImageTagFor(await readAgentImageInputs(repoRoot));
}

/** Builds the agent image unless an image with its tag already exists. */
export async function ensureAgentImage(
  docker: Docker,
  repoRoot: string,
  log: ContainerLogger = silentLogger,
): Promise<EnsuredImage> {
  const started = performance.now();
  const tag = await agentImageTag(repoRoot);
  if (await imageExists(docker, tag))
    return { tag, built: false, ms: Math.round(performance.now() - started) };

  // Progress for the operator: the first start builds the image and is quiet for a while otherwise.
  log.info({ tag }, 'agent image not found: building it (once per version of the image)');
  const root = await mkdtemp(join(tmpdir(), 'warren-agent-rootfs-'));
  try {
    await buildRootfs(root, repoRoot);
    log.info({ tag, ms: Math.round(performance.now() - started) }, 'agent image: files ready, importing');
    const id = await importRootfs(docker, root);
    const [repo, version] = splitTag(tag);
    await docker.getImage(id).tag({ repo, tag: version });
  } catch (err) {
    throw new ContainerRuntimeError(
      `agent image ${tag} could not be built: ${errorText(err)}; no session container can start until it is`,
      { cause: err },
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const ms = Math.round(performance.now() - started);
  log.info({ tag, ms }, 'agent image built');
  return { tag, built: true, ms };
}

/** Whether the engine holds an image with this tag (the agent image, or one built from it). */
export async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw new ContainerRuntimeError(`image ${tag} could not be inspected: ${errorText(err)}`, {
      cause: err,
    });
  }
}

/** Lays out node + its libraries (merged /usr), users, mount points and the native modules under root. */
async function buildRootfs(root: string, repoRoot: string): Promise<void> {
  const dirs = ['usr/bin', 'usr/lib', 'usr/lib64', 'usr/sbin', 'etc', 'tmp', 'proc', 'sys', 'dev'];
  const mountPoints = ['app/runner', 'app/node_modules', 'app/claude', 'session', 'workspace', 'home/agent'];
  await Promise.all([...dirs, ...mountPoints].map((dir) => mkdir(join(root, dir), { recursive: true })));
  await Promise.all(['bin', 'lib', 'lib64', 'sbin'].map((dir) => symlink(`usr/${dir}`, join(root, dir))));
  // mkdtemp makes 0700; the container's users (often not root) must traverse /.
  await chmod(root, 0o755);
  await chmod(join(root, 'tmp'), 0o1777);

  const node = await realpath(process.execPath);
  await copyFile(node, join(root, 'usr/bin/node'));
  const binaries = await readBinaries(repoRoot);
  for (const binary of binaries.copy) {
    const dest = join(root, mergedUsrPath(binary));
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(binary, dest);
  }
  const linked = [node, ...binaries.copy, ...mountedBinaries(repoRoot, binaries)];
  const libraries = new Set((await Promise.all(linked.map(sharedLibraries))).flat());
  for (const lib of libraries) {
    const dest = join(root, mergedUsrPath(lib));
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(lib, dest); // follows symlinks: the image gets the real file under the linked name
  }

  await writeFile(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  );
  await writeFile(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');

  for (const module of await readNativeModules(repoRoot)) {
    const from = join(repoRoot, 'node_modules', module.name);
    const to = join(root, 'app/node_modules', module.name);
    for (const entry of module.include ?? ['.']) {
      await mkdir(dirname(join(to, entry)), { recursive: true });
      await cp(join(from, entry), join(to, entry), { recursive: true });
    }
  }
}

/** The absolute library paths `ldd` lists for a binary; a missing library fails the build. */
async function sharedLibraries(binary: string): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('ldd', [binary]));
  } catch (err) {
    throw new Error(`ldd ${binary} failed (${errorText(err)}); is it a dynamic glibc binary?`, {
      cause: err,
    });
  }
  return parseLddOutput(stdout);
}

/** Pure: `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` and `/lib64/ld-linux-x86-64.so.2 (0x…)`. */
export function parseLddOutput(text: string): string[] {
  const libs: string[] = [];
  for (const line of text.split('\n')) {
    if (line.includes('=> not found'))
      throw new Error(`a library the image needs is missing: ${line.trim()}`);
    const path = /(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line)?.[1];
    if (path) libs.push(path);
  }
  return libs;
}

/** /lib/x/libc.so.6 → /usr/lib/x/libc.so.6; the image links /lib → usr/lib, so both names resolve. */
export function mergedUsrPath(path: string): string {
  return path.startsWith('/usr/') ? path : `/usr${path}`;
}

/** Streams the rootfs as a tar (system tar, async) into the engine's image import; returns the image id. */
async function importRootfs(docker: Docker, root: string): Promise<string> {
  const body = await withTarStream(root, async (tar) =>
    readAll(await docker.importImage(tar, { changes: IMAGE_CHANGES })),
  );
  return imageIdFromImportResponse(body);
}

/** Podman ends with `{"id":"sha256:…"}`, Docker Engine with `{"status":"sha256:…"}`; errors come as `{"error":…}`. */
export function imageIdFromImportResponse(body: string): string {
  let id: string | undefined;
  for (const line of body.split('\n')) {
    if (!line.trim()) continue;
    const message = JSON.parse(line) as { id?: string; status?: string; error?: string };
    if (message.error) throw new Error(`the engine refused the import: ${message.error}`);
    for (const value of [message.id, message.status]) {
      if (value && /^sha256:[0-9a-f]{64}$/.test(value)) id = value;
    }
  }
  if (!id) throw new Error(`the engine's import response has no image id: ${body.slice(0, 300)}`);
  return id;
}

async function readNativeModules(repoRoot: string): Promise<NativeModuleRecipe[]> {
  const file = join(repoRoot, RECIPE_DIR, NATIVE_MODULES_FILE);
  const parsed = JSON.parse(await readFile(file, 'utf8')) as { modules?: NativeModuleRecipe[] };
  if (!Array.isArray(parsed.modules)) throw new Error(`${file} has no "modules" list`);
  return parsed.modules;
}

async function installedVersion(repoRoot: string, name: string): Promise<string> {
  const file = join(repoRoot, 'node_modules', name, 'package.json');
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as { version: string }).version;
  } catch (err) {
    throw new Error(`native module ${name} is not installed (${file}: ${errorText(err)}); run npm install`, {
      cause: err,
    });
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

function splitTag(tag: string): [string, string] {
  const at = tag.lastIndexOf(':');
  return [tag.slice(0, at), tag.slice(at + 1)];
}

function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}
