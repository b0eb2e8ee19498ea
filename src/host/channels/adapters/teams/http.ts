// The messaging endpoint: Microsoft POSTs activities to `/channels/<installation>/api/messages` (or the
// mount itself). Nothing is read before the bearer token verifies; the activity must then name the service
// URL its token was issued for. A message is answered 200 only once it is durable in Warren; a failure is
// a 500, and the Bot Connector delivers it again (dedup is on the activity id).
import { Hono, type Context } from 'hono';
import type { Logger } from '../../../logger.ts';
import type { PlatformEvents } from '../../platform.ts';
import { describe } from './errors.ts';
import { KeysUnavailableError, type VerifiedCaller } from './inbound-auth.ts';
import { Activity, normalizeActivity, splitConversationId } from './normalize.ts';
import { limitRequestBody } from '../../../body-limit.ts';

/** An activity is at most ~100 KB; a megabyte leaves room for entities and channel data. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface MessagingEndpointDeps {
  installation: string;
  verify(authorization: string | undefined): Promise<VerifiedCaller | null>;
  /** The machinery's callbacks while started; null while stopped (Teams gets a 503 and retries). */
  receiving(): PlatformEvents | null;
  rememberServiceUrl(chatId: string, serviceUrl: string): void;
  clock: () => Date;
  log: Logger;
}

export function messagingEndpoint(deps: MessagingEndpointDeps): Hono {
  const app = new Hono();
  const limit = limitRequestBody(MAX_BODY_BYTES, (c) => c.text('activity too large', 413));
  app.post('/api/messages', limit, (c) => receive(c));
  app.post('/', limit, (c) => receive(c));
  return app;

  async function receive(c: Context): Promise<Response> {
    let caller: VerifiedCaller | null;
    try {
      caller = await deps.verify(c.req.header('authorization'));
    } catch (error) {
      if (!(error instanceof KeysUnavailableError)) throw error;
      deps.log.warn({ err: error.message }, 'teams: cannot check inbound tokens; Teams will retry');
      return c.text('cannot verify tokens now', 503);
    }
    if (caller === null) return c.text('unauthorized', 401);

    let parsed: unknown;
    try {
      parsed = JSON.parse(await c.req.text());
    } catch {
      return c.text('not JSON', 400);
    }
    const checked = Activity.safeParse(parsed);
    if (!checked.success) return c.text('malformed activity', 400);
    const activity = checked.data;
    // The token was issued for one service URL; an activity naming another would steer replies elsewhere.
    if (sameUrl(activity.serviceUrl, caller.serviceUrl) === false) {
      deps.log.warn('teams: an activity named another service URL than its token; refused');
      return c.text('unauthorized', 401);
    }

    const events = deps.receiving();
    if (events === null) return c.text('not receiving', 503);
    events.alive();
    deps.rememberServiceUrl(splitConversationId(activity.conversation.id).chatId, activity.serviceUrl);

    const normalized = normalizeActivity(activity, deps.installation, deps.clock());
    if (normalized.kind === 'skip') {
      deps.log.debug({ reason: normalized.reason }, 'teams: activity skipped');
      return answer(c, activity.type);
    }
    try {
      await events.message(normalized.message, activity.id);
    } catch (error) {
      deps.log.warn({ err: describe(error) }, 'teams: activity not stored; Teams will retry it');
      return c.text('not stored', 500);
    }
    return answer(c, activity.type);
  }
}

/** An invoke (a card action) wants an invoke response in the body; anything else an empty 200. */
function answer(c: Context, type: string): Response {
  if (type !== 'invoke') return c.body(null, 200);
  return c.json({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'Received' });
}

function sameUrl(a: string, b: string): boolean {
  const normal = (url: string) => url.replace(/\/+$/, '').toLowerCase();
  return normal(a) === normal(b);
}
