import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Job } from '../db/jobs.js';
import type { Store } from '../db/store.js';
import type { Pace } from './pace.js';
import { statusSnapshot, type Snapshot } from '../views/status.js';

/** The failed jobs the page lists at most (the count is always whole). */
export const FAILED_SHOWN = 50;

/** What the page's live sections show: `bookd status`'s snapshot, the pace, the failed jobs. */
export interface LiveData {
  now: number;
  status: Snapshot;
  pace: Pace;
  failedJobs: Job[];
}

export async function readLive(store: Store, clock: Clock, config: Pick<Config, 'tuning' | 'expiryWarningMs'>, pace: () => Promise<Pace>): Promise<LiveData> {
  const now = clock.now();
  return {
    now,
    status: await statusSnapshot(store, now, config.tuning.status.daemonStaleMs, config.expiryWarningMs),
    pace: await pace(),
    failedJobs: await store.views.list({ state: 'failed', limit: FAILED_SHOWN }),
  };
}
