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
import { createSessionFiles, sessionPaths, type SessionPaths } from '../../src/host/sessions/index.ts';

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
  const gateway = createGateway({
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
    nextCall: () => new Promise((resolve) => waiters.push(resolve)),
    logs: () => logText,
    async close() {
      await gateway.closeAll();
      db.close();
    },
  };
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
