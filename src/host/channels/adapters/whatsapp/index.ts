// WhatsApp through the Cloud API over fetch (no SDK). Inbound is a webhook only (webhook.ts, mounted by
// the host); outbound posts to the Graph API (send.ts). Meta never calls when nobody writes, so silence
// is healthy (quietIsHealthy); a Graph call every healthCheckSeconds proves the token still works.
import type { Hono } from 'hono';
import { errorText } from '../../../../shared/error-text.ts';
import { Capability } from '../../channel.ts';
import { originOf } from '../../inbound-file.ts';
import type { AdapterOptions, PlatformAdapter, PlatformEvents } from '../../platform.ts';
import { graphCall, type GraphClient } from './graph.ts';
import type { MediaAccess } from './media.ts';
import { createInbound } from './receive.ts';
import { MAX_BUTTONS, MAX_TEXT, postPiece, react, showTyping, type Sender } from './send.ts';
import { parseWhatsAppSettings } from './settings.ts';
import { createWebhookApp } from './webhook.ts';

export { parseWhatsAppSettings, type WhatsAppSettings } from './settings.ts';
export { signWhatsAppBody, isValidWhatsAppSignature } from './signature.ts';

const DEFAULT_API_BASE = 'https://graph.facebook.com';
const PROBE_TIMEOUT_MS = 10_000;

export const WHATSAPP_CAPABILITIES =
  Capability.RichCard |
  Capability.Buttons |
  Capability.Files |
  Capability.Reactions |
  Capability.Typing |
  Capability.DirectMessages;

/** WhatsApp's "typing…" lasts 25 s: renewed before it lapses. */
const TYPING_REFRESH_MS = 20_000;

/**
 * Meta allows about one message per 6 s to the same person, with bursts (error 131056 beyond). Pacing
 * every reply 6 s apart would make a three-piece answer take 12 s; one second keeps replies in order
 * and quick, and a 131056 is waited out (6 s) by the machinery when a burst goes too far.
 */
export const WHATSAPP_MIN_INTERVAL_MS = 1_000;

export interface WhatsAppAdapter extends PlatformAdapter {
  readonly http: Hono;
}

export function createWhatsAppAdapter(options: AdapterOptions): WhatsAppAdapter {
  const settings = parseWhatsAppSettings(options.settings);
  const { log, installation } = options;
  const accessToken = options.secret('accessToken');
  const base = (options.apiBaseUrl ?? DEFAULT_API_BASE).replace(/\/+$/, '');
  const apiOrigin = originOf(base);
  if (apiOrigin === undefined) throw new Error(`whatsapp: the API base URL ${base} is not http(s)`);
  /** Aborted by stop(): nothing in flight outlives the adapter; later calls get a fresh one. */
  let calls = new AbortController();
  const graph: GraphClient = {
    base,
    version: settings.apiVersion,
    token: () => accessToken,
    signal: () => calls.signal,
  };
  const sender: Sender = { graph, phoneNumberId: settings.phoneNumberId };
  const media: MediaAccess = {
    graph,
    allowedOrigins: new Set([apiOrigin, ...settings.mediaOrigins]),
    maxBytes: options.maxInboundFileBytes,
  };
  let events: PlatformEvents | null = null;
  const inbound = createInbound({ installation, phoneNumberId: settings.phoneNumberId, media, log });
  let healthCheck: NodeJS.Timeout | undefined;

  const http = createWebhookApp({
    appSecret: options.secret('appSecret'),
    verifyToken: options.secret('verifyToken'),
    receiver: () => {
      const current = events;
      return current === null ? null : (payload) => inbound.receive(payload, current);
    },
    onAlive: () => events?.alive(),
    log,
  });

  return {
    platform: 'whatsapp',
    capabilities: WHATSAPP_CAPABILITIES,
    limits: {
      maxText: MAX_TEXT,
      minIntervalMs: WHATSAPP_MIN_INTERVAL_MS,
      maxButtons: MAX_BUTTONS,
      typingRefreshMs: TYPING_REFRESH_MS,
    },
    http,
    quietIsHealthy: true,
    start,
    stop,
    post: (piece) => postPiece(sender, piece),
    react: (chatId, messageId, emoji) => react(sender, chatId, messageId, emoji),
    typing: async (chatId) => {
      const messageId = inbound.lastMessageOf(chatId);
      if (messageId !== undefined) await showTyping(sender, messageId);
    },
    probe: async () => ({ botName: await whoAmI() }),
  };

  /** Takes notifications from now on; then proves the token with one Graph call (a failure is reported). */
  async function start(given: PlatformEvents): Promise<void> {
    await stop();
    events = given;
    given.alive();
    if (settings.healthCheckSeconds > 0) {
      healthCheck = setInterval(() => void check(given), settings.healthCheckSeconds * 1000);
      healthCheck.unref();
    }
    // Notifications need no token, so they are taken in even while this fails (e.g. an expired token).
    const name = await whoAmI();
    log.info({ installation, number: name }, 'whatsapp receiving notifications');
  }

  async function stop(): Promise<void> {
    events = null;
    clearInterval(healthCheck);
    healthCheck = undefined;
    calls.abort();
    calls = new AbortController();
  }

  async function check(given: PlatformEvents): Promise<void> {
    try {
      await whoAmI();
      given.alive();
    } catch (error) {
      if (events === given) given.failed(new Error(`whatsapp: ${errorText(error)}`));
    }
  }

  /** The number's display name and phone number, from `GET /{phone-number-id}`. */
  async function whoAmI(): Promise<string> {
    const number = await graphCall(
      graph,
      'GET',
      settings.phoneNumberId,
      undefined,
      'phone number lookup',
      PROBE_TIMEOUT_MS,
    );
    const name = typeof number.verified_name === 'string' ? number.verified_name : '';
    const phone = typeof number.display_phone_number === 'string' ? number.display_phone_number : '';
    return [name, phone && `(${phone})`].filter(Boolean).join(' ') || settings.phoneNumberId;
  }
}
