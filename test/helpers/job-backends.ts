/**
 * The job store's backends for tests that run the same cases against each: SQLite in memory
 * (its Store, whose job queue is served as promises) and PostgreSQL (a fresh database per backend instance, on the server
 * of test/helpers/pg.ts). What a case needs besides the job store (pausing the queue, counting
 * by state, forcing a column) is here, per backend.
 */
import type pg from 'pg';
import { ManualClock } from '../../src/clock.js';
import type { Async } from '../../src/db/async.js';
import { JOB_STATES, type JobState, type JobStore } from '../../src/db/jobs.js';
import { connectPool } from '../../src/db/pg/connect.js';
import { describeStore } from '../../src/db/pg/url.js';
import { pgJobStore } from '../../src/db/pg/jobs.js';
import { migratePg } from '../../src/db/pg/migrate.js';
import { asStore, openSqliteStore } from '../../src/db/store.js';
import { pgServer } from './pg.js';

export interface JobBackend {
  jobs: Async<JobStore>;
  clock: ManualClock;
  pause: () => Promise<void>;
  resume: () => Promise<void>;
  counts: () => Promise<Record<JobState, number>>;
  /** Sets a job's attempt counter directly (the backoff cap case starts at attempt 19). */
  setAttempt: (key: string, attempt: number) => Promise<void>;
  close: () => Promise<void>;
}

export interface BackendOptions {
  random?: () => number;
  backoffBaseMs?: number;
  clock?: ManualClock;
}

export interface BackendKind {
  name: 'sqlite' | 'postgres';
  open(opts?: BackendOptions): Promise<JobBackend>;
  /** Stops what the kind started for its instances (the PostgreSQL server). */
  done(): Promise<void>;
}

export const sqliteBackend: BackendKind = {
  name: 'sqlite',
  async open(opts = {}) {
    const clock = opts.clock ?? new ManualClock();
    const sqlite = openSqliteStore(':memory:', clock, {
      ...(opts.random && { random: opts.random }),
      ...(opts.backoffBaseMs !== undefined && { backoffBaseMs: opts.backoffBaseMs }),
    });
    const store = asStore(sqlite);
    return {
      jobs: store.jobs,
      clock,
      pause: async () => store.control.pause('maintenance'),
      resume: async () => store.control.resume(),
      counts: async () => store.views.counts(),
      setAttempt: async (key, attempt) => {
        sqlite.db.prepare('UPDATE jobs SET attempt = ? WHERE dedupe_key = ?').run(attempt, key);
      },
      close: async () => store.close(),
    };
  },
  done: async () => {},
};

/** A migrated PostgreSQL database of its own, with a pool. */
export async function freshPgStore(): Promise<{ url: string; pool: pg.Pool }> {
  const server = await pgServer();
  const url = await server.createDatabase();
  const pool = await connectPool(url, { max: 8 });
  await migratePg(pool, describeStore(url));
  return { url, pool };
}

export const postgresBackend: BackendKind = {
  name: 'postgres',
  async open(opts = {}) {
    const clock = opts.clock ?? new ManualClock();
    const { pool } = await freshPgStore();
    return {
      jobs: pgJobStore(pool, {
        clock,
        ...(opts.random && { random: opts.random }),
        ...(opts.backoffBaseMs !== undefined && { backoffBaseMs: opts.backoffBaseMs }),
      }),
      clock,
      pause: async () => {
        await pool.query("UPDATE queue_control SET paused = true, reason = 'maintenance', since = $1 WHERE id = 1", [clock.now()]);
      },
      resume: async () => {
        await pool.query('UPDATE queue_control SET paused = false, reason = NULL, since = NULL WHERE id = 1');
      },
      counts: async () => {
        const out = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
        const r = await pool.query<{ state: JobState; n: number }>('SELECT state, count(*) AS n FROM jobs GROUP BY state');
        for (const row of r.rows) out[row.state] = row.n;
        return out;
      },
      setAttempt: async (key, attempt) => {
        await pool.query('UPDATE jobs SET attempt = $1 WHERE dedupe_key = $2', [attempt, key]);
      },
      close: () => pool.end(),
    };
  },
  done: async () => (await pgServer()).stop(),
};

export const BACKENDS: readonly BackendKind[] = [sqliteBackend, postgresBackend];
