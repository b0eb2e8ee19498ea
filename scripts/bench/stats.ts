// Pure: latency samples -> the figures the benchmark reports (nearest-rank percentiles).

export interface Summary {
  n: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
}

/** `digits`: decimals kept (0.1 ms by default; sub-millisecond figures need more). */
export function summarize(samples: readonly number[], digits = 1): Summary {
  if (samples.length === 0) throw new Error('no samples to summarize');
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return {
    n: sorted.length,
    p50_ms: round(at(50), digits),
    p90_ms: round(at(90), digits),
    p99_ms: round(at(99), digits),
    max_ms: round(sorted[sorted.length - 1]!, digits),
    mean_ms: round(sorted.reduce((sum, x) => sum + x, 0) / sorted.length, digits),
  };
}

/** Median of a list, for breakdown columns; null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.floor((sorted.length - 1) / 2)]!);
}

export const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
