import { systemClock, type Clock } from '../clock.js';
import { DEFAULT_TUNING } from '../config.js';
import { sqliteBookCatalogue, type BookCatalogue } from './books.js';
import { sqliteBudgetStore, type BudgetStore } from './budget.js';
import { sqliteQueueControl, type QueueControl } from './control.js';
import { sqliteJobStore, type JobStore } from './jobs.js';
import { sqliteQueueViews, type QueueViews } from './queue-views.js';
import { BUSY_TIMEOUT_MS, openDb, type Database, type OpenDbOptions } from './open.js';
import { sqliteSessionStore, type SessionStore } from './sessions.js';
import { sqliteWatchStore, type WatchStore } from './watches.js';
import { writeTransactions, type ThreadLock } from './write-lock.js';

/**
 * Everything the rest of bookd keeps durable, behind interfaces so a second backend (PostgreSQL
 * with FOR UPDATE SKIP LOCKED, for several machines) is an addition rather than a rewrite.
 */
export interface Store {
  db: Database;
  /** The clock the store was opened with, for commands that work beside it (holds, expiry). */
  clock: Clock;
  jobs: JobStore;
  /** Read models of the queue for status, listings and metrics. */
  views: QueueViews;
  sessions: SessionStore;
  books: BookCatalogue;
  control: QueueControl;
  /** The machine's shared request budget (one row per host). */
  budget: BudgetStore;
  /** Watched skills and playlists: what the daemon enqueues again on a schedule. */
  watches: WatchStore;
  /** Runs `fn` as one write transaction: the writes of the stores inside it commit together. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export interface StoreOptions extends Omit<OpenDbOptions, 'clock'> {
  /** [0, 1), for backoff and watch jitter; tests pin it. */
  random?: () => number;
  /** The first retry's backoff ceiling (`tuning.retry.jobBaseMs`, 30 s by default); demos and tests shorten it. */
  backoffBaseMs?: number;
  /** The longest backoff (`tuning.retry.jobCapMs`, 6 h by default). */
  backoffCapMs?: number;
  /** Shared with the other threads of this process that write to the same file. */
  threadLock?: ThreadLock;
  /** A failed watch run's first retry ceiling (`tuning.watch.retryBaseMs`). */
  watchRetryBaseMs?: number;
}

/** Opens (creating and migrating as needed) the store at `path`; `':memory:'` for a private one. */
export function openStore(path: string, clock: Clock = systemClock, opts: StoreOptions = {}): Store {
  const { random, backoffBaseMs, backoffCapMs, threadLock, watchRetryBaseMs, ...dbOpts } = opts;
  const db = openDb(path, { ...dbOpts, clock });
  const tx = writeTransactions(db, { timeoutMs: BUSY_TIMEOUT_MS, ...(threadLock && { threadLock }) });
  const watches = sqliteWatchStore(db, { clock, tx, retryBaseMs: watchRetryBaseMs ?? DEFAULT_TUNING.watch.retryBaseMs, ...(random && { random }) });
  return {
    db,
    clock,
    jobs: sqliteJobStore(db, {
      clock,
      tx,
      ...(random && { random }),
      ...(backoffBaseMs !== undefined && { backoffBaseMs }),
      ...(backoffCapMs !== undefined && { backoffCapMs }),
      // A watch's discovery that gives up settles the watch's run in the same transaction.
      onGivenUp: (job, why) => {
        if (job.kind === 'discover' && job.payload.watch !== undefined) watches.recordDiscoveryFailed(job.payload.watch, job.payload.skill, job.id, why);
      },
    }),
    views: sqliteQueueViews(db),
    sessions: sqliteSessionStore(db, { clock, tx }),
    books: sqliteBookCatalogue(db, { tx }),
    control: sqliteQueueControl(db, { clock, tx }),
    budget: sqliteBudgetStore(db, { clock, tx }),
    watches,
    transaction: (fn) => tx(fn)(),
    close() {
      if (db.open) db.close();
    },
  };
}
