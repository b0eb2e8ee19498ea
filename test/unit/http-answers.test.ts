// HTTP answers in the delivery taxonomy (src/host/channels/http-answers.ts), shared by the adapters that
// speak plain HTTP (Slack files, Teams, WhatsApp, signed webhooks).
import { expect, test } from 'vitest';
import { codeForHttpStatus, retryAfterMs } from '../../src/host/channels/http-answers.ts';

test('each status has its code; a platform may name more statuses as transient', () => {
  const codes = [429, 401, 403, 404, 410, 413, 400, 412, 408, 500, 503, 302].map((s) => codeForHttpStatus(s));
  expect(codes).toEqual([
    'rate_limited',
    'auth_failed',
    'forbidden',
    'not_found',
    'not_found',
    'too_large',
    'invalid_request',
    'invalid_request',
    'invalid_request',
    'transient',
    'transient',
    'unknown',
  ]);
  expect(codeForHttpStatus(412, [412])).toBe('transient');
  expect(codeForHttpStatus(413, [413])).toBe('too_large');
});

test('Retry-After in seconds or as a date, bounded; a default when absent or unreadable', () => {
  const now = new Date('2026-12-06T10:00:00.000Z');
  expect(retryAfterMs('3', now)).toBe(3000);
  expect(retryAfterMs(' 1.5 ', now)).toBe(1500);
  expect(retryAfterMs('Sun, 06 Dec 2026 10:00:07 GMT', now)).toBe(7000);
  expect(retryAfterMs('Sun, 06 Dec 2026 09:00:00 GMT', now)).toBe(0);
  expect(retryAfterMs('999999999', now)).toBe(3_600_000);
  for (const header of [null, '', 'soon', '-5']) expect(retryAfterMs(header, now)).toBe(1000);
});
