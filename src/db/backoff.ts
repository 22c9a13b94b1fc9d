export const BACKOFF_BASE_MS = 30_000;
export const BACKOFF_CAP_MS = 6 * 60 * 60 * 1000;

/**
 * Delay before retry number `attempt` (1-based): full jitter over `min(cap, base·2^(attempt−1))`,
 * so workers that failed together do not come back together. `random` returns [0, 1).
 */
export function backoffMs(attempt: number, random: () => number = Math.random, baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * exp);
}
