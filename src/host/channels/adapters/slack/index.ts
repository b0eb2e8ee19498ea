// The Slack adapter: Socket Mode by default (an app-level token, no public URL), the HTTP Events API as
// an option (signed requests to /channels/<installation>/events). It only speaks Slack; splitting, queues,
// 429 waits, idempotency, dedup and the watchdog are the shared machinery's (platform-channel.ts).
//
// Socket Mode uses @slack/socket-mode's client (the one bolt wraps) directly rather than a bolt App:
// bolt acknowledges an event before its listener runs, so an event Warren failed to store would be lost
// instead of redelivered; and its client's own reconnect loop would compete with the watchdog's restart.
import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { Hono } from 'hono';
import { z } from 'zod';
import { ChannelSendError } from '../../channel.ts';
import type { Logger } from '../../../logger.ts';
import {
  CHAT_PLATFORM_CAPABILITIES,
  type AdapterOptions,
  type PlatformAdapter,
  type PlatformEvents,
} from '../../platform.ts';
import { describe, toChannelSendError } from './errors.ts';
import { originOf } from '../../inbound-file.ts';
import type { FileAccess } from './files.ts';
import { httpRoutes } from './http.ts';
import { createInbound } from './inbound.ts';
import type { SlackIdentity } from './normalize.ts';
import { addReaction, editMessage, postPiece, type SendDeps } from './send.ts';
import { openSocketMode, slackLogger, type SocketModeLink } from './socket.ts';

export { isValidSlackSignature, signSlackRequest } from './signature.ts';

/** The installation's settings (channel_installations.settings). */
export const SlackSettings = z.strictObject({
  /** 'socket' (default): Socket Mode with the appToken; 'http': Events API with the signingSecret. */
  mode: z.enum(['socket', 'http']).default('socket'),
  /** Where Slack serves and receives files (url_private_download, upload URLs); the API base is allowed too. */
  filesBaseUrl: z.url().default('https://files.slack.com'),
  /** Answer a channel message by starting a thread under it instead of posting in the channel. */
  replyInThread: z.boolean().default(false),
  /** Look senders' names up with users.info (needs the users:read scope). */
  resolveNames: z.boolean().default(true),
  requestTimeoutMs: z.number().int().min(1000).max(300_000).default(30_000),
  connectTimeoutMs: z.number().int().min(500).max(120_000).default(10_000),
  /** How long a Socket Mode ping may go unanswered before the link counts as broken. */
  pingTimeoutMs: z.number().int().min(1000).max(60_000).default(5000),
  /** HTTP mode: how often auth.test proves the link while Slack sends nothing. */
  httpCheckSeconds: z.number().int().min(1).max(3600).default(60),
});
export type SlackSettings = z.infer<typeof SlackSettings>;

const DEFAULT_API_BASE = 'https://slack.com/api/';
const BOT_USER_ID = /^[A-Z0-9]{1,40}$/;

export function createSlackAdapter(options: AdapterOptions): PlatformAdapter & { readonly http?: Hono } {
  const settings = parseSettings(options);
  const apiBase = (options.apiBaseUrl ?? DEFAULT_API_BASE).replace(/\/*$/, '/');
  const log = options.log.child({ channel: options.installation });
  let stopping = new AbortController();
  const clientOptions = webClientOptions(apiBase, settings, log, () => stopping.signal);

  let webClient: WebClient | undefined;
  const web = () => (webClient ??= new WebClient(options.secret('botToken'), clientOptions));
  const files: FileAccess = {
    allowedOrigins: new Set(
      [originOf(apiBase), originOf(settings.filesBaseUrl)].filter((o) => o !== undefined),
    ),
    botToken: () => options.secret('botToken'),
    maxInboundFileBytes: options.maxInboundFileBytes,
    signal: () => stopping.signal,
    timeoutMs: settings.requestTimeoutMs,
  };
  const send: SendDeps = { web, files, replyInThread: settings.replyInThread };
  let receiving: { events: PlatformEvents; who: SlackIdentity } | undefined;
  let link: SocketModeLink | undefined;
  let httpCheck: NodeJS.Timeout | undefined;
  /** Bumped by stop(): a start() still connecting when it ran gives up instead of leaving a live link. */
  let generation = 0;
  const inbound = createInbound({
    receiving: () => receiving,
    web,
    files,
    resolveNames: settings.resolveNames,
    log,
  });

  return {
    platform: 'slack',
    capabilities: CHAT_PLATFORM_CAPABILITIES, // Slack bots have no typing indicator
    limits: { maxText: 40_000, minIntervalMs: 1000 },
    ...(settings.mode === 'http' && {
      http: httpRoutes({
        signingSecret: () => options.secret('signingSecret'),
        inbound,
        alive: () => receiving?.events.alive(),
        clock: options.clock,
        log,
      }),
    }),

    async start(events) {
      if (receiving !== undefined) await this.stop();
      const run = generation;
      const who = await identify(web(), options.installation);
      if (run !== generation)
        throw new ChannelSendError('transient', 'the Slack adapter stopped while starting');
      // Receiving before the socket opens: Slack replays unacknowledged envelopes right after hello.
      receiving = { events, who };
      if (settings.mode === 'socket') {
        try {
          const opened = await openSocketMode({
            appToken: options.secret('appToken'),
            clientOptions,
            connectTimeoutMs: settings.connectTimeoutMs,
            pingTimeoutMs: settings.pingTimeoutMs,
            log,
            onEnvelope: inbound.onEnvelope,
            alive: () => events.alive(),
            failed: (error) => {
              log.warn({ err: describe(error) }, 'slack: Socket Mode link broke');
              events.failed(error);
            },
          });
          if (run !== generation) {
            await opened.close();
            throw new ChannelSendError('transient', 'the Slack adapter stopped while starting');
          }
          link = opened;
        } catch (error) {
          if (run === generation) receiving = undefined;
          throw toChannelSendError(error, 'Socket Mode connect');
        }
      }
      // HTTP mode has no socket to watch: an auth.test now and then proves Slack and the token still work.
      if (settings.mode === 'http') httpCheck = checkHttpLink(web, events, settings.httpCheckSeconds * 1000);
      events.alive();
      log.info({ mode: settings.mode, bot: who.botUserId }, 'slack: receiving');
    },

    async stop() {
      generation++;
      receiving = undefined;
      clearInterval(httpCheck);
      // Requests in flight (a hung post, a download) end now; later calls get a fresh signal.
      stopping.abort(new Error('the Slack adapter stopped'));
      stopping = new AbortController();
      const closing = link;
      link = undefined;
      await closing?.close();
    },

    post: (piece) => postPiece(send, piece),
    edit: (chatId, _threadId, ts, text) => editMessage(send, chatId, ts, text),
    react: (chatId, ts, emoji) => addReaction(send, chatId, ts, emoji),

    async probe() {
      const who = await identify(web(), options.installation);
      return { botName: who.botName };
    },
  };
}

/** Options of every Web API client (the bot's, and the Socket Mode client's for apps.connections.open). */
function webClientOptions(
  apiBase: string,
  settings: SlackSettings,
  log: Logger,
  stopping: () => AbortSignal,
): WebClientOptions {
  return {
    slackApiUrl: apiBase,
    // A library retry of a post that reached Slack posts twice: the machinery retries, knowing what was sent.
    retryConfig: { retries: 0 },
    // Without this the client sleeps out a 429 itself, holding its whole queue.
    rejectRateLimitedCalls: true,
    timeout: settings.requestTimeoutMs,
    logger: slackLogger(log),
    // stop() aborts whatever is in flight.
    fetch: (url, init) =>
      fetch(url, { ...init, signal: AbortSignal.any([stopping(), ...(init?.signal ? [init.signal] : [])]) }),
  };
}

/** HTTP mode's proof of life: auth.test every `everyMs`; a failure is a broken link for the watchdog. */
function checkHttpLink(web: () => WebClient, events: PlatformEvents, everyMs: number): NodeJS.Timeout {
  const timer = setInterval(() => {
    web()
      .auth.test()
      .then(
        () => events.alive(),
        (error: unknown) => events.failed(toChannelSendError(error, 'auth.test')),
      );
  }, everyMs);
  timer.unref();
  return timer;
}

/** auth.test: the bot's user id (to ignore its own messages and find its mentions) and name. */
async function identify(web: WebClient, installation: string): Promise<SlackIdentity & { botName: string }> {
  let answer: Awaited<ReturnType<WebClient['auth']['test']>>;
  try {
    answer = await web.auth.test();
  } catch (error) {
    throw toChannelSendError(error, 'auth.test');
  }
  const { user_id: botUserId, bot_id: botId, user } = answer;
  if (typeof botUserId !== 'string' || !BOT_USER_ID.test(botUserId)) {
    throw new ChannelSendError(
      'auth_failed',
      'auth.test named no bot user: is botToken a bot token (xoxb-)?',
    );
  }
  return {
    installation,
    botUserId,
    ...(typeof botId === 'string' && BOT_USER_ID.test(botId) && { botId }),
    botName: typeof user === 'string' ? user.slice(0, 256) : botUserId,
  };
}

function parseSettings(options: AdapterOptions): SlackSettings {
  const parsed = SlackSettings.safeParse(options.settings);
  if (parsed.success) return parsed.data;
  throw new Error(
    `slack installation ${options.installation}: bad settings (${z.prettifyError(parsed.error)})`,
  );
}
