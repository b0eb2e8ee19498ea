// A real gateway on a temporary data folder for integration tests: central database, one agent group
// and one session with its files, the session's socket open, and an HTTP client that talks to that
// unix socket the way the runner's SDK does (node:http with socketPath).
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createAgentGroup, type AgentGroup, type ModelConfig } from '../../src/db/agent-groups.ts';
import { openCentralDb, type Db } from '../../src/db/connection.ts';
import type { Provider } from '../../src/db/enums.ts';
import { createSession } from '../../src/db/sessions.ts';
import { createGateway, loadSecrets, type Gateway, type GatewayCall } from '../../src/host/gateway/index.ts';
import { createMetrics, type HostMetrics } from '../../src/host/metrics/index.ts';
import { createSessionFiles, sessionPaths, type SessionPaths } from '../../src/host/sessions/index.ts';
import { startFakeAnthropic, type FakeAnthropic } from './fake-anthropic.ts';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai.ts';
import type { Cleanups } from './cleanups.ts';

export interface GatewayFixtureOptions {
  provider: Provider;
  model?: string | null;
  modelConfig?: ModelConfig;
  /** Environment the keys come from (default: none). */
  env?: Record<string, string>;
  clock?: () => Date;
}

export interface GatewayFixture {
  dataDir: string;
  db: Db;
  group: AgentGroup;
  sessionId: string;
  paths: SessionPaths;
  gateway: Gateway;
  socket: string;
  /** Every call the gateway finished, in order. */
  calls: GatewayCall[];
  /** The registry the gateway counts tokens and refusals in (no process metrics). */
  metrics: HostMetrics;
  /** Resolves with the next finished call. */
  nextCall(): Promise<GatewayCall>;
  /** Log lines the gateway wrote (JSON, one per line). */
  logs(): string;
  close(): Promise<void>;
}

export async function startGatewayFixture(options: GatewayFixtureOptions): Promise<GatewayFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-gw-'));
  const db = openCentralDb(join(dataDir, 'warren.db'));
  const now = new Date().toISOString();
  const group = createAgentGroup(
    db,
    {
      name: 'Main',
      folder: 'main',
      provider: options.provider,
      model: options.model === undefined ? null : options.model,
      modelConfig: options.modelConfig ?? {},
    },
    now,
  );
  const session = createSession(db, { agentGroupId: group.id, messagingGroupId: null, threadId: null }, now);
  const paths = sessionPaths(dataDir, group.id, session.id);
  createSessionFiles(paths);
  let logText = '';
  const log = pino({ level: 'debug' }, { write: (line: string) => void (logText += line) });
  const calls: GatewayCall[] = [];
  const waiters: ((call: GatewayCall) => void)[] = [];
  const secretsFile = join(dataDir, 'secrets.json');
  const metrics = createMetrics({ defaultMetrics: false });
  const gateway = createGateway({
    metrics,
    db,
    dataDir,
    secrets: loadSecrets({ file: secretsFile, env: options.env ?? {} }),
    clock: options.clock ?? (() => new Date()),
    log,
    onCall: (call) => {
      calls.push(call);
      waiters.shift()?.(call);
    },
  });
  const { dir } = await gateway.open(session.id);
  return {
    dataDir,
    db,
    group,
    sessionId: session.id,
    paths,
    gateway,
    socket: join(dir, 'model.sock'),
    calls,
    metrics,
    nextCall: () => new Promise((resolve) => waiters.push(resolve)),
    logs: () => logText,
    async close() {
      await gateway.closeAll();
      db.close();
    },
  };
}

/** The host keys the provider gateways below use unless told otherwise. */
export const CLAUDE_TEST_KEY = 'sk-ant-host-key';
export const OPENAI_TEST_KEY = 'sk-openai-host-key';

export interface ProviderGatewayOptions {
  /** The group's model (default: claude-sonnet-4-5 / gpt-fake); null = none configured. */
  model?: string | null;
  /** Merged over { baseUrl: the fake's url }. */
  modelConfig?: ModelConfig;
  clock?: () => Date;
  /**
   * The host key: put in the gateway's env and required by the fake (default: the test key).
   * null = no key in the env, and the fake accepts any key or none.
   */
  key?: string | null;
}

export interface ProviderGateway<Fake> {
  fake: Fake;
  gw: GatewayFixture;
}

/**
 * A fake Anthropic API with a claude gateway fixture in front of it; the fake's close and the
 * gateway's are pushed onto `cleanups` (see cleanups.ts).
 *
 *   const { fake, gw } = await startClaudeGateway(cleanups, { modelConfig: { timeoutMs: 1000 } });
 */
export async function startClaudeGateway(
  cleanups: Cleanups,
  options: ProviderGatewayOptions = {},
): Promise<ProviderGateway<FakeAnthropic>> {
  const key = options.key === undefined ? CLAUDE_TEST_KEY : options.key;
  const fake = await startFakeAnthropic(key === null ? {} : { apiKey: key });
  cleanups.push(() => fake.close());
  const gw = await startProviderGateway(
    'claude',
    'claude-sonnet-4-5',
    'ANTHROPIC_API_KEY',
    fake.url,
    key,
    options,
  );
  cleanups.push(() => gw.close());
  return { fake, gw };
}

/** A fake OpenAI API with an openai gateway fixture in front of it; see startClaudeGateway. */
export async function startOpenAIGateway(
  cleanups: Cleanups,
  options: ProviderGatewayOptions = {},
): Promise<ProviderGateway<FakeOpenAI>> {
  const key = options.key === undefined ? OPENAI_TEST_KEY : options.key;
  const fake = await startFakeOpenAI(key === null ? {} : { apiKey: key });
  cleanups.push(() => fake.close());
  const gw = await startProviderGateway('openai', 'gpt-fake', 'OPENAI_API_KEY', fake.url, key, options);
  cleanups.push(() => gw.close());
  return { fake, gw };
}

function startProviderGateway(
  provider: Provider,
  defaultModel: string,
  keyVariable: string,
  baseUrl: string,
  key: string | null,
  options: ProviderGatewayOptions,
): Promise<GatewayFixture> {
  return startGatewayFixture({
    provider,
    model: options.model === undefined ? defaultModel : options.model,
    modelConfig: { baseUrl, ...options.modelConfig },
    ...(key === null ? {} : { env: { [keyVariable]: key } }),
    clock: options.clock,
  });
}

export interface SocketResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any -- provider-specific shapes
}

export interface SocketRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** One call over the unix socket, answer read to the end. */
export async function callSocket(socket: string, req: SocketRequest): Promise<SocketResponse> {
  const stream = await openSocketStream(socket, req);
  const chunks: Buffer[] = [];
  for await (const chunk of stream.body) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return { status: stream.status, headers: stream.headers, text, json: () => JSON.parse(text) };
}

export interface SocketStream {
  status: number;
  headers: IncomingHttpHeaders;
  body: AsyncIterable<Buffer> & NodeJS.ReadableStream;
  /** Hang up, as a container that stops mid-call does. */
  abort(): void;
}

/** One call over the unix socket; resolves when the response headers arrive. */
export function openSocketStream(socket: string, req: SocketRequest): Promise<SocketStream> {
  const payload =
    req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        socketPath: socket,
        method: req.method ?? (payload === undefined ? 'GET' : 'POST'),
        path: req.path,
        headers: {
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...req.headers,
        },
      },
      (res) =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: res,
          abort: () => outgoing.destroy(),
        }),
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

export function writeSecretsFile(dataDir: string, values: Record<string, string>, mode: number): string {
  const file = join(dataDir, 'secrets.json');
  writeFileSync(file, JSON.stringify(values), { mode });
  return file;
}
