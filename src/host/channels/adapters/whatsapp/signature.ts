// Meta signs every webhook POST: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`.
// Checked on the raw bytes before anything parses them, in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function signWhatsAppBody(appSecret: string, body: Uint8Array | string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/** Whether `header` is the body's signature with this app secret. */
export function isValidWhatsAppSignature(
  appSecret: string,
  header: string | undefined,
  body: Uint8Array,
): boolean {
  if (header === undefined || !/^sha256=[0-9a-fA-F]{64}$/.test(header)) return false;
  const expected = Buffer.from(signWhatsAppBody(appSecret, body));
  const given = Buffer.from(`sha256=${header.slice(7).toLowerCase()}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Constant-time equality of two strings of any length (the verify token). */
export function sameSecret(given: string, expected: string): boolean {
  const key = 'whatsapp-verify-token';
  const digest = (value: string) => createHmac('sha256', key).update(value).digest();
  return given.length > 0 && timingSafeEqual(digest(given), digest(expected));
}
