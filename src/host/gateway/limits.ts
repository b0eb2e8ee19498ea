// Per-agent-group limits: requests per minute (a sliding window, in memory) and tokens per UTC day
// (summed from recorded usage). The decisions are pure; the clock comes in.

const WINDOW_MS = 60_000;
const DAY_MS = 86_400_000;

export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

export interface RateLimiter {
  /** Counts a call for the group unless it already made `perMinute` calls in the last minute. */
  take(agentGroupId: string, perMinute: number): RateDecision;
}

export function createRateLimiter(clock: () => Date): RateLimiter {
  const calls = new Map<string, number[]>();
  return {
    take(agentGroupId, perMinute) {
      const now = clock().getTime();
      const recent = (calls.get(agentGroupId) ?? []).filter((at) => at > now - WINDOW_MS);
      if (recent.length >= perMinute) {
        calls.set(agentGroupId, recent);
        return { ok: false, retryAfterMs: recent[recent.length - perMinute]! + WINDOW_MS - now };
      }
      recent.push(now);
      calls.set(agentGroupId, recent);
      return { ok: true };
    },
  };
}

/** The UTC day `now` falls in, as ISO bounds [start, end). */
export function utcDay(now: Date): { start: string; end: string } {
  const start = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  return { start: new Date(start).toISOString(), end: new Date(start + DAY_MS).toISOString() };
}

export type BudgetDecision = { ok: true } | { ok: false; resetsAt: string };

export function checkBudget(used: number, budget: number | undefined, now: Date): BudgetDecision {
  if (budget === undefined || used < budget) return { ok: true };
  return { ok: false, resetsAt: utcDay(now).end };
}
