// HTTP Events API mode: Slack POSTs events (JSON) and interactions (form `payload=`) to
// `/channels/<installation>/events`. Nothing is read before the signature and its timestamp check out.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from '../../../logger.ts';
import { isValidSlackSignature } from './signature.ts';

/** Slack's payloads are small; a message is at most 40,000 characters plus its JSON envelope. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface SlackInbound {
  /** An Events API envelope (`event_callback`): resolves once durable; a throw asks Slack to retry. */
  event(envelope: unknown, retryNum: number | undefined): Promise<void>;
  /** An interaction payload: acknowledged at once, handled in the background. */
  interaction(payload: unknown): void;
}

export interface HttpModeDeps {
  signingSecret: () => string;
  inbound: SlackInbound;
  alive: () => void;
  clock: () => Date;
  log: Logger;
}

export function httpRoutes(deps: HttpModeDeps): Hono {
  const app = new Hono();
  const limit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.text('body too large', 413) });
  app.post('/events', limit, async (c) => {
    const body = await c.req.text();
    const signed = isValidSlackSignature(
      deps.signingSecret(),
      {
        timestamp: c.req.header('x-slack-request-timestamp'),
        signature: c.req.header('x-slack-signature'),
        body,
      },
      deps.clock(),
    );
    if (!signed) return c.text('invalid signature', 401);
    deps.alive();

    if ((c.req.header('content-type') ?? '').startsWith('application/x-www-form-urlencoded')) {
      const payload = parseJson(new URLSearchParams(body).get('payload') ?? '');
      if (payload === undefined) return c.text('malformed payload', 400);
      deps.inbound.interaction(payload);
      return c.body(null, 200);
    }
    const envelope = parseJson(body);
    if (typeof envelope !== 'object' || envelope === null) return c.text('malformed body', 400);
    const { type, challenge } = envelope as { type?: unknown; challenge?: unknown };
    if (type === 'url_verification' && typeof challenge === 'string') {
      return c.json({ challenge: challenge.slice(0, 512) });
    }
    const retry = Number(c.req.header('x-slack-retry-num'));
    try {
      // A retry is handled like the first delivery: dedup is on the message's ts, never on the header.
      await deps.inbound.event(envelope, Number.isInteger(retry) ? retry : undefined);
      return c.body(null, 200);
    } catch (error) {
      deps.log.warn({ err: error }, 'slack: event not stored; Slack will retry it');
      return c.text('not stored', 500);
    }
  });
  return app;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
