import type { Clock } from '../clock.js';
import type { Store } from '../db/store.js';
import { liveFigures, type RateWindow, type Sample } from '../views/pace.js';

export interface Pace {
  /** Over the rate window; undefined until measured. */
  booksPerHour: number | undefined;
  requestsPerSecond: number | undefined;
  etaMs: number | undefined;
  /** Book jobs not finished yet. */
  remaining: number;
}

/**
 * The page's pace: books per hour and the ETA as `status --watch` measures them (src/cli/support/progress.ts),
 * and the requests this daemon sent per second, over the same window.
 */
export function paceMeter(deps: { store: Store; clock: Clock; requests: () => number; window: RateWindow }): { read(): Promise<Pace> } {
  const books: Sample[] = [];
  const requests: Sample[] = [];
  return {
    async read() {
      const now = deps.clock.now();
      const f = await liveFigures(deps.store, books, now, deps.window);
      requests.push({ at: now, done: deps.requests() });
      while (requests.length > 2 && now - requests[0]!.at > deps.window.rateWindowMs) requests.shift();
      const first = requests[0]!;
      const span = now - first.at;
      return {
        booksPerHour: f.perHour,
        requestsPerSecond: span >= deps.window.rateMinSpanMs ? ((deps.requests() - first.done) / span) * 1000 : undefined,
        etaMs: f.etaMs,
        remaining: f.total - f.done - f.failed,
      };
    },
  };
}
