// Limits on what one peer of the web chat transport can make the host spend (DESIGN §10): posts per
// sender and per chat (token buckets), open event streams per chat and in total, and bytes queued for
// one slow stream. Pure bookkeeping on an injected clock; api.ts and event-stream.ts apply them.

export interface WebchatLimits {
  /** Open event streams on one chat; one more is refused with 429. */
  maxStreamsPerChat: number;
  /** Open event streams on the channel; one more is refused with 429. */
  maxStreams: number;
  /** Bytes queued for one stream whose client does not read; past this it is cut off (it reconnects and replays). */
  maxQueuedBytes: number;
  /** Posts (messages and clicks) one sender may make per minute; more are refused with 429 and retry-after. */
  postsPerMinutePerSender: number;
  /** Posts to one chat per minute, whoever sends them. */
  postsPerMinutePerChat: number;
}

export const DEFAULT_WEBCHAT_LIMITS: WebchatLimits = {
  maxStreamsPerChat: 20,
  maxStreams: 200,
  maxQueuedBytes: 4 * 1024 * 1024,
  postsPerMinutePerSender: 60,
  postsPerMinutePerChat: 240,
};

/** Buckets kept before full (idle) ones are forgotten: an attacker cycling names cannot grow the map forever. */
const MAX_BUCKETS = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets of `perMinute` tokens, refilled continuously. take(key) spends one and returns 0, or
 * returns how many milliseconds until one is available (nothing spent).
 */
export function createRateLimiter(perMinute: number, clock: () => Date) {
  const buckets = new Map<string, Bucket>();
  const refillPerMs = perMinute / 60_000;

  return { take };

  function take(key: string): number {
    const now = clock().getTime();
    const bucket = buckets.get(key) ?? { tokens: perMinute, at: now };
    bucket.tokens = Math.min(perMinute, bucket.tokens + Math.max(0, now - bucket.at) * refillPerMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      buckets.set(key, bucket);
      if (buckets.size > MAX_BUCKETS) forgetFull(now);
      return 0;
    }
    buckets.set(key, bucket);
    return Math.ceil((1 - bucket.tokens) / refillPerMs);
  }

  function forgetFull(now: number): void {
    for (const [key, bucket] of buckets) {
      if (bucket.tokens + (now - bucket.at) * refillPerMs >= perMinute) buckets.delete(key);
    }
    // Still too many (all of them busy): forget the oldest half rather than grow without bound.
    if (buckets.size > MAX_BUCKETS) {
      let drop = buckets.size - MAX_BUCKETS / 2;
      for (const key of buckets.keys()) {
        if (drop-- <= 0) break;
        buckets.delete(key);
      }
    }
  }
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
