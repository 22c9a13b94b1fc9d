/**
 * The queue's views, control, budget, watches, the catalogue and the sessions, per backend, for
 * tests that run the same cases against each (issue 14): SQLite in memory through its Store (those
 * stores served as promises; the sessions, still synchronous there, through `promised`) and
 * PostgreSQL (a fresh database per instance, on the server of test/helpers/pg.ts). The job store
 * comes along, since most view and watch cases need jobs to look at.
 */
import type pg from 'pg';
import { ManualClock } from '../../src/clock.js';
import { promised, type Async } from '../../src/db/async.js';
import type { BookCatalogue } from '../../src/db/books.js';
import type { BudgetStore } from '../../src/db/budget.js';
import type { QueueControl } from '../../src/db/control.js';
import type { JobStore } from '../../src/db/jobs.js';
import type { QueueViews } from '../../src/db/queue-views.js';
import type { SessionStore } from '../../src/db/sessions.js';
import { openStore, type Store } from '../../src/db/store.js';
import type { WatchStore } from '../../src/db/watches.js';
import { pgStoreOn } from '../../src/db/pg/store.js';
import { connectPool } from '../../src/db/pg/connect.js';
import { freshPgStore } from './job-backends.js';
import { pgServer } from './pg.js';

export interface StoreBackend {
  clock: ManualClock;
  jobs: Async<JobStore>;
  views: Async<QueueViews>;
  control: Async<QueueControl>;
  budget: Async<BudgetStore>;
  watches: Async<WatchStore>;
  books: Async<BookCatalogue>;
  sessions: Async<SessionStore>;
  /** A job's success with its catalogue rows, in one transaction (Store.completeJob). */
  completeJob: Store['completeJob'];
  close: () => Promise<void>;
}

export interface StoreBackendOptions {
  clock?: ManualClock;
  random?: () => number;
  watchRetryBaseMs?: number;
}

export interface StoreBackendKind {
  name: 'sqlite' | 'postgres';
  open(opts?: StoreBackendOptions): Promise<StoreBackend>;
  /** Stops what the kind started for its instances (the PostgreSQL server). */
  done(): Promise<void>;
}

const DEFAULT_WATCH_RETRY_BASE_MS = 60_000;

export const sqliteStores: StoreBackendKind = {
  name: 'sqlite',
  async open(opts = {}) {
    const clock = opts.clock ?? new ManualClock();
    const store = openStore(':memory:', clock, {
      ...(opts.random && { random: opts.random }),
      watchRetryBaseMs: opts.watchRetryBaseMs ?? DEFAULT_WATCH_RETRY_BASE_MS,
    });
    return {
      clock,
      jobs: store.jobs,
      views: store.views,
      control: store.control,
      budget: store.budget,
      watches: store.watches,
      books: store.books,
      sessions: promised(store.sessions),
      completeJob: store.completeJob,
      close: async () => store.close(),
    };
  },
  done: async () => {},
};

/** The PostgreSQL stores on one pool, wired as openSqliteStore wires SQLite's (a watch's failed discovery settles its run). */
export function pgStores(pool: pg.Pool, opts: StoreBackendOptions & { clock: ManualClock }): Omit<StoreBackend, 'close'> {
  const { clock } = opts;
  const s = pgStoreOn(pool, 'the test database', clock, {
    ...(opts.random && { random: opts.random }),
    watchRetryBaseMs: opts.watchRetryBaseMs ?? DEFAULT_WATCH_RETRY_BASE_MS,
  });
  const { jobs, views, control, budget, watches, books, sessions, completeJob } = s;
  return { clock, jobs, views, control, budget, watches, books, sessions, completeJob };
}

export const postgresStores: StoreBackendKind & {
  /** A second host on the same database: its own pool, clock and random, the same rows. */
  openPair(opts?: StoreBackendOptions): Promise<[StoreBackend, StoreBackend]>;
} = {
  name: 'postgres',
  async open(opts = {}) {
    const clock = opts.clock ?? new ManualClock();
    const { pool } = await freshPgStore();
    return { ...pgStores(pool, { ...opts, clock }), close: () => pool.end() };
  },
  async openPair(opts = {}) {
    const clock = opts.clock ?? new ManualClock();
    const { url, pool } = await freshPgStore();
    const other = await connectPool(url, { max: 8 });
    return [
      { ...pgStores(pool, { ...opts, clock }), close: () => pool.end() },
      { ...pgStores(other, { ...opts, clock }), close: () => other.end() },
    ];
  },
  done: async () => (await pgServer()).stop(),
};

export const STORE_BACKENDS: readonly StoreBackendKind[] = [sqliteStores, postgresStores];
