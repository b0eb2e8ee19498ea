// Telegram through grammY's Api client (the client `bot.api` is): long polling by default with a loop
// of our own (polling.ts), or a webhook the host mounts (webhook.ts). No Bot or middleware: an update is
// normalized by a pure function (normalize.ts), and the loop owns the offset and its abort.
import type { Hono } from 'hono';
import { Capability } from '../../channel.ts';
import {
  CHAT_PLATFORM_CAPABILITIES,
  type AdapterOptions,
  type PlatformAdapter,
  type PlatformEvents,
} from '../../platform.ts';
import { bounded, clearWebhook, createApi, whoAmI } from './client.ts';
import type { BotIdentity } from './normalize.ts';
import { startPolling, type Offset, type Poller } from './polling.ts';
import { receiveUpdate } from './receive.ts';
import { editText, postPiece, react, typing, type Sender } from './send.ts';
import { parseTelegramSettings } from './settings.ts';
import {
  createWebhookApp,
  registerWebhook,
  WEBHOOK_SECRET,
  watchWebhook,
  type WebhookLink,
} from './webhook.ts';

export { parseTelegramSettings, type TelegramSettings } from './settings.ts';

const DEFAULT_API_ROOT = 'https://api.telegram.org';
const CALL_TIMEOUT_MS = 10_000;

export const TELEGRAM_CAPABILITIES = CHAT_PLATFORM_CAPABILITIES | Capability.Typing;

export interface TelegramAdapter extends PlatformAdapter {
  /** Webhook mode only: the app the host mounts at /channels/<installation> (Telegram posts to /webhook). */
  readonly http?: Hono;
}

/** One start() until its stop(): aborting `abort` ends everything it began. */
interface Run {
  abort: AbortController;
  events: PlatformEvents;
  bot: BotIdentity;
  poller?: Poller;
  webhookCheck?: NodeJS.Timeout;
}

export function createTelegramAdapter(options: AdapterOptions): TelegramAdapter {
  const settings = parseTelegramSettings(options.settings);
  const token = options.secret('botToken');
  const apiRoot = (options.apiBaseUrl ?? DEFAULT_API_ROOT).replace(/\/+$/, '');
  const api = createApi(token, apiRoot);
  const webhook: WebhookLink | null =
    settings.mode === 'webhook' && settings.webhookUrl !== undefined
      ? { api, token, url: settings.webhookUrl, secret: options.secret('webhookSecret') }
      : null;
  if (webhook && !WEBHOOK_SECRET.test(webhook.secret)) {
    throw new Error('telegram: webhookSecret must be 1–256 of A–Z, a–z, 0–9, _ and -');
  }
  const { log, installation } = options;
  /** Kept across stop()/start(): a restart asks for the first update not yet handled. */
  const offset: Offset = { next: 0 };
  /** Sends in flight are aborted by stop(); later sends get a fresh controller. */
  let sends = new AbortController();
  const sender: Sender = { api, token, signal: () => sends.signal };
  let run: Run | null = null;
  let webhookCleared = false;

  const http = webhook
    ? createWebhookApp({
        secret: webhook.secret,
        receiver: () => (run === null ? null : receiverFor(run)),
        onAlive: () => run?.events.alive(),
      })
    : undefined;

  return {
    platform: 'telegram',
    capabilities: TELEGRAM_CAPABILITIES,
    limits: { maxText: 4096, minIntervalMs: 1000, typingRefreshMs: 4000 },
    ...(http && { http }),
    start,
    stop,
    post: (piece) => postPiece(sender, piece),
    edit: (chatId, _threadId, messageId, text) => editText(sender, chatId, messageId, text),
    react: (chatId, messageId, emoji) => react(sender, chatId, messageId, emoji),
    typing: (chatId, threadId) => typing(sender, chatId, threadId),
    probe: async () => ({ botName: (await whoAmI(api, token, bounded(CALL_TIMEOUT_MS))).username }),
  };

  async function start(events: PlatformEvents): Promise<void> {
    if (run !== null) await stop();
    const abort = new AbortController();
    const bot = await whoAmI(api, token, bounded(CALL_TIMEOUT_MS, abort.signal));
    const current: Run = { abort, events, bot };
    if (webhook) {
      await registerWebhook(webhook, bounded(CALL_TIMEOUT_MS, abort.signal));
      current.webhookCheck = watchWebhook(webhook, {
        everyMs: settings.webhookCheckSeconds * 1000,
        clock: options.clock,
        events,
        signal: abort.signal,
        log,
        installation,
      });
    } else {
      // getUpdates answers 409 while a webhook is set: clear it once (this adapter polls).
      if (!webhookCleared) await clearWebhook(api, token, bounded(CALL_TIMEOUT_MS, abort.signal));
      webhookCleared = true;
      current.poller = startPolling({
        api,
        token,
        installation,
        log,
        pollTimeoutSeconds: settings.pollTimeoutSeconds,
        events,
        offset,
        handle: receiverFor(current),
        signal: abort.signal,
      });
    }
    run = current;
    events.alive();
    log.info({ installation, bot: bot.username, mode: settings.mode }, 'telegram connected');
  }

  async function stop(): Promise<void> {
    const current = run;
    run = null;
    sends.abort();
    sends = new AbortController();
    if (current === null) return;
    current.abort.abort();
    clearInterval(current.webhookCheck);
    await current.poller?.stopped();
    log.info({ installation }, 'telegram stopped');
  }

  function receiverFor(current: Run): (update: unknown) => Promise<void> {
    const receiver = {
      installation,
      api,
      apiRoot,
      token,
      maxFileBytes: options.maxInboundFileBytes,
      log,
      clock: options.clock,
      bot: current.bot,
      events: current.events,
      signal: current.abort.signal,
    };
    return (update) => receiveUpdate(receiver, update);
  }
}
