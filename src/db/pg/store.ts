import type pg from 'pg';
import { systemClock, type Clock } from '../../clock.js';
import { DEFAULT_TUNING } from '../../config.js';
import type { Store, StoreOptions } from '../store.js';
import { pgBookCatalogue } from './books.js';
import { pgBudgetStore } from './budget.js';
import { pgCompleteJob } from './complete.js';
import { clientConfig, connectPool } from './connect.js';
import { describeStore } from './url.js';
import { pgQueueControl } from './control.js';
import { pgJobStore } from './jobs.js';
import { migratePg } from './migrate.js';
import { pgSessionStore } from './sessions.js';
import { guarded } from './unavailable.js';
import { pgQueueViews } from './views.js';
import { jobWaiter, type JobWaiter } from './wake.js';
import { pgWatchStore } from './watches.js';

export type PgStoreOptions = Pick<StoreOptions, 'random' | 'backoffBaseMs' | 'backoffCapMs' | 'watchRetryBaseMs'> & {
  /** How many connections this process opens at most (default 10). */
  maxConnections?: number;
  /** Keep a LISTEN connection so idle workers wake on NOTIFY (a daemon does; one-shot commands need not). */
  listen?: boolean;
  /** A connection broke or the LISTEN connection is reconnecting; the message never holds the password. */
  onError?: (message: string) => void;
};

/**
 * The PostgreSQL stores on one pool, wired as openSqliteStore wires SQLite's: a watch's discovery
 * that gives up settles the watch's run in the same transaction. Every operation's lost
 * connection reaches the caller as a StoreUnavailableError (./unavailable.ts).
 */
export function pgStoreOn(pool: pg.Pool, where: string, clock: Clock, opts: PgStoreOptions = {}): Omit<Store, 'close'> {
  const { random } = opts;
  const watches = pgWatchStore(pool, { clock, retryBaseMs: opts.watchRetryBaseMs ?? DEFAULT_TUNING.watch.retryBaseMs, ...(random && { random }) });
  const jobs = pgJobStore(pool, {
    clock,
    ...(random && { random }),
    ...(opts.backoffBaseMs !== undefined && { backoffBaseMs: opts.backoffBaseMs }),
    ...(opts.backoffCapMs !== undefined && { backoffCapMs: opts.backoffCapMs }),
    onGivenUp: async (job, why, c) => {
      if (job.kind === 'discover' && job.payload.watch !== undefined)
        await watches.recordDiscoveryFailedOn(c, job.payload.watch, job.payload.skill, job.id, why);
    },
  });
  const books = pgBookCatalogue(pool);
  const g = <T extends object>(impl: T): T => guarded(impl, where);
  return {
    backend: 'postgres',
    where,
    clock,
    jobs: g(jobs),
    views: g(pgQueueViews(pool)),
    sessions: g(pgSessionStore(pool, { clock })),
    books: g(books),
    control: g(pgQueueControl(pool, { clock })),
    budget: g(pgBudgetStore(pool, { clock })),
    watches: g(watches),
    completeJob: g({ completeJob: pgCompleteJob(pool, jobs, books) }).completeJob,
  };
}

/**
 * Opens the store on the PostgreSQL server at `url`: one round trip to check it answers (a
 * server that cannot be reached is a ConfigError naming host:port/db, exit 78), the schema
 * brought up to date under the migration lock, and with `listen` the LISTEN connection that
 * wakes idle workers. `close` ends them all.
 */
export async function openPgStore(url: string, clock: Clock = systemClock, opts: PgStoreOptions = {}): Promise<Store> {
  const where = describeStore(url);
  const pool = await connectPool(url, {
    ...(opts.maxConnections !== undefined && { max: opts.maxConnections }),
    onError: (err) => opts.onError?.(`a connection to the store at ${where} broke: ${err.message}`),
  });
  let waiter: JobWaiter | undefined;
  try {
    await migratePg(pool, where, { clock });
    if (opts.listen) waiter = await jobWaiter(clientConfig(url), { clock, ...(opts.onError && { onError: opts.onError }) });
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return {
    ...pgStoreOn(pool, where, clock, opts),
    ...(waiter && { wake: waiter }),
    async close() {
      await waiter?.close();
      await pool.end();
    },
  };
}
