// The routes Meta calls, mounted by the host at /channels/<installation>:
//   GET  /  the subscription check: hub.mode=subscribe and our verify token → echo hub.challenge.
//   POST /  notifications, signed with X-Hub-Signature-256 over the raw body (checked before parsing).
// A notification is answered 200 only once every message in it is durable in Warren; anything else
// makes Meta deliver it again (then the dedup on the message id answers it once).
import { Hono } from 'hono';
import type { Logger } from '../../../logger.ts';
import { webhookPayload, type WebhookPayload } from './payload.ts';
import { isValidWhatsAppSignature, sameSecret } from './signature.ts';
import { limitRequestBody } from '../../../body-limit.ts';

/** Meta's notifications are small (a text is at most 4,096 characters); a batch stays well under this. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;
/** Meta's challenge is a number; anything else is not echoed (the page is ours to answer). */
const CHALLENGE = /^[\w.-]{1,256}$/;

export interface WebhookDeps {
  appSecret: string;
  verifyToken: string;
  /** Null while the adapter is stopped: Meta gets a 503 and delivers again later. */
  receiver(): ((payload: WebhookPayload) => Promise<void>) | null;
  onAlive(): void;
  log: Logger;
}

export function createWebhookApp(deps: WebhookDeps): Hono {
  const app = new Hono();
  app.get('/', (c) => {
    const mode = c.req.query('hub.mode');
    const token = c.req.query('hub.verify_token') ?? '';
    const challenge = c.req.query('hub.challenge') ?? '';
    if (mode !== 'subscribe' || !sameSecret(token, deps.verifyToken) || !CHALLENGE.test(challenge)) {
      return c.text('forbidden', 403);
    }
    deps.onAlive();
    return c.text(challenge, 200);
  });
  app.post(
    '/',
    limitRequestBody(MAX_WEBHOOK_BYTES, (c) => c.text('body too large', 413)),
    async (c) => {
      const raw = new Uint8Array(await c.req.arrayBuffer());
      if (!isValidWhatsAppSignature(deps.appSecret, c.req.header('x-hub-signature-256'), raw)) {
        return c.text('invalid signature', 401);
      }
      const receive = deps.receiver();
      if (receive === null) return c.text('not receiving', 503);
      let json: unknown;
      try {
        json = JSON.parse(Buffer.from(raw).toString('utf8'));
      } catch {
        return c.text('not JSON', 400);
      }
      const payload = webhookPayload.safeParse(json);
      if (!payload.success) {
        const issue = payload.error.issues[0];
        deps.log.warn(
          { path: issue?.path.join('.'), problem: issue?.message },
          'whatsapp: notification not understood',
        );
        return c.text('malformed notification', 400);
      }
      deps.onAlive();
      try {
        await receive(payload.data);
      } catch (error) {
        deps.log.warn({ err: error }, 'whatsapp: notification not stored; Meta will deliver it again');
        return c.text('not stored; send it again', 500);
      }
      return c.body(null, 200);
    },
  );
  return app;
}
