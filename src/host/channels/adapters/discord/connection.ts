// start() and stop(): one run of the gateway link feeding the inbound handler. The gateway session
// outlives runs (gateway.ts), so the watchdog's stop() then start() resumes instead of re-identifying.
import { InteractionResponseType, Routes } from 'discord.js';
import { ChannelSendError } from '../../channel.ts';
import type { AdapterOptions, PlatformEvents } from '../../platform.ts';
import { describe, toChannelSendError } from './errors.ts';
import { openGateway, type GatewayLink, type SessionStore } from './gateway.ts';
import { createInbound, type InboundDeps } from './inbound.ts';
import { scrub, type DiscordRest } from './rest.ts';

/** stop() gives the socket's close handshake this long, then lets it finish in the background. */
const STOP_GRACE_MS = 2_000;

export interface ConnectionDeps {
  options: AdapterOptions;
  token: string;
  discord: DiscordRest;
  cdnOrigin: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  /** The bot's user id (users/@me), asked once. */
  botUserId(): Promise<string>;
  remember(messageId: string, channelId: string): void;
}

/** One start() until its stop(): the gateway link and the inbound handler it feeds. */
interface Run {
  link: GatewayLink | null;
  inbound: ReturnType<typeof createInbound> | null;
  stopped: AbortController;
}

export function createConnection(deps: ConnectionDeps) {
  const { options, token, discord } = deps;
  const { log } = options;
  const sessions: SessionStore = new Map();
  let run: Run | null = null;

  async function start(events: PlatformEvents): Promise<void> {
    if (run) return;
    const current: Run = { link: null, inbound: null, stopped: new AbortController() };
    run = current;
    try {
      const inbound = createInbound(inboundDeps(await deps.botUserId(), events));
      current.inbound = inbound;
      const opened = await openGateway({
        token,
        rest: discord.rest,
        sessions,
        handlers: {
          dispatch: (event) => inbound.dispatch(event),
          alive: () => events.alive(),
          closed: (code) =>
            log.info({ code }, 'discord gateway closed; @discordjs/ws reconnects and resumes'),
          refused: (err) => {
            log.error({ closeCode: err.closeCode }, err.message);
            events.failed(err);
          },
          error: (err) => log.warn({ error: describe(err) }, 'discord gateway error'),
        },
      });
      current.link = opened.link;
      const ready = withTimeout(opened.connected, deps.connectTimeoutMs, 'the gateway did not become ready');
      await untilStopped(ready, current.stopped.signal);
    } catch (err) {
      if (run === current) run = null;
      await closeRun(current);
      throw scrub(toChannelSendError(err, 'connect'), token);
    }
  }

  function inboundDeps(botUserId: string, events: PlatformEvents): InboundDeps {
    return {
      installation: options.installation,
      botUserId,
      cdnOrigin: deps.cdnOrigin,
      maxInboundFileBytes: options.maxInboundFileBytes,
      downloadTimeoutMs: deps.requestTimeoutMs,
      clock: options.clock,
      log,
      events,
      call: discord.call,
      rest: discord.rest,
      remember: deps.remember,
      acknowledge: async (id, interactionToken) => {
        await discord.call('interaction ack', (signal) =>
          discord.rest.post(Routes.interactionCallback(id, interactionToken), {
            body: { type: InteractionResponseType.DeferredMessageUpdate },
            auth: false,
            signal,
          }),
        );
      },
    };
  }

  async function stop(): Promise<void> {
    const stopping = run;
    run = null;
    discord.abortAll();
    if (stopping) await closeRun(stopping);
  }

  async function closeRun(closing: Run): Promise<void> {
    closing.stopped.abort();
    closing.inbound?.close();
    if (!closing.link) return;
    await withTimeout(closing.link.stop(), STOP_GRACE_MS, 'close').catch((err: unknown) =>
      log.warn(
        { error: describe(err) },
        'discord gateway did not close in time; it finishes in the background',
      ),
    );
  }

  return { start, stop };
}

/** Rejects as soon as `signal` aborts (stop() during start()). */
function untilStopped<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new ChannelSendError('transient', 'stopped while connecting'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ChannelSendError('transient', `${what} (after ${ms} ms)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
