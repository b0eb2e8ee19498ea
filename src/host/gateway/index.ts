// Front door of the model gateway (DESIGN §5): one unix socket per running session, mounted into its
// container at /session/gateway. The runner sends its provider's HTTP calls there; the gateway knows
// the session by the socket the call came in on, applies the agent group's limits, adds the host's
// key and passes the call on, and records the tokens the provider reports. Keys never enter a container.
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Db } from '../../db/connection.ts';
import { getSession } from '../../db/sessions.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/index.ts';
import { sessionPaths } from '../sessions/index.ts';
import { handleCall, type CallContext, type GatewayCall } from './call.ts';
import { send } from './forward.ts';
import { createRateLimiter } from './limits.ts';
import { refusal } from './refusals.ts';
import type { Secrets } from './secrets.ts';
import { GATEWAY_DIR, GATEWAY_SOCKET, listenOnSocket } from './socket.ts';

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
  groupModelView,
  type ModelSetup,
} from './model-setup.ts';
export { DEFAULT_TIMEOUT_MS, type GatewayCall } from './call.ts';

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
  /** Counts tokens by agent group and the gateway's refusals (metrics/). */
  metrics?: Pick<Metrics, 'modelCall'>;
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
  const calls: CallContext = {
    db,
    dataDir: deps.dataDir,
    secrets: deps.secrets,
    clock,
    log,
    fetch: deps.fetch ?? fetch,
    rate: createRateLimiter(clock),
    onCall: deps.onCall,
    metrics: deps.metrics,
  };
  const servers = new Map<string, { server: Server; socket: string; ready: Promise<void> }>();

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
      handleCall(calls, sessionId, req, res).catch((err: unknown) => {
        log.error({ sessionId, err }, 'gateway: a model call failed inside the gateway');
        deps.metrics?.modelCall({ agentGroupId: '', refused: 'upstream_unreachable' });
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
}
