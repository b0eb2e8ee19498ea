// Webhook mode: Telegram POSTs each update to `<mount>/webhook` with the secret token we registered in
// X-Telegram-Bot-Api-Secret-Token. Anything without it is refused; a 5xx makes Telegram redeliver.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import type { Api } from 'grammy';
import type { Logger } from '../../../logger.ts';
import type { PlatformEvents } from '../../platform.ts';
import { bounded, type ApiSignal } from './client.ts';
import { describeError, linkError, toChannelSendError } from './errors.ts';
import { HANDLED_UPDATES } from './normalize.ts';
import { limitRequestBody } from '../../../body-limit.ts';

/** Telegram's own bound on secret_token: 1–256 of A–Z, a–z, 0–9, _ and -. */
export const WEBHOOK_SECRET = /^[A-Za-z0-9_-]{1,256}$/;
const MAX_UPDATE_BYTES = 1024 * 1024;
const CHECK_TIMEOUT_MS = 10_000;

export interface WebhookTarget {
  /** Null while the adapter is stopped: Telegram gets a 503 and tries again later. */
  receiver(): ((update: unknown) => Promise<void>) | null;
  secret: string;
  onAlive(): void;
}

export function createWebhookApp(target: WebhookTarget): Hono {
  const app = new Hono();
  app.post(
    '/webhook',
    limitRequestBody(MAX_UPDATE_BYTES, (c) => c.text('update too large', 413)),
    async (c) => {
      if (!secretMatches(c.req.header('x-telegram-bot-api-secret-token') ?? '', target.secret)) {
        return c.text('unauthorized', 401);
      }
      const receive = target.receiver();
      if (receive === null) return c.text('not receiving', 503);
      let update: unknown;
      try {
        update = await c.req.json();
      } catch {
        return c.text('not JSON', 400);
      }
      target.onAlive();
      try {
        await receive(update);
      } catch {
        return c.text('not stored; send it again', 500);
      }
      return c.body(null, 200);
    },
  );
  return app;
}

/** Constant-time comparison of equal-length digests, so neither length nor prefix leaks. */
export function secretMatches(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected)) && given.length > 0;
}

export interface WebhookLink {
  api: Api;
  token: string;
  url: string;
  secret: string;
}

/** setWebhook with our secret token; Telegram then posts updates (and keeps them while we fail). */
export async function registerWebhook(link: WebhookLink, signal: ApiSignal): Promise<void> {
  try {
    await link.api.setWebhook(
      link.url,
      { secret_token: link.secret, allowed_updates: [...HANDLED_UPDATES], drop_pending_updates: false },
      signal,
    );
  } catch (error) {
    throw toChannelSendError(error, link.token, 'setWebhook');
  }
}

export interface WebhookWatch {
  everyMs: number;
  clock: () => Date;
  events: PlatformEvents;
  /** Aborted by stop(). */
  signal: AbortSignal;
  log: Logger;
  installation: string;
}

/**
 * Webhook mode's heartbeat, as no update may arrive for hours: every `everyMs`, Telegram answering
 * getWebhookInfo with our URL and no delivery error since the last check is proof the link works.
 */
export function watchWebhook(link: WebhookLink, watch: WebhookWatch): NodeJS.Timeout {
  const timer = setInterval(() => void check(), watch.everyMs);
  timer.unref();
  return timer;

  async function check(): Promise<void> {
    try {
      const info = await link.api.getWebhookInfo(bounded(CHECK_TIMEOUT_MS, watch.signal));
      const errorsSince = watch.clock().getTime() - watch.everyMs;
      if (info.url !== link.url) {
        watch.events.failed(new Error('telegram webhook: not set to this installation'));
      } else if ((info.last_error_date ?? 0) * 1000 >= errorsSince) {
        watch.events.failed(
          new Error(`telegram webhook: Telegram cannot deliver: ${info.last_error_message}`),
        );
      } else {
        watch.events.alive();
      }
    } catch (error) {
      if (watch.signal.aborted) return;
      watch.log.warn(
        { installation: watch.installation, error: describeError(error, link.token) },
        'telegram getWebhookInfo failed',
      );
      watch.events.failed(linkError(error, link.token));
    }
  }
}
