// Socket Mode: one @slack/socket-mode client per start(), its own reconnection off, so a broken link is
// reported to the watchdog (which restarts the adapter with backoff) instead of looping quietly inside
// the library. Slack's routine `disconnect` (refresh_requested, a pod recycling) reconnects here at once.
// Liveness is the WebSocket heartbeat: every pong from this connection's URL counts as alive().
import diagnostics from 'node:diagnostics_channel';
import { SocketModeClient } from '@slack/socket-mode';
import { LogLevel, type Logger as SlackLogger, type WebClientOptions } from '@slack/web-api';
import type { Logger } from '../../../logger.ts';
import { describe, scrub } from './errors.ts';

export interface SocketEnvelope {
  type: string;
  body: unknown;
  retryNum: number | undefined;
  ack: () => Promise<void>;
}

export interface SocketModeDeps {
  appToken: string;
  clientOptions: WebClientOptions;
  /** Longest wait for `apps.connections.open` and Slack's `hello`. */
  connectTimeoutMs: number;
  /** How long a ping may go unanswered before the client closes the link. */
  pingTimeoutMs: number;
  log: Logger;
  onEnvelope(envelope: SocketEnvelope): void;
  alive(): void;
  failed(error: unknown): void;
}

export interface SocketModeLink {
  close(): Promise<void>;
}

const CLOSE_WAIT_MS = 1000;
const pongs = diagnostics.channel('undici:websocket:pong');

/** Connects and resolves once Slack said hello; reports later breaks through `failed`. */
export async function openSocketMode(deps: SocketModeDeps): Promise<SocketModeLink> {
  let closing = false;
  let current = await connect(deps, onBreak);

  async function onBreak(refresh: boolean): Promise<void> {
    if (closing) return;
    if (!refresh) return deps.failed(new Error('the Socket Mode connection closed'));
    deps.log.info('slack: Socket Mode refresh requested; reconnecting');
    try {
      const next = await connect(deps, onBreak);
      if (closing) await next.close();
      else current = next;
    } catch (error) {
      deps.failed(error);
    }
  }

  return {
    async close() {
      closing = true;
      await current.close();
    },
  };
}

async function connect(deps: SocketModeDeps, onBreak: (refresh: boolean) => void): Promise<SocketModeLink> {
  const client = new SocketModeClient({
    appToken: deps.appToken,
    autoReconnectEnabled: false,
    clientPingTimeout: deps.pingTimeoutMs,
    logger: slackLogger(deps.log),
    clientOptions: deps.clientOptions,
  });
  let url: string | undefined;
  let refresh = false;
  let closed = false;
  const onPong = (message: unknown) => {
    const socket = (message as { websocket?: { url?: unknown } }).websocket;
    if (url !== undefined && typeof socket?.url === 'string' && sameUrl(socket.url, url)) deps.alive();
  };
  client.on('authenticated', (response: { url?: string }) => (url = response.url));
  client.on('ws_message', (data: unknown) => {
    if (typeof data === 'string' && data.includes('"disconnect"') && safeType(data) === 'disconnect')
      refresh = true;
  });
  client.on(
    'slack_event',
    (event: { type: string; body: unknown; retry_num?: number; ack: () => Promise<void> }) => {
      deps.alive();
      deps.onEnvelope({
        type: event.type,
        body: event.body,
        retryNum: event.retry_num,
        ack: () => event.ack(),
      });
    },
  );
  client.on('disconnected', () => {
    pongs.unsubscribe(onPong);
    if (!closed) onBreak(refresh);
  });
  pongs.subscribe(onPong);

  const link: SocketModeLink = {
    async close() {
      closed = true;
      pongs.unsubscribe(onPong);
      // A peer that never completes the close handshake: a second disconnect() cuts the socket at once.
      if (!(await settlesWithin(client.disconnect(), CLOSE_WAIT_MS))) {
        await settlesWithin(client.disconnect(), CLOSE_WAIT_MS);
      }
      client.removeAllListeners();
    },
  };
  try {
    const started = client.start();
    if (!(await settlesWithin(started, deps.connectTimeoutMs))) {
      throw new Error(`Slack did not say hello within ${deps.connectTimeoutMs} ms`);
    }
    await started;
    deps.alive();
    return link;
  } catch (error) {
    await link.close();
    throw error;
  }
}

/** Whether the promise settled (either way) within `ms`; a rejection after the wait is ignored. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = promise.then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
}

function safeType(data: string): unknown {
  try {
    return (JSON.parse(data) as { type?: unknown }).type;
  } catch {
    return undefined;
  }
}

/** The library's logger interface over pino, scrubbed of tokens; its debug lines (payloads) go to trace. */
export function slackLogger(log: Logger): SlackLogger {
  const line = (args: unknown[]) =>
    scrub(args.map((arg) => (typeof arg === 'string' ? arg : describe(arg))).join(' '));
  return {
    debug: (...args: unknown[]) => log.trace(`slack: ${line(args)}`),
    info: (...args: unknown[]) => log.debug(`slack: ${line(args)}`),
    warn: (...args: unknown[]) => log.warn(`slack: ${line(args)}`),
    error: (...args: unknown[]) => log.warn(`slack: ${line(args)}`),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}
