/**
 * Exponential backoff with jitter for the n-th consecutive failure (n from 0): half of
 * min(max, initial * 2^n) plus a random part up to the other half, so agents that lost the same
 * server spread their retries instead of arriving together ("equal jitter").
 */
export function nextBackoff(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
