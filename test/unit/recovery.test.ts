import { expect, test } from 'vitest';
import { retryDelayMs } from '../../src/host/delivery/index.ts';
import { crashRetryDelayMs, isStuck } from '../../src/host/sessions/recovery.ts';

test('a runner is stuck only when both its oldest claim and its heartbeat are older than the limit', () => {
  const now = 1_000_000;
  expect(isStuck(now - 5_000, null, now, 60_000)).toBe(false); // claimed recently
  expect(isStuck(now - 90_000, null, now, 60_000)).toBe(true); // old claim, never a heartbeat
  expect(isStuck(now - 90_000, now - 1_000, now, 60_000)).toBe(false); // long tool call, still beating
  expect(isStuck(now - 90_000, now - 61_000, now, 60_000)).toBe(true);
});

test('crashed rows are retried after 1 s, 4 s, 16 s … never more than 5 minutes', () => {
  expect([1, 2, 3].map(crashRetryDelayMs)).toEqual([1000, 4000, 16000]);
  expect(crashRetryDelayMs(20)).toBe(300_000);
});

test('delivery retries back off exponentially, capped, and honour a longer Retry-After', () => {
  expect([1, 2, 3].map((n) => retryDelayMs(n))).toEqual([500, 1000, 2000]);
  expect(retryDelayMs(30)).toBe(30_000);
  expect(retryDelayMs(1, 7_000)).toBe(7_000);
  expect(retryDelayMs(3, 100)).toBe(2000);
});
