// Front door of the model gateway (DESIGN §5): one unix socket per running session, mounted into its
// container at /session/gateway. The runner sends its provider's HTTP calls there; the gateway knows
// the session by the socket the call came in on, applies the agent group's limits, adds the host's
// key and passes the call on, and records the tokens the provider reports. Keys never enter a container.
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { getAgentGroup, type AgentGroup } from '../../db/agent-groups.ts';
import type { Db } from '../../db/connection.ts';
import type { ModelProvider } from '../../db/enums.ts';
import { recordModelUsage, tokensUsedByGroup, type TokenCounts } from '../../db/model-usage.ts';
import { getSession } from '../../db/sessions.ts';
import type { Logger } from '../logger.ts';
import { sessionPaths } from '../sessions/index.ts';
import { admitCall } from './admission.ts';
import { currentUserOf } from './attribution.ts';
import { fenceCall } from './fence.ts';
import { forwardCall, send } from './forward.ts';
import { createRateLimiter, utcDay } from './limits.ts';
import { refusal, type RefusalKind } from './refusals.ts';
import { bodyForUpstream, inspectBody } from './request-body.ts';
import type { Secrets } from './secrets.ts';
import { GATEWAY_DIR, GATEWAY_SOCKET, listenOnSocket } from './socket.ts';
import { createUsageTap } from './usage.ts';
import { upstreamHeaders } from './upstream.ts';

export { GATEWAY_DIR, GATEWAY_SOCKET } from './socket.ts';
export { utcDay } from './limits.ts';
export { loadSecrets, SecretsFileError, type Secrets } from './secrets.ts';
export { DEFAULT_BASE_URLS, DEFAULT_KEY_NAMES, upstreamOf } from './upstream.ts';
export { createUsageTap, type UsageTap } from './usage.ts';
export {
  DEFAULT_CLAUDE_MODEL,
  DEFAULT_OPENAI_MODEL,
  defaultModelSetup,
  describeGroupModel,
  type ModelSetup,
} from './model-setup.ts';

export const DEFAULT_TIMEOUT_MS = 120_000;
/** Anthropic accepts requests up to 32 MB; images and PDFs travel base64 in the body. */
const MAX_BODY_BYTES = 32 << 20;

export interface GatewayDeps {
  db: Db;
  dataDir: string;
  secrets: Secrets;
  clock: () => Date;
  log: Logger;
  /** Upstream HTTP; global fetch unless a test passes its own. */
  fetch?: typeof fetch;
  /** Tests observe each call once it has been recorded. */
  onCall?: (call: GatewayCall) => void;
}

/** What one call through the gateway came to. */
export interface GatewayCall {
  sessionId: string;
  agentGroupId: string;
  path: string;
  model: string | undefined;
  /** The gateway's own answer (a refusal), or undefined when the call went upstream. */
  refused?: string;
  upstreamStatus?: number;
  failure?: string;
  usage?: TokenCounts;
  durationMs: number;
}

export interface Gateway {
  /** Starts the session's socket (idempotent); resolves once it accepts connections. */
  open(sessionId: string): Promise<{ dir: string }>;
  /** Stops the session's socket and removes it (idempotent); calls in flight are cut off. */
  close(sessionId: string): Promise<void>;
  closeAll(): Promise<void>;
}

export function createGateway(deps: GatewayDeps): Gateway {
  const { db, log, clock } = deps;
  const doFetch = deps.fetch ?? fetch;
  const servers = new Map<string, { server: Server; socket: string; ready: Promise<void> }>();
  const rate = createRateLimiter(clock);

  return { open, close, closeAll };

  async function open(sessionId: string): Promise<{ dir: string }> {
    const session = getSession(db, sessionId);
    if (!session) throw new Error(`gateway: no session ${sessionId}`);
    const dir = join(sessionPaths(deps.dataDir, session.agentGroupId, sessionId).root, GATEWAY_DIR);
    const existing = servers.get(sessionId);
    if (existing) {
      await existing.ready;
      return { dir };
    }
    const socket = join(dir, GATEWAY_SOCKET);
    const server = createServer((req, res) => {
      handle(sessionId, req, res).catch((err: unknown) => {
        log.error({ sessionId, err }, 'gateway: a model call failed inside the gateway');
        send(res, refusal('openai', 'upstream_unreachable', 'the Warren gateway failed; see the host log'));
      });
    });
    const ready = listenOnSocket(server, dir, socket);
    servers.set(sessionId, { server, socket, ready });
    try {
      await ready;
    } catch (err) {
      servers.delete(sessionId);
      throw err;
    }
    return { dir };
  }

  async function close(sessionId: string): Promise<void> {
    const entry = servers.get(sessionId);
    if (!entry) return;
    servers.delete(sessionId);
    await entry.ready.catch(() => {});
    await new Promise<void>((resolve) => {
      entry.server.close(() => resolve());
      entry.server.closeAllConnections();
    });
    await rm(entry.socket, { force: true });
  }

  async function closeAll(): Promise<void> {
    await Promise.all([...servers.keys()].map((id) => close(id)));
  }

  async function handle(sessionId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = clock().getTime();
    const session = getSession(db, sessionId);
    const group = session && getAgentGroup(db, session.agentGroupId);
    const path = req.url ?? '/';
    const report = (call: Omit<GatewayCall, 'sessionId' | 'agentGroupId' | 'path' | 'durationMs'>) =>
      deps.onCall?.({
        sessionId,
        agentGroupId: group?.id ?? '',
        path,
        durationMs: clock().getTime() - started,
        ...call,
      });
    if (!session || !group || session.status !== 'active') {
      req.resume();
      send(
        res,
        refusal('openai', 'no_session', `session ${sessionId} is not active; it makes no model calls`),
      );
      return report({ model: undefined, refused: 'no_session' });
    }
    const provider = group.provider;
    if (provider === 'scripted') {
      req.resume();
      send(
        res,
        refusal(
          provider,
          'no_provider',
          `agent group ${group.folder} uses the scripted provider and has no model; ` +
            `configure one: warren groups model ${group.folder} --provider claude|openai --model …`,
        ),
      );
      return report({ model: undefined, refused: 'no_provider' });
    }
    const refuse = (
      kind: RefusalKind,
      message: string,
      extra: { retryAfterSeconds?: number } = {},
      model?: string,
    ) => {
      send(res, refusal(provider, kind, message, extra));
      log.info({ sessionId, group: group.folder, path, kind, model }, 'gateway refused a model call');
      report({ model, refused: kind });
    };
    // Origin-form only ("/v1/messages"): an absolute URL would turn the gateway into an open proxy.
    if (!path.startsWith('/') || path.startsWith('//')) {
      req.resume();
      return refuse('bad_request', 'the gateway takes paths such as /v1/messages, not absolute URLs');
    }
    // The fence before anything is read: a call off the provider's list is never forwarded.
    const fenced = fenceCall(provider, req.method ?? 'GET', path);
    if (!fenced.ok) {
      req.resume();
      return refuse('not_found', fenced.message);
    }
    const raw = await readBody(req);
    if (raw === 'too_large') {
      return refuse('too_large', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    }
    const body = inspectBody(raw);
    if (!body.ok) return refuse('bad_request', body.error);
    const model = body.model;
    // Every forwarded call names its model, so the allow-list and the budget always apply.
    if (model === undefined) {
      return refuse('bad_request', `${req.method} ${fenced.path} needs a "model" in its JSON body`);
    }
    const config = group.modelConfig;
    const admission = admitCall({
      group: { ...group, provider },
      model,
      secrets: deps.secrets,
      rate,
      tokensToday: () => {
        const day = utcDay(clock());
        return tokensUsedByGroup(db, group.id, day.start, day.end);
      },
      now: clock(),
    });
    if (!admission.ok) {
      const { kind, message, retryAfterSeconds } = admission;
      return refuse(kind, message, { retryAfterSeconds }, model);
    }
    const { upstream, key } = admission;
    const userId = attribute(sessionId, session.agentGroupId);
    const tap = { current: undefined as ReturnType<typeof createUsageTap> | undefined };
    const result = await forwardCall(
      {
        url: `${upstream.baseUrl}${fenced.path}`,
        method: req.method ?? 'GET',
        headers: upstreamHeaders(provider, req.headers, key),
        body: raw.length > 0 ? bodyForUpstream(provider, path, raw, body.json) : undefined,
        timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      },
      res,
      {
        provider,
        group: group.folder,
        key,
        fetch: doFetch,
        onChunk(chunk, contentType) {
          tap.current ??= createUsageTap(provider, contentType);
          tap.current.push(chunk);
        },
      },
    );
    const usage = tap.current?.result();
    const durationMs = clock().getTime() - started;
    if (result.upstreamStatus !== undefined) {
      record(group, sessionId, userId, provider, model, path, usage, result.upstreamStatus, durationMs);
    }
    if (result.failure) {
      log.warn(
        {
          sessionId,
          group: group.folder,
          path,
          model,
          status: result.upstreamStatus,
          failure: result.failure,
        },
        'gateway: a model call did not complete',
      );
    }
    report({ model, upstreamStatus: result.upstreamStatus, failure: result.failure, usage });
  }

  function attribute(sessionId: string, agentGroupId: string): string | null {
    try {
      return currentUserOf(db, sessionPaths(deps.dataDir, agentGroupId, sessionId));
    } catch (err) {
      log.debug({ sessionId, err }, 'gateway: no user for this call (session files not readable)');
      return null;
    }
  }

  function record(
    group: AgentGroup,
    sessionId: string,
    userId: string | null,
    provider: ModelProvider,
    model: string | undefined,
    path: string,
    usage: TokenCounts | undefined,
    statusCode: number,
    durationMs: number,
  ): void {
    try {
      recordModelUsage(db, {
        agentGroupId: group.id,
        sessionId,
        userId,
        provider,
        model: model ?? null,
        path: path.slice(0, 2000),
        inputTokens: usage?.inputTokens ?? 0,
        outputTokens: usage?.outputTokens ?? 0,
        cacheReadTokens: usage?.cacheReadTokens ?? 0,
        cacheWriteTokens: usage?.cacheWriteTokens ?? 0,
        statusCode,
        durationMs,
        createdAt: clock().toISOString(),
      });
    } catch (err) {
      log.error({ sessionId, group: group.folder, err }, 'gateway: could not record model usage');
    }
  }
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        resolve('too_large');
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
