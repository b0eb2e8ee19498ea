// A real Warren for end-to-end tests: temporary data and groups folders, the host started in this
// process (fast, the default) or as a child `warren start` (so a test can kill -9 it and restart it),
// web chat clients that read the event stream the way a browser does, and direct access to the
// central database for wiring before messages arrive and for assertions afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import Docker from 'dockerode';
import pino from 'pino';
import { inject } from 'vitest';
import {
  createAgentGroup,
  getAgentGroupByFolder,
  updateAgentGroup,
  type AgentGroup,
  type AgentGroupSettings,
} from '../../src/db/agent-groups.ts';
import {
  createChannelInstallation,
  type NewChannelInstallation,
} from '../../src/db/channel-installations.ts';
import type { Db } from '../../src/db/connection.ts';
import { addChannelDestination, removeDestination } from '../../src/db/destinations.ts';
import {
  createMessagingGroup,
  findMessagingGroup,
  type MessagingGroup,
} from '../../src/db/messaging-groups.ts';
import { grantRole } from '../../src/db/roles.ts';
import { setUserDm } from '../../src/db/user-dms.ts';
import type { User } from '../../src/db/users.ts';
import { createWiring, type NewWiring, type Wiring } from '../../src/db/wirings.ts';
import { makeLoginLink, userForAccount } from '../../src/host/access/index.ts';
import { loadConfig, type Config } from '../../src/host/config.ts';
import {
  createDockerRuntime,
  INSTALL_LABEL,
  removeOrphans,
  type ContainerRef,
} from '../../src/host/containers/index.ts';
import { DEFAULT_GROUP_FOLDER, initDataFolder } from '../../src/host/data-folder.ts';
import { startHost, type RunningHost } from '../../src/host/index.ts';
import { createLogger } from '../../src/host/logger.ts';
import { sessionPaths, type SessionPaths } from '../../src/host/sessions/index.ts';
import { readServerSentEvents } from '../../src/host/channels/sse-reader.ts';
import type { Step } from '../../container/agent-runner/src/providers/script.ts';

export { waitUntil } from './wait-until.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The scripted provider's script.json (container/agent-runner/README.md). */
export interface Script {
  rules?: { match: string; steps: Step[] }[];
  default?: Step[];
}

export type ScriptRule = NonNullable<Script['rules']>[number];

/** A message starting "please deploy" makes the agent ask for approval to deploy `version`, then take `then`. */
export function deployApprovalRule(summary: string, version: string, ...then: Step[]): ScriptRule {
  return {
    match: '^please deploy',
    steps: [{ tool: 'request_approval', args: { action: 'deploy', summary, payload: { version } } }, ...then],
  };
}

export interface WarrenOptions {
  /** groups/main/script.json; without it the agent echoes (`echo: <text>`). */
  script?: Script;
  containers?: Partial<Config['containers']>;
  /** Shortcut for containers.idleExitMs; short by default so tests do not keep idle containers. */
  idleExitMs?: number;
  maxTries?: number;
  sweepIntervalMs?: number;
  autoWire?: boolean;
  /** false: run `node bin/warren.js start` as a child process (kill9 and restart need this). */
  inProcess?: boolean;
  /**
   * The host's environment, where the model gateway looks keys up (e.g. ANTHROPIC_API_KEY); none by
   * default, so a developer's own keys never reach a test.
   */
  env?: Record<string, string>;
  /** Chat-platform installations (docs/channels.md) made before the host starts; secrets go in `env`. */
  installations?: NewChannelInstallation[];
  /** More config.json settings (e.g. `{ agentMessages: { maxHops: 4 } }`), merged over the above. */
  config?: Record<string, unknown>;
}

export interface Reply {
  /** The event id: the outbound message's stable id. */
  id: string;
  inReplyTo: string | null;
  text: string;
  files: { name: string; url: string }[];
  thread?: string;
  card?: unknown;
}

/**
 * Who a web chat client is: an anonymous visitor (a handle, as a script posts without signing in) or
 * a browser signed in through a one-time login link (its cookie).
 */
export type Visitor = string | SignedIn;
export interface SignedIn {
  userId: string;
  /** `warren_browser=…`, as the browser sends it. */
  cookie: string;
}

export interface SendInput {
  id?: string;
  text: string;
  sender?: { id: string; name?: string };
  thread?: string;
  mentioned?: boolean;
  /** Files, as the API takes them: `data` is base64 (docs/channels.md). */
  files?: { name: string; type?: string; data: string }[];
  /** Post from this signed-in browser instead of the client's own (anonymous) one. */
  as?: SignedIn;
}

export class PostError extends Error {
  constructor(
    readonly messageId: string | undefined,
    readonly status: number | null,
    detail: string,
  ) {
    super(`POST of message ${messageId ?? '(no id)'} failed: ${detail}`);
    this.name = 'PostError';
  }
}

export interface ChatClient {
  readonly name: string;
  /** Posts a message; resolves with its id on 202, throws PostError otherwise. */
  send(input: SendInput): Promise<string>;
  /** Every `message` event seen so far, once per event id (as a client that drops repeats). */
  replies(): Reply[];
  repliesTo(id: string): Reply[];
  /** Resolves with replies() once it holds at least n; throws with what was seen after timeoutMs. */
  waitForReplies(n: number, timeoutMs?: number): Promise<Reply[]>;
  /** Resolves with the first reply matching the predicate (already seen or arriving). */
  waitForReply(match: (reply: Reply) => boolean, timeoutMs?: number): Promise<Reply>;
  /**
   * "Nothing else arrives", proved by a positive sentinel: sends one more message (text 'sentinel'
   * unless given; the chat must answer it) and waits for its reply. A session answers and delivers in
   * order, so a reply still owed to an earlier message, a duplicate included, arrives before it.
   * Resolves with the replies that came before the sentinel's.
   */
  sentinel(input?: Partial<SendInput>, timeoutMs?: number): Promise<Reply[]>;
  /** Event ids delivered more than once on the stream (replays after a reconnect, resends). */
  readonly repeatedEvents: number;
  /** Resolves once the event stream is open (again, after the host restarted). */
  connected(): Promise<void>;
  close(): Promise<void>;
}

export interface Wire {
  /** The separate read-write connection (WAL, busy_timeout) the helpers use. */
  readonly db: Db;
  main(): AgentGroup;
  /** A new agent group with its folder (and script.json when given). */
  agent(folder: string, options?: { script?: Script }): Promise<AgentGroup>;
  /** The chat's messaging group, created (open to unknown senders) when missing. */
  chat(platformId: string, channelType?: string): MessagingGroup;
  /** `chat`: a web chat's name, or a messaging group from chat() (any channel). */
  wiring(
    chat: string | MessagingGroup,
    agent: AgentGroup,
    options?: Omit<NewWiring, 'messagingGroupId' | 'agentGroupId'>,
  ): Wiring;
  /** Changes an agent group's provider, model and model settings (docs/models.md). */
  model(
    agent: AgentGroup,
    settings: Pick<AgentGroupSettings, 'provider' | 'model' | 'modelConfig'>,
  ): AgentGroup;
  /** The agent may send to the chat under this name. */
  destination(agent: AgentGroup, name: string, chat: string): void;
  removeDestination(agent: AgentGroup, name: string): void;
  /**
   * A user made owner, with `dm` as their direct chat (where approval cards arrive): a web chat user
   * by default; with `channelType`, the platform account `<channelType>:<account>` and its DM chat.
   */
  owner(person: { account: string; name?: string; dm: string; channelType?: string }): User;
}

export interface Warren {
  /** Base URL of the host, e.g. http://127.0.0.1:41234 (stable across restart). */
  readonly url: string;
  readonly dataDir: string;
  readonly groupsDir: string;
  readonly installId: string;
  readonly config: Config;
  readonly docker: Docker;
  readonly wire: Wire;
  /** Opens a web chat client on `name` (as a signed-in browser with `as`); its event stream is open when this resolves. */
  chat(name: string, options?: { as?: SignedIn }): Promise<ChatClient>;
  /**
   * Clicks the card option labelled `label` as the chat page posts it (202 expected): as an anonymous
   * visitor with that handle, or as a signed-in browser.
   */
  click(chat: string, visitor: Visitor, card: Reply, label: string): Promise<void>;
  /** Signs a browser in as `user` the way a person does: `warren login-link`, open it, confirm. */
  signIn(user: User): Promise<SignedIn>;
  /** The central database, read-only, for assertions. */
  db(): Database.Database;
  /** Replaces an agent group's script.json (read again on every turn). */
  setScript(script: Script, folder?: string): Promise<void>;
  /** The (first) session serving a web chat, with the paths of its files; undefined before routing. */
  sessionOf(chat: string): { id: string; paths: SessionPaths } | undefined;
  /** This install's session containers, as the engine lists them. */
  containers(): Promise<ContainerRef[]>;
  /** The host's log lines so far (JSON), for diagnosing a failure. */
  logs(): Promise<string>;
  /** Child process only: SIGKILL the host, wait for it to be gone. */
  kill9(): Promise<void>;
  /**
   * Starts the host again on the same data folder: a child process after kill9() (same port), or in
   * this process after stopHost() (a new port; `url` follows).
   */
  restart(): Promise<void>;
  /** Stops the host as an operator does (it stops its containers) and keeps every file. */
  stopHost(): Promise<void>;
  /** Stops the host, removes this install's containers and every temporary file. */
  stop(): Promise<void>;
}

export async function startWarren(options: WarrenOptions = {}): Promise<Warren> {
  const socketPath = inject('dockerSocket');
  const root = await mkdtemp(join(tmpdir(), 'warren-e2e-'));
  const dataDir = join(root, 'data');
  const groupsDir = join(root, 'groups');
  const logPath = join(root, 'host.log');
  await mkdir(dataDir, { recursive: true });
  await writeFile(
    join(dataDir, 'config.json'),
    JSON.stringify({
      groupsDir,
      logLevel: 'info',
      dockerHost: `unix://${socketPath}`,
      containers: { idleExitMs: options.idleExitMs ?? 3000, ...options.containers },
      sweepIntervalMs: options.sweepIntervalMs ?? 500,
      ...(options.autoWire === undefined ? {} : { autoWire: options.autoWire }),
      ...(options.maxTries === undefined ? {} : { maxTries: options.maxTries }),
      ...options.config,
    }),
  );
  const inProcess = options.inProcess ?? true;
  const port = inProcess ? 0 : await freePort();
  // Only the config file speaks: a developer's WARREN_* variables must not change what a test runs.
  const loaded = loadConfig({ flags: { dataDir }, env: {}, cwd: root });
  const config: Config = { ...loaded, port };
  const { db: wireDb } = await initDataFolder(config, () => new Date());
  if (options.script) await writeScript(groupsDir, DEFAULT_GROUP_FOLDER, options.script);
  for (const installation of options.installations ?? [])
    createChannelInstallation(wireDb, installation, new Date().toISOString());

  const docker = new Docker({ socketPath });
  const runtime = createDockerRuntime({ docker, installId: config.installId });
  const log = createWriteStream(logPath, { flags: 'a' });
  const chats: ChatClient[] = [];
  let readDb: Database.Database | undefined;
  let url = '';
  let host: RunningHost | undefined;
  let child: ChildProcess | undefined;

  async function startChild(): Promise<void> {
    const proc = spawn(
      process.execPath,
      [
        join(repoRoot, 'bin/warren.js'),
        'start',
        '--data-dir',
        dataDir,
        '--groups-dir',
        groupsDir,
        '--port',
        String(port),
      ],
      { env: { ...withoutWarrenVariables(process.env), ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    url = `http://127.0.0.1:${port}`;
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      const onExit = (code: number | null) =>
        reject(new Error(`warren start exited (${code}) before it was running`));
      proc.once('exit', onExit);
      proc.stderr!.pipe(log, { end: false });
      proc.stdout!.on('data', (chunk: Buffer) => {
        log.write(chunk);
        buffered += chunk.toString();
        if (buffered.includes('"msg":"Warren is running"')) {
          proc.off('exit', onExit);
          buffered = '';
          resolve();
        } else buffered = buffered.slice(-4096);
      });
    });
  }

  async function startInProcess(): Promise<void> {
    host = await startHost(config, {
      log: createLogger('info', pino.destination({ dest: logPath, sync: true })),
      env: options.env ?? {},
    });
    url = host.url;
  }

  try {
    if (inProcess) {
      await startInProcess();
    } else {
      await startChild();
    }
  } catch (err) {
    const tail = (await readFile(logPath, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
    if (child) await killChild(child, 'SIGKILL');
    await removeOrphans(runtime, config.installId).catch(() => 0);
    wireDb.close();
    log.end();
    await rm(root, { recursive: true, force: true });
    throw new Error(`Warren did not start: ${(err as Error).message}\n${tail}`, { cause: err });
  }

  const warren: Warren = {
    get url() {
      return url;
    },
    dataDir,
    groupsDir,
    installId: config.installId,
    config,
    docker,
    wire: createWire(wireDb, groupsDir),
    async chat(name, chatOptions = {}) {
      const client = await openChat(() => url, name, chatOptions.as);
      chats.push(client);
      return client;
    },
    async click(chat, visitor, card, label) {
      const options = (card.card as { options?: { label: string; value: string }[] } | undefined)?.options;
      const option = options?.find((o) => o.label === label);
      if (!option) throw new Error(`the card has no option "${label}": ${JSON.stringify(card.card)}`);
      const signedIn = typeof visitor === 'string' ? undefined : visitor;
      const res = await fetch(`${url}/webchat/api/actions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(signedIn ? { cookie: signedIn.cookie } : {}) },
        body: JSON.stringify({
          chat,
          sender: { id: typeof visitor === 'string' ? visitor : 'browser' },
          value: option.value,
          messageId: card.id,
        }),
      });
      if (res.status !== 202) throw new Error(`click "${label}" answered ${res.status}: ${await res.text()}`);
    },
    async signIn(user) {
      const link = makeLoginLink(wireDb, { user, actor: 'e2e', now: new Date(), baseUrl: url });
      const page = await fetch(link.url);
      if (page.status !== 200) throw new Error(`the login link page answered ${page.status}`);
      const code = new URL(link.url).searchParams.get('code')!;
      const res = await fetch(`${url}/webchat/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
        body: new URLSearchParams({ code }).toString(),
        redirect: 'manual',
      });
      const cookie = /^(warren_browser=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
      if (res.status !== 303 || !cookie)
        throw new Error(`sign-in answered ${res.status}: ${await res.text()}`);
      return { userId: user.id, cookie };
    },
    db() {
      readDb ??= new Database(config.centralDbPath, { readonly: true, fileMustExist: true });
      return readDb;
    },
    setScript: (script, folder = DEFAULT_GROUP_FOLDER) => writeScript(groupsDir, folder, script),
    sessionOf(chat) {
      const row = warren
        .db()
        .prepare(
          `SELECT s.id, s.agent_group_id AS agentGroupId FROM sessions s
           JOIN messaging_groups m ON m.id = s.messaging_group_id
           WHERE m.channel_type = 'webchat' AND m.platform_id = ? ORDER BY s.created_at LIMIT 1`,
        )
        .get(chat) as { id: string; agentGroupId: string } | undefined;
      return row && { id: row.id, paths: sessionPaths(dataDir, row.agentGroupId, row.id) };
    },
    containers: () => runtime.list({ [INSTALL_LABEL]: config.installId }),
    logs: () => readFile(logPath, 'utf8').catch(() => ''),
    async kill9() {
      if (!child) throw new Error('kill9 needs startWarren({ inProcess: false })');
      await killChild(child, 'SIGKILL');
      child = undefined;
    },
    async restart() {
      if (host) throw new Error('the host is still running; stopHost() it first');
      if (child) throw new Error('the host is still running; kill9() it first');
      if (inProcess) await startInProcess();
      else await startChild();
    },
    async stopHost() {
      await Promise.all(chats.map((c) => c.close()));
      if (host) await host.stop();
      if (child) await killChild(child, 'SIGTERM', 15_000);
      host = undefined;
      child = undefined;
    },
    async stop() {
      await Promise.all(chats.map((c) => c.close()));
      try {
        if (host) await host.stop();
        if (child) await killChild(child, 'SIGTERM', 15_000);
      } finally {
        // The host removes its containers when it stops; this catches a host that failed to.
        await removeOrphans(runtime, config.installId).catch(() => 0);
        readDb?.close();
        wireDb.close();
        await new Promise((resolve) => log.end(resolve));
        // WARREN_E2E_KEEP=1 keeps the folders (host.log, session files) to look at a failure.
        if (process.env.WARREN_E2E_KEEP) console.log(`kept ${root}`);
        else await rm(root, { recursive: true, force: true });
      }
    },
  };
  return warren;
}

function createWire(db: Db, groupsDir: string): Wire {
  const now = () => new Date().toISOString();
  const wire: Wire = {
    db,
    main: () => getAgentGroupByFolder(db, DEFAULT_GROUP_FOLDER)!,
    async agent(folder, options = {}) {
      const group = createAgentGroup(db, { name: folder, folder, provider: 'scripted' }, now());
      await mkdir(join(groupsDir, folder), { recursive: true });
      if (options.script) await writeScript(groupsDir, folder, options.script);
      return group;
    },
    chat(platformId, channelType = 'webchat') {
      return (
        findMessagingGroup(db, channelType, platformId) ??
        createMessagingGroup(db, { channelType, platformId, unknownSenderPolicy: 'public' }, now())
      );
    },
    wiring(chat, agent, options = {}) {
      return createWiring(
        db,
        {
          ...options,
          messagingGroupId: typeof chat === 'string' ? wire.chat(chat).id : chat.id,
          agentGroupId: agent.id,
        },
        now(),
      );
    },
    model(agent, settings) {
      return updateAgentGroup(db, agent.id, settings, now())!;
    },
    destination(agent, name, chat) {
      addChannelDestination(db, agent.id, name, wire.chat(chat).id, now());
    },
    removeDestination(agent, name) {
      removeDestination(db, agent.id, name);
    },
    owner({ account, name, dm, channelType = 'webchat' }) {
      const user = userForAccount(db, { kind: channelType, externalId: account, name }, now());
      grantRole(db, { userId: user.id, role: 'owner' }, 'e2e', now());
      setUserDm(db, user.id, wire.chat(dm, channelType).id, now());
      return user;
    },
  };
  return wire;
}

async function writeScript(groupsDir: string, folder: string, script: Script): Promise<void> {
  await mkdir(join(groupsDir, folder), { recursive: true });
  await writeFile(join(groupsDir, folder, 'script.json'), JSON.stringify(script, null, 2));
}

/** A web chat client: one event stream that reconnects after it ends, like EventSource. */
async function openChat(baseUrl: () => string, name: string, as?: SignedIn): Promise<ChatClient> {
  const cookie: Record<string, string> = as ? { cookie: as.cookie } : {};
  const seen = new Map<string, Reply>();
  const order: Reply[] = [];
  const waiters = new Set<() => void>();
  const abort = new AbortController();
  let repeated = 0;
  let sentinels = 0;
  let isConnected = false;
  let onConnected: (() => void)[] = [];

  const notify = () => waiters.forEach((w) => w());
  const onEvent = (event: string, id: string, data: string) => {
    if (event !== 'message' || !id) return;
    if (seen.has(id)) {
      repeated++;
      return;
    }
    const reply = JSON.parse(data) as Reply;
    seen.set(id, reply);
    order.push(reply);
    notify();
  };

  const streaming = (async () => {
    while (!abort.signal.aborted) {
      try {
        const res = await fetch(`${baseUrl()}/webchat/api/events?chat=${encodeURIComponent(name)}`, {
          signal: abort.signal,
          headers: cookie,
        });
        if (res.status !== 200 || !res.body) {
          await res.body?.cancel();
          throw new Error(`events answered ${res.status}`);
        }
        isConnected = true;
        onConnected.forEach((resolve) => resolve());
        onConnected = [];
        for await (const e of readServerSentEvents(res.body)) onEvent(e.event, e.id, e.data);
      } catch {
        // connection refused or reset (host stopping or killed): retry below
      }
      isConnected = false;
      if (!abort.signal.aborted) await sleep(100);
    }
  })();

  const client: ChatClient = {
    name,
    async send(input) {
      const { as: from, ...fields } = input;
      const body = { ...fields, chat: name, sender: fields.sender ?? { id: 'tester', name: 'Tester' } };
      const headers = from ? { cookie: from.cookie } : cookie;
      let res: Response;
      try {
        res = await fetch(`${baseUrl()}/webchat/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
      } catch (err) {
        throw new PostError(input.id, null, String((err as Error).cause ?? err));
      }
      const answer = (await res.json().catch(() => ({}))) as { id?: string; error?: string };
      if (res.status !== 202) throw new PostError(input.id, res.status, `${res.status} ${answer.error}`);
      return answer.id!;
    },
    replies: () => [...order],
    repliesTo: (id) => order.filter((r) => r.inReplyTo === id),
    waitForReplies(n, timeoutMs = 30_000) {
      return waitFor(
        () => (order.length >= n ? [...order] : undefined),
        timeoutMs,
        () => `chat ${name}: wanted ${n} replies, got ${order.length}: ${JSON.stringify(order)}`,
      );
    },
    waitForReply(match, timeoutMs = 30_000) {
      return waitFor(
        () => order.find(match),
        timeoutMs,
        () => `chat ${name}: no matching reply among ${JSON.stringify(order)}`,
      );
    },
    async sentinel(input = {}, timeoutMs = 30_000) {
      const id = input.id ?? `sentinel-${++sentinels}`;
      await client.send({ text: 'sentinel', ...input, id });
      const answer = await client.waitForReply((r) => r.inReplyTo === id, timeoutMs);
      return order.slice(0, order.indexOf(answer));
    },
    get repeatedEvents() {
      return repeated;
    },
    connected: () => (isConnected ? Promise.resolve() : new Promise((r) => onConnected.push(r))),
    async close() {
      abort.abort();
      await streaming;
    },
  };
  await client.connected();
  return client;

  function waitFor<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (value === undefined) return;
        done();
        resolve(value);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(attempt);
      };
      waiters.add(attempt);
      attempt();
    });
  }
}

async function killChild(proc: ChildProcess, signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function withoutWarrenVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('WARREN_')));
}
