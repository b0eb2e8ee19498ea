// The built-in web chat channel (DESIGN §5), put together from its parts: the JSON API people post to
// (api.ts), the server-sent-event stream of each chat's replies (event-stream.ts, over chat-events.ts),
// the files those replies carry (file-store.ts), the chat page (page.ts) and browser sign-in
// (sign-in.ts). The `cli` channel is this transport under another type (../cli.ts).
import { Hono } from 'hono';
import type { Context } from 'hono';
import type { Logger } from '../../../logger.ts';
import { DEFAULT_ATTACHMENT_LIMITS, type AttachmentLimits } from '../../../sessions/index.ts';
import { Capability } from '../../channel.ts';
import type { Channel, ChannelHealth, InboundSink } from '../../channel.ts';
import { apiRoutes } from './api.ts';
import { identify, type WebchatAuth } from './auth.ts';
import { createChatEvents } from './chat-events.ts';
import { eventStreamRoutes } from './event-stream.ts';
import { createFileStore } from './file-store.ts';
import { DEFAULT_WEBCHAT_LIMITS, type WebchatLimits } from './limits.ts';
import { createSend } from './outbound.ts';
import { pageRoutes } from './page.ts';
import { signInRoutes } from './sign-in.ts';

export { CLI_SECRET_HEADER, type WebchatAuth } from './auth.ts';
export { DEFAULT_WEBCHAT_LIMITS, type WebchatLimits } from './limits.ts';
export * from './saved-events.ts';

export interface WebchatOptions {
  clock: () => Date;
  log: Logger;
  /**
   * A folder the channel owns: outbound files are copied here and served from here, and each chat's
   * recent events are kept under events/ so a client reconnecting after a restart misses nothing.
   */
  filesDir: string;
  /** Channel type, also the mount path (`/<type>`); 'webchat' unless another channel reuses this transport. */
  type?: string;
  /** Recent events kept per chat and replayed to a client that (re)connects. */
  maxBufferedPerChat?: number;
  /** Browser sign-in and API tokens (auth.ts); without it every poster is an anonymous visitor. */
  auth?: WebchatAuth;
  /**
   * The install secret every request must carry (the `cli` channel): posters are then the operator,
   * and the body's sender is who they say they are.
   */
  operatorSecret?: string;
  limits?: Partial<WebchatLimits>;
  /** Caps on the files a posted message carries (config `attachments`); past them, 413. */
  attachments?: AttachmentLimits;
}

export interface WebchatChannel extends Channel {
  /** The HTTP API and the chat page; the host mounts it at mountPath. */
  readonly app: Hono;
  readonly mountPath: string;
}

export function createWebchatChannel(options: WebchatOptions): WebchatChannel {
  const { clock, log, filesDir, auth } = options;
  const type = options.type ?? 'webchat';
  const mountPath = `/${type}`;
  const limits: WebchatLimits = { ...DEFAULT_WEBCHAT_LIMITS, ...options.limits };
  const health: ChannelHealth = {
    connected: false,
    lastInboundAt: null,
    lastOutboundAt: null,
    lastError: null,
  };
  let sink: InboundSink | null = null;
  const who = (c: Context) => identify(c, { auth, operatorSecret: options.operatorSecret, type });
  const chats = createChatEvents({ filesDir, maxBuffered: options.maxBufferedPerChat ?? 200, log, type });
  const files = createFileStore({ filesDir, mountPath, identify: who });

  const app = new Hono();
  app.route('/', pageRoutes({ mountPath, auth }));
  if (auth) app.route('/', signInRoutes({ auth, mountPath, log, type }));
  const attachments = options.attachments ?? DEFAULT_ATTACHMENT_LIMITS;
  app.route(
    '/',
    apiRoutes({ type, clock, log, limits, attachments, sink: () => sink, health, identify: who }),
  );
  app.route(
    '/',
    eventStreamRoutes({ type, log, limits, chats, isConnected: () => sink !== null, identify: who }),
  );
  app.route('/', files.routes);

  const send = createSend({
    type,
    clock,
    health,
    chats,
    storeFiles: files.storeFiles,
    isConnected: () => sink !== null,
  });
  return {
    type,
    capabilities:
      Capability.RichCard |
      Capability.Buttons |
      Capability.Files |
      Capability.Threads |
      Capability.Edit |
      Capability.Reactions,
    app,
    mountPath,
    async connect(next) {
      sink = next;
    },
    async disconnect() {
      sink = null;
      chats.endAll();
    },
    send,
    health: () => ({ ...health, connected: sink !== null }),
  };
}
