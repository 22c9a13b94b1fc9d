import type { Clock } from '../clock.js';

/**
 * What this process knows of its hold on a session row, by its own clock:
 * - `held`: renewed recently enough that a request sent now ends well before the hold could lapse;
 * - `unsure`: not renewed for too long (the store is away), so the row may lapse and another host
 *   may take it at any moment;
 * - `lost`: another live process holds the row now.
 */
export type HoldState = 'held' | 'unsure' | 'lost';

export interface HoldTracker {
  /** A take that succeeded; `askedAt` is the time just before it was sent, as the hold's expiry was reckoned from it. */
  taken(name: string, askedAt: number): void;
  /** A take that another live holder refused. */
  lost(name: string): void;
  /** The row is gone from the store: nobody can hold it, so nothing is to be feared from others. */
  forget(name: string): void;
  state(name: string): HoldState;
}

/**
 * Holds as the pool last renewed them. A request goes out only with `marginMs` of the hold left,
 * so one sent just before the store went away has that long to finish before another host could
 * take the row; the renewals (every `renewMs`, src/config.ts) keep a healthy hold far from it.
 */
export function holdTracker(clock: Clock, opts: { holdMs: number; marginMs: number }): HoldTracker {
  const until = new Map<string, number>();
  const lost = new Set<string>();
  return {
    taken(name, askedAt) {
      lost.delete(name);
      until.set(name, askedAt + opts.holdMs);
    },
    lost(name) {
      lost.add(name);
    },
    forget(name) {
      lost.delete(name);
      until.delete(name);
    },
    state(name) {
      if (lost.has(name)) return 'lost';
      const end = until.get(name);
      if (end === undefined) return 'held';
      return clock.now() < end - opts.marginMs ? 'held' : 'unsure';
    },
  };
}
