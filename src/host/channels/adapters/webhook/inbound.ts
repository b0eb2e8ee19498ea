// The inbound route: the integrator POSTs a signed JSON body to /channels/<installation>. Nothing is
// parsed before the signature and its timestamp check out on the raw bytes; the answer is 2xx only once
// the message is durable in Warren, so a 5xx (or no answer) is the integrator's cue to send it again.
import { Hono } from 'hono';
import type { Logger } from '../../../logger.ts';
import type { PlatformEvents } from '../../platform.ts';
import { normalizeBody } from './normalize.ts';
import { verify } from './signature.ts';
import { limitRequestBody } from '../../../body-limit.ts';

export interface InboundDeps {
  installation: string;
  maxBodyBytes: number;
  /** Null while the adapter is stopped (answered 503: try again later). */
  receiving(): { events: PlatformEvents; key: Buffer } | null;
  clock: () => Date;
  log: Logger;
}

export function inboundRoutes(deps: InboundDeps): Hono {
  const app = new Hono();
  const limit = limitRequestBody(deps.maxBodyBytes, (c) =>
    c.json({ error: `body over ${deps.maxBodyBytes} bytes` }, 413),
  );
  app.post('/', limit, async (c) => {
    const receiving = deps.receiving();
    if (receiving === null) return c.json({ error: 'not receiving; try again later' }, 503);
    const body = Buffer.from(await c.req.arrayBuffer());
    const now = deps.clock();
    const verdict = verify(
      receiving.key,
      {
        id: c.req.header('webhook-id'),
        timestamp: c.req.header('webhook-timestamp'),
        signature: c.req.header('webhook-signature'),
      },
      body,
      now,
    );
    if (!verdict.ok) return c.json({ error: `signature refused: ${verdict.reason}` }, 401);

    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    } catch {
      return c.json({ error: 'body is not JSON (UTF-8)' }, 400);
    }
    const normalized = normalizeBody(raw, {
      installation: deps.installation,
      webhookId: verdict.id,
      receivedAt: now,
    });
    if (!normalized.ok) return c.json({ error: normalized.problem }, 400);
    receiving.events.alive();
    try {
      // A replayed webhook-id resolves here without a second message (the machinery's event dedup, and
      // the router's durable one on the message id).
      await receiving.events.message(normalized.message, verdict.id);
    } catch (error) {
      deps.log.warn({ err: error, webhookId: verdict.id }, 'webhook: message not stored; answered 500');
      return c.json({ error: 'not stored; send it again' }, 500);
    }
    return c.json({ id: normalized.message.platformMessageId }, 200);
  });
  return app;
}
