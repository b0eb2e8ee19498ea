// Slack's request signature (HTTP Events API mode): `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`
// with the app's signing secret, and a timestamp within five minutes so a captured request cannot be replayed.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_SIGNATURE_AGE_MS = 5 * 60 * 1000;

export interface SignedRequest {
  timestamp: string | undefined;
  signature: string | undefined;
  body: string;
}

export function signSlackRequest(signingSecret: string, timestamp: string, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** Whether the request carries a valid signature made within five minutes of `now`. */
export function isValidSlackSignature(signingSecret: string, request: SignedRequest, now: Date): boolean {
  const { timestamp, signature, body } = request;
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(now.getTime() - Number(timestamp) * 1000) > MAX_SIGNATURE_AGE_MS) return false;
  const expected = Buffer.from(signSlackRequest(signingSecret, timestamp, body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
