// `--limit N` for the listings: a whole number in a range, or what is wrong with it.
export function parseLimit(raw: string | undefined, fallback: number, max = 1000): number | string {
  if (raw === undefined) return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max)
    return `--limit must be a whole number from 1 to ${max}, got "${raw}"`;
  return n;
}
