import { DEFAULT_TUNING } from '../config.js';

/** The defaults of src/config.ts, `Tuning['retry']`, for stores opened without a daemon's tuning (the CLI's). */
export const BACKOFF_BASE_MS = DEFAULT_TUNING.retry.jobBaseMs;
export const BACKOFF_CAP_MS = DEFAULT_TUNING.retry.jobCapMs;

/**
 * Delay before retry number `attempt` (1-based): full jitter over `min(cap, base·2^(attempt−1))`,
 * so workers that failed together do not come back together. `random` returns [0, 1).
 */
export function backoffMs(attempt: number, random: () => number = Math.random, baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * exp);
}
