import { systemClock, type Clock } from '../clock.js';
import { promised, type Async } from './async.js';
import { DEFAULT_TUNING } from '../config.js';
import { sqliteBookCatalogue, type BookCatalogue, type BookRecord } from './books.js';
import { sqliteBudgetStore, type BudgetStore } from './budget.js';
import { sqliteQueueControl, type QueueControl } from './control.js';
import { sqliteJobStore, type CompleteOutcome, type JobStore } from './jobs.js';
import { sqliteQueueViews, type QueueViews } from './queue-views.js';
import { BUSY_TIMEOUT_MS, openDb, type Database, type OpenDbOptions } from './open.js';
import { sqliteSessionStore, type SessionStore } from './sessions.js';
import { sqliteWatchStore, type WatchStore } from './watches.js';
import { writeTransactions, type ThreadLock } from './write-lock.js';
import type { JobWaiter } from './pg/wake.js';

/**
 * The SQLite backend as it is: every operation synchronous, one transaction each (better-sqlite3).
 * The jar thread and the SQLite backend's own tests use it directly; the rest of bookd sees it as
 * a `Store` (`openStore`).
 */
export interface SqliteStore {
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
  /**
   * The job's success and the catalogue rows it produced, in one transaction: false (nothing
   * written) when the lease token is no longer the job's.
   */
  completeJob: (id: number, token: string, outcome: CompleteOutcome, catalogue: readonly BookRecord[]) => boolean;
  /** Runs `fn` as one write transaction: the writes of the stores inside it commit together. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

/**
 * Everything the rest of bookd keeps durable, behind interfaces every backend serves as promises
 * (`Async`): SQLite in the data dir (one machine) or PostgreSQL (several; src/db/pg). The
 * synchronous interfaces list the operations and their rules.
 */
export interface Store {
  backend: 'sqlite' | 'postgres';
  /** Which store this is, for messages: the SQLite file, or host:port/database (never a password). */
  where: string;
  /** The clock the store was opened with, for commands that work beside it (holds, expiry). */
  clock: Clock;
  /**
   * Wakes idle workers when a job becomes claimable on any host (PostgreSQL's LISTEN/NOTIFY);
   * absent on SQLite, where the workers poll. Take `seen()` before a claim and pass it as `since`,
   * so a notification between the claim and the wait is not missed.
   */
  wake?: Pick<JobWaiter, 'seen' | 'wait'>;
  jobs: Async<JobStore>;
  views: Async<QueueViews>;
  sessions: Async<SessionStore>;
  books: Async<BookCatalogue>;
  control: Async<QueueControl>;
  budget: Async<BudgetStore>;
  watches: Async<WatchStore>;
  completeJob: (...args: Parameters<SqliteStore['completeJob']>) => Promise<boolean>;
  close(): Promise<void>;
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

/** Opens (creating and migrating as needed) the SQLite store at `path`; `':memory:'` for a private one. */
export function openSqliteStore(path: string, clock: Clock = systemClock, opts: StoreOptions = {}): SqliteStore {
  const { random, backoffBaseMs, backoffCapMs, threadLock, watchRetryBaseMs, ...dbOpts } = opts;
  const db = openDb(path, { ...dbOpts, clock });
  const tx = writeTransactions(db, { timeoutMs: BUSY_TIMEOUT_MS, ...(threadLock && { threadLock }) });
  const watches = sqliteWatchStore(db, { clock, tx, retryBaseMs: watchRetryBaseMs ?? DEFAULT_TUNING.watch.retryBaseMs, ...(random && { random }) });
  const jobs = sqliteJobStore(db, {
    clock,
    tx,
    ...(random && { random }),
    ...(backoffBaseMs !== undefined && { backoffBaseMs }),
    ...(backoffCapMs !== undefined && { backoffCapMs }),
    // A watch's discovery that gives up settles the watch's run in the same transaction.
    onGivenUp: (job, why) => {
      if (job.kind === 'discover' && job.payload.watch !== undefined) watches.recordDiscoveryFailed(job.payload.watch, job.payload.skill, job.id, why);
    },
  });
  const books = sqliteBookCatalogue(db, { tx });
  const completeJob = tx((id: number, token: string, outcome: CompleteOutcome, catalogue: readonly BookRecord[]) => {
    if (!jobs.complete(id, token, outcome)) return false;
    for (const row of catalogue) books.record(row);
    return true;
  });
  return {
    db,
    clock,
    jobs,
    views: sqliteQueueViews(db),
    sessions: sqliteSessionStore(db, { clock, tx }),
    books,
    control: sqliteQueueControl(db, { clock, tx }),
    budget: sqliteBudgetStore(db, { clock, tx }),
    watches,
    completeJob,
    transaction: (fn) => tx(fn)(),
    close() {
      if (db.open) db.close();
    },
  };
}

/** Opens the SQLite store at `path` as the rest of bookd uses it (see `openSqliteStore`). */
export function openStore(path: string, clock: Clock = systemClock, opts: StoreOptions = {}): Store {
  return asStore(openSqliteStore(path, clock, opts), path);
}

/** The SQLite backend served through the `Store` interface. */
export function asStore(sqlite: SqliteStore, where: string = sqlite.db.name): Store {
  const { jobs, views, sessions, control, budget, watches, books } = sqlite;
  return {
    backend: 'sqlite',
    where,
    clock: sqlite.clock,
    jobs: promised(jobs),
    sessions: promised(sessions),
    views: promised(views),
    control: promised(control),
    budget: promised(budget),
    watches: promised(watches),
    books: promised(books),
    completeJob: (...args) => new Promise((resolve) => resolve(sqlite.completeJob(...args))),
    close: () => Promise.resolve(sqlite.close()),
  };
}
