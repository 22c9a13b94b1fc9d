import type { Clock } from '../clock.js';

/**
 * Wrong tokens per remote address: after `max` within `windowMs` the address is refused until its
 * window passes. The table is bounded: addresses whose window ended are dropped as it fills.
 */
export interface FailureLimiter {
  /** Milliseconds until the address may try again, or 0 when it may now. */
  blockedFor(address: string): number;
  fail(address: string): void;
  /** A right token clears the address's count. */
  succeed(address: string): void;
}

const MAX_ADDRESSES = 10_000;

export function failureLimiter(clock: Clock, max: number, windowMs: number): FailureLimiter {
  const seen = new Map<string, { count: number; since: number }>();
  const live = (address: string) => {
    const entry = seen.get(address);
    if (entry && clock.now() - entry.since >= windowMs) {
      seen.delete(address);
      return undefined;
    }
    return entry;
  };
  return {
    blockedFor(address) {
      const entry = live(address);
      return entry && entry.count >= max ? Math.max(1, entry.since + windowMs - clock.now()) : 0;
    },
    fail(address) {
      const entry = live(address);
      if (entry) {
        entry.count++;
        return;
      }
      if (seen.size >= MAX_ADDRESSES) for (const key of [...seen.keys()]) live(key);
      // Still full of live windows: the oldest goes, so memory stays bounded under a flood.
      if (seen.size >= MAX_ADDRESSES) seen.delete(seen.keys().next().value!);
      seen.set(address, { count: 1, since: clock.now() });
    },
    succeed(address) {
      seen.delete(address);
    },
  };
}
