import type pg from 'pg';
import type { Clock } from '../../clock.js';
import type { Async } from '../async.js';
import { entryOf, nextRunAfter, retryAfterFailure, type Watch, type WatchFound, type WatchKind, type WatchOptions, type WatchStore } from '../watches.js';
import { inTransaction, type Queryable } from './connect.js';
import { run } from './statement.js';

/** A row of `watches` as node-postgres returns it (bigint as number, jsonb parsed). */
interface Row {
  id: number;
  kind: WatchKind;
  target: string;
  options: WatchOptions;
  period_ms: number;
  next_run_at: number;
  last_run_at: number | null;
  last_found: WatchFound | null;
  created_at: number;
  failures: number;
}

const toWatch = (r: Row): Watch => ({
  id: r.id,
  kind: r.kind,
  target: r.target,
  options: r.options,
  periodMs: r.period_ms,
  nextRunAt: r.next_run_at,
  lastRunAt: r.last_run_at ?? undefined,
  lastFound: r.last_found ?? undefined,
  createdAt: r.created_at,
  failures: r.failures,
});

/** Every statement of the PostgreSQL watch store, the rules of sqliteWatchStore (src/db/watches.ts). */
const SQL = {
  insert: {
    name: 'watches-insert',
    text: `INSERT INTO watches (kind, target, options, period_ms, next_run_at, created_at)
           VALUES ($1, $2, $3::jsonb, $4, $5, $5) RETURNING *`,
  },
  get: { name: 'watches-get', text: 'SELECT * FROM watches WHERE id = $1' },
  // The record of a run is read, changed and written back: the row lock keeps two hosts'
  // reports of the same run (two discoveries ending at once) from overwriting each other.
  getLocked: { name: 'watches-get-locked', text: 'SELECT * FROM watches WHERE id = $1 FOR UPDATE' },
  list: { name: 'watches-list', text: 'SELECT * FROM watches ORDER BY id' },
  remove: { name: 'watches-remove', text: 'DELETE FROM watches WHERE id = $1' },
  removeAll: { name: 'watches-remove-all', text: 'DELETE FROM watches' },
  due: { name: 'watches-due', text: 'SELECT * FROM watches WHERE next_run_at <= $1 ORDER BY next_run_at, id' },
  // One statement decides the claim: hosts claiming the same due run queue on the row lock, and
  // each one after the first re-checks `next_run_at <= now` on the row the winner committed
  // (READ COMMITTED re-evaluates the WHERE of an UPDATE that waited), finds it moved on, and
  // changes nothing. Exactly one gets the row back.
  claim: {
    name: 'watches-claim',
    text: 'UPDATE watches SET next_run_at = $3, last_run_at = $2 WHERE id = $1 AND next_run_at <= $2 RETURNING *',
  },
  markRun: { name: 'watches-mark-run', text: 'UPDATE watches SET last_found = $2::jsonb WHERE id = $1' },
  succeeded: { name: 'watches-succeeded', text: 'UPDATE watches SET failures = 0 WHERE id = $1' },
  // A failed run comes back sooner, never later than the next run already set.
  failed: { name: 'watches-failed', text: 'UPDATE watches SET failures = $2, next_run_at = least(next_run_at, $3) WHERE id = $1' },
} as const;

export interface PgWatchStoreDeps {
  clock: Clock;
  /** [0, 1), for the schedule's jitter and the retry backoff; tests pin it. */
  random?: () => number;
  /** `tuning.watch.retryBaseMs`. */
  retryBaseMs: number;
}

/**
 * The watch store on PostgreSQL, plus `recordDiscoveryFailedOn`: the same settlement on a
 * transaction the caller holds, for the job store's `onGivenUp` (the discovery's failure and its
 * watch's record commit together, as SQLite's store does them).
 */
export type PgWatchStore = Async<WatchStore> & {
  recordDiscoveryFailedOn(c: Queryable, id: number, skill: string, job: number, error: string): Promise<void>;
};

export function pgWatchStore(pool: pg.Pool, deps: PgWatchStoreDeps): PgWatchStore {
  const { clock } = deps;
  const random = deps.random ?? Math.random;

  const locked = async (c: Queryable, id: number) => {
    const r = (await run<Row>(c, SQL.getLocked, [id])).rows[0];
    return r && toWatch(r);
  };
  /** One more failed run of `w`: the next comes after the backoff, unless it was due sooner anyway. */
  const failed = async (c: Queryable, w: Watch) => {
    const failures = w.failures + 1;
    await run(c, SQL.failed, [w.id, failures, clock.now() + retryAfterFailure(failures, w.periodMs, deps.retryBaseMs, random)]);
  };
  const discoveryFailed = async (c: Queryable, id: number, skill: string, job: number, error: string) => {
    const w = await locked(c, id);
    const entry = entryOf(w, skill, job);
    if (!w || !entry || entry.added !== undefined) return;
    // One failed run counts once, however many of its skills failed.
    const first = !w.lastFound!.skills!.some((x) => x.error !== undefined);
    entry.error = error;
    await run(c, SQL.markRun, [id, JSON.stringify(w.lastFound)]);
    if (first) await failed(c, w);
  };

  return {
    async add(w) {
      const r = await run<Row>(pool, SQL.insert, [w.kind, w.target, JSON.stringify(w.options), w.periodMs, clock.now()]);
      return toWatch(r.rows[0]!);
    },
    async get(id) {
      const r = (await run<Row>(pool, SQL.get, [id])).rows[0];
      return r && toWatch(r);
    },
    async list() {
      return (await run<Row>(pool, SQL.list, [])).rows.map(toWatch);
    },
    async remove(id) {
      return ((await run(pool, SQL.remove, [id])).rowCount ?? 0) > 0;
    },
    async removeAll() {
      return (await run(pool, SQL.removeAll, [])).rowCount ?? 0;
    },
    async due(now) {
      return (await run<Row>(pool, SQL.due, [now])).rows.map(toWatch);
    },
    async claim(id, jitterPercent) {
      // The period never changes, so it can be read before the claim decides.
      const row = (await run<Row>(pool, SQL.get, [id])).rows[0];
      if (!row) return undefined;
      const now = clock.now();
      const next = nextRunAfter(now, row.period_ms, jitterPercent, random);
      const won = (await run<Row>(pool, SQL.claim, [id, now, next])).rows[0];
      return won && toWatch(won);
    },
    markRun(id, found) {
      return inTransaction(pool, async (c) => {
        const w = await locked(c, id);
        if (!w) return;
        await run(c, SQL.markRun, [id, JSON.stringify(found)]);
        // A skills run has not failed yet: its discoveries have still to end (recordDiscovery*).
        if (found.error !== undefined) await failed(c, w);
        else if (found.skills === undefined) await run(c, SQL.succeeded, [id]);
      });
    },
    recordDiscovery(id, skill, job, added, updated = 0) {
      return inTransaction(pool, async (c) => {
        const w = await locked(c, id);
        const entry = entryOf(w, skill, job);
        // A later run may have replaced the record meanwhile; then this discovery is not its to report.
        if (!w || !entry) return;
        entry.added = added;
        if (updated) entry.updated = updated;
        delete entry.error;
        await run(c, SQL.markRun, [id, JSON.stringify(w.lastFound)]);
        if (!w.lastFound!.skills!.some((x) => x.error !== undefined)) await run(c, SQL.succeeded, [id]);
      });
    },
    recordDiscoveryFailed(id, skill, job, error) {
      return inTransaction(pool, (c) => discoveryFailed(c, id, skill, job, error));
    },
    recordDiscoveryFailedOn: discoveryFailed,
  };
}
