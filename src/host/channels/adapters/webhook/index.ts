// The signed webhook adapter: a generic integration over HTTP following Standard Webhooks. The
// integrator POSTs signed messages to /channels/<installation>; Warren POSTs its replies, signed the same
// way with a second secret, to the configured callbackUrl. It only speaks HTTP; splitting, queues, 429
// waits, idempotency, dedup and retries are the shared machinery's (platform-channel.ts, delivery).
import type { Hono } from 'hono';
import { Capability } from '../../channel.ts';
import type { AdapterOptions, PlatformAdapter, PlatformEvents } from '../../platform.ts';
import { networkError } from './errors.ts';
import { inboundRoutes } from './inbound.ts';
import { postPiece, type SendDeps } from './send.ts';
import { parseWebhookSettings } from './settings.ts';
import { secretKey } from './signature.ts';

export { outboundBody, type OutboundBody } from './send.ts';
export { InboundBody } from './normalize.ts';
export { sign, signedHeaders, verify, secretKey, SIGNATURE_TOLERANCE_MS } from './signature.ts';

/**
 * A passive receiver has no link to watch: nothing can go quiet but the integrator. While started it
 * tells the watchdog so this often, well inside the shortest staleness an operator would set (90 s by
 * default), so silence never restarts it; each inbound message counts as well.
 */
export const RECEIVING_PROOF_MS = 15_000;

const MAX_TEXT = 100_000;

export function createWebhookAdapter(options: AdapterOptions): PlatformAdapter & { readonly http: Hono } {
  const settings = parseWebhookSettings(options.installation, options.settings);
  const log = options.log.child({ channel: options.installation });
  // Secrets are read when used: `warren channels add` builds the adapter with stand-ins to check settings.
  const inboundKey = () => secretKey(options.secret('secret'), 'secret');
  const callbackKey = () => secretKey(options.secret('callbackSecret'), 'callbackSecret');
  let stopping = new AbortController();
  let receiving: { events: PlatformEvents; key: Buffer } | null = null;
  let proof: NodeJS.Timeout | undefined;

  const send: SendDeps = {
    callbackUrl: settings.callbackUrl,
    key: callbackKey,
    timeoutMs: settings.timeoutMs,
    stopping: () => stopping.signal,
    clock: options.clock,
  };

  return {
    platform: 'webhook',
    // Cards go out as JSON with their title, body and buttons; a press comes back as `action.token`.
    capabilities: Capability.RichCard | Capability.Buttons | Capability.Threads | Capability.DirectMessages,
    // No platform rate to respect: the integrator answers 429 with Retry-After when it needs a pause.
    limits: { maxText: MAX_TEXT, minIntervalMs: 0 },
    http: inboundRoutes({
      installation: options.installation,
      maxBodyBytes: settings.maxBodyBytes,
      receiving: () => receiving,
      clock: options.clock,
      log,
    }),

    async start(events) {
      await this.stop();
      const key = inboundKey();
      callbackKey(); // a malformed callback secret fails the start, not every reply
      receiving = { events, key };
      proof = setInterval(() => events.alive(), RECEIVING_PROOF_MS);
      proof.unref();
      events.alive();
      log.info({ callback: new URL(settings.callbackUrl).origin }, 'webhook: receiving');
    },

    async stop() {
      receiving = null;
      clearInterval(proof);
      proof = undefined;
      stopping.abort(new Error('the webhook adapter stopped'));
      stopping = new AbortController();
    },

    post: (piece) => postPiece(send, piece),

    /**
     * Without side effects there is little to prove: both secrets decode, and the callback's host answers
     * an HTTP HEAD at all (any status). Whether it accepts signed POSTs shows on the first reply.
     */
    async probe() {
      inboundKey();
      callbackKey();
      const url = new URL(settings.callbackUrl);
      let status: number;
      try {
        const res = await fetch(url, {
          method: 'HEAD',
          redirect: 'manual',
          signal: AbortSignal.timeout(settings.timeoutMs),
        });
        status = res.status;
      } catch (error) {
        throw networkError(error, `at ${url.origin} (HEAD)`, settings.timeoutMs);
      }
      return {
        botName: `a signed webhook (both secrets are well-formed; ${url.origin} answered HEAD with ${status}, so it is reachable; no message was posted, so whether it takes signed replies shows on the first one)`,
      };
    },
  };
}
