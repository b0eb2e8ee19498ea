// The Microsoft Teams adapter: a bot registered with Azure Bot Service. Microsoft POSTs activities to
// the messaging endpoint (the adapter's `http` app, mounted by the host at /channels/<installation>),
// signed with Bot Framework tokens; replies go to the Bot Connector at each conversation's service URL
// with a bot token from the client-credentials flow. It only speaks Teams; splitting, queues, 429 waits,
// idempotency, dedup and the watchdog are the shared machinery's (platform-channel.ts).
import type { Hono } from 'hono';
import { Capability } from '../../channel.ts';
import type { AdapterOptions, PlatformAdapter, PlatformEvents } from '../../platform.ts';
import { createBotToken } from './bot-token.ts';
import { createServiceUrls } from './conversations.ts';
import { describe } from './errors.ts';
import { messagingEndpoint } from './http.ts';
import { createInboundAuth } from './inbound-auth.ts';
import { editActivity, postPiece, sendTyping, type SendDeps } from './send.ts';
import { parseTeamsSettings, tokenUrlOf } from './settings.ts';

export { ADAPTIVE_CARD } from './card.ts';
export { splitConversationId } from './normalize.ts';

/** Teams takes ~28 KB of text per message in practice (100 KB hard, 413 beyond): 20,000 characters. */
export const TEAMS_MAX_TEXT = 20_000;

export function createTeamsAdapter(options: AdapterOptions): PlatformAdapter & { readonly http: Hono } {
  const settings = parseTeamsSettings(options.installation, options.settings);
  const log = options.log.child({ channel: options.installation });
  let stopping = new AbortController();
  let receiving: PlatformEvents | null = null;
  let check: NodeJS.Timeout | undefined;

  const token = createBotToken({
    tokenUrl: tokenUrlOf(settings),
    appId: settings.appId,
    appPassword: () => options.secret('appPassword'),
    scope: settings.tokenScope,
    timeoutMs: settings.requestTimeoutMs,
    clock: options.clock,
    signal: () => stopping.signal,
  });
  const serviceUrls = createServiceUrls(options.state, options.apiBaseUrl);
  const send: SendDeps = {
    token,
    serviceUrls,
    timeoutMs: settings.requestTimeoutMs,
    clock: options.clock,
    signal: () => stopping.signal,
  };
  const auth = createInboundAuth({
    appId: settings.appId,
    openIdMetadataUrl: settings.openIdMetadataUrl,
    tokenIssuer: settings.tokenIssuer,
    clockToleranceSeconds: settings.clockToleranceSeconds,
    timeoutMs: settings.requestTimeoutMs,
    log,
  });

  return {
    platform: 'teams',
    capabilities:
      Capability.RichCard |
      Capability.Buttons |
      Capability.Threads |
      Capability.Edit |
      Capability.Typing |
      Capability.DirectMessages,
    // Teams paces bots at about one message per second per conversation (and answers 429 beyond).
    limits: { maxText: TEAMS_MAX_TEXT, minIntervalMs: 1000, typingRefreshMs: 3000 },
    // Teams calls in; a quiet tenant is no fault. The token check below reports a broken one.
    quietIsHealthy: true,
    http: messagingEndpoint({
      installation: options.installation,
      verify: auth.verify,
      receiving: () => receiving,
      rememberServiceUrl: serviceUrls.remember,
      clock: options.clock,
      log,
    }),

    async start(events) {
      if (receiving !== null) await this.stop();
      // A bot token proves the app id and secret before anything is accepted.
      await token.get();
      receiving = events;
      // Teams may send nothing for hours: a bot token that can no longer be had is what breaks.
      check = setInterval(() => {
        token.get().then(
          () => events.alive(),
          (error: unknown) => {
            log.warn({ err: describe(error) }, 'teams: bot token refresh failed');
            events.failed(error);
          },
        );
      }, settings.checkSeconds * 1000);
      check.unref();
      events.alive();
      log.info({ appId: settings.appId }, 'teams: receiving');
    },

    async stop() {
      receiving = null;
      clearInterval(check);
      stopping.abort(new Error('the Teams adapter stopped'));
      stopping = new AbortController();
    },

    post: (piece) => postPiece(send, piece),
    edit: (chatId, threadId, activityId, text) => editActivity(send, chatId, threadId, activityId, text),
    typing: (chatId, threadId) => sendTyping(send, chatId, threadId),

    async probe() {
      token.drop();
      await token.get();
      return { botName: settings.appId };
    },
  };
}
