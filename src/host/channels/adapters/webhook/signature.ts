// Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` holds one or more
// space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the secret's base64 bytes
// (`whsec_` prefix optional); the timestamp must be within five minutes of now, either way.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_TOLERANCE_MS = 5 * 60 * 1000;

/** Printable ASCII without spaces or the separator's ambiguity: what a sane message id looks like. */
const MESSAGE_ID = /^[\x21-\x7e]{1,256}$/;
const TIMESTAMP = /^\d{1,12}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Signatures one header may carry (key rotation needs two or three). */
const MAX_SIGNATURES = 8;

export class WebhookSecretError extends Error {
  override name = 'WebhookSecretError';
}

/** The key bytes of a `whsec_<base64>` secret; throws (naming the role, never the value) when malformed. */
export function secretKey(secret: string, role: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (!BASE64.test(encoded)) {
    throw new WebhookSecretError(`the webhook ${role} is not whsec_ followed by base64`);
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 24 || key.length > 64) {
    throw new WebhookSecretError(
      `the webhook ${role} decodes to ${key.length} bytes; Standard Webhooks secrets are 24 to 64 bytes`,
    );
  }
  return key;
}

/** `v1,<base64>` for this message. */
export function sign(key: Buffer, id: string, timestampSeconds: number, body: Buffer | string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

export interface SignedHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export type Verdict = { ok: true; id: string } | { ok: false; reason: string };

/** Whether the headers sign `body` with `key`, within the tolerance of `now`; the reason when not. */
export function verify(key: Buffer, headers: SignedHeaders, body: Buffer, now: Date): Verdict {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) {
    return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' };
  }
  if (!MESSAGE_ID.test(id)) return { ok: false, reason: 'malformed webhook-id' };
  if (!TIMESTAMP.test(timestamp)) return { ok: false, reason: 'malformed webhook-timestamp' };
  const skew = now.getTime() - Number(timestamp) * 1000;
  if (skew > SIGNATURE_TOLERANCE_MS) return { ok: false, reason: 'webhook-timestamp too old' };
  if (-skew > SIGNATURE_TOLERANCE_MS) return { ok: false, reason: 'webhook-timestamp in the future' };
  const expected = Buffer.from(sign(key, id, Number(timestamp), body));
  const given = signature.split(' ').filter((s) => s !== '');
  if (given.length > MAX_SIGNATURES) return { ok: false, reason: 'too many signatures' };
  // Every candidate is compared (no early exit), each in constant time.
  let matched = false;
  for (const candidate of given) {
    const bytes = Buffer.from(candidate);
    if (bytes.length === expected.length && timingSafeEqual(bytes, expected)) matched = true;
  }
  return matched ? { ok: true, id } : { ok: false, reason: 'no matching signature' };
}

/** The three headers of a signed POST. */
export function signedHeaders(
  key: Buffer,
  id: string,
  now: Date,
  body: string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(key, id, timestamp, body),
  };
}
