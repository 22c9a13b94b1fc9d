import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { backoffMs } from './backoff.js';
import type { BookFormat } from './jobs.js';
import type { WriteTransaction } from './write-lock.js';

export type WatchKind = 'skills' | 'playlist';
export const WATCH_KINDS: readonly WatchKind[] = ['skills', 'playlist'];

/** The enqueue options a watch repeats (`bookd watch add`, as `bookd enqueue` takes them). */
export interface WatchOptions {
  format: BookFormat;
  maxBooks?: number;
  excludeSkills?: string[];
  /** `--keep-previous`: a grown book archived again keeps its older file beside it as `… (rev N).epub`. */
  keepPrevious?: boolean;
}

/** One skill of a run: the discover job it queued, or why it queued none. */
export interface WatchSkillRun {
  skill: string;
  job: number;
  /** `queued`: this run queued the discovery; `busy`: that skill's discover job was still queued or running, so none was added. */
  status: 'queued' | 'busy';
  /** The books its discovery added, once it has finished. */
  added?: number;
  /** The grown books its discovery queued again (src/jobs/grown.ts). */
  updated?: number;
  /** Why its discovery ended without a result (failed for good, or cancelled). */
  error?: string;
}

/** What a watch's last run found (`bookd watch list`). */
export interface WatchFound {
  /** A skills watch: one entry per skill. */
  skills?: WatchSkillRun[];
  /** A playlist watch: the books it added to the queue. */
  added?: number;
  /** A playlist watch: the grown books it queued again. */
  updated?: number;
  /** Why the run found nothing (the playlist is gone, no usable session). */
  error?: string;
}

export interface Watch {
  id: number;
  kind: WatchKind;
  /** The skills ("A, B") or the playlist (uuid or name). */
  target: string;
  options: WatchOptions;
  periodMs: number;
  nextRunAt: number;
  lastRunAt: number | undefined;
  lastFound: WatchFound | undefined;
  createdAt: number;
  /** Runs that failed in a row; each brings the next one sooner than a period (`retryAfterFailure`). */
  failures: number;
}

export interface NewWatch {
  kind: WatchKind;
  target: string;
  options: WatchOptions;
  periodMs: number;
}

export interface WatchStore {
  /** A new watch, due at once: its first run is the next time the daemon looks. */
  add(w: NewWatch): Watch;
  get(id: number): Watch | undefined;
  list(): Watch[];
  remove(id: number): boolean;
  removeAll(): number;
  /** The watches whose next run is at or before `now`, soonest first. */
  due(now: number): Watch[];
  /**
   * Claims a due watch for one run: moves its next run to now + period ± `jitterPercent` % of it.
   * Only one caller wins (another daemon may look at the same time); undefined when the watch is
   * gone or no longer due.
   */
  claim(id: number, jitterPercent: number): Watch | undefined;
  /**
   * Records what the run that was just claimed found. A run with an error counts as failed: its
   * next run comes after a backoff (`retryAfterFailure`) instead of a whole period.
   */
  markRun(id: number, found: WatchFound): void;
  /** A discovery a run queued has finished: `added` books came of it, `updated` grown ones queued again. */
  recordDiscovery(id: number, skill: string, job: number, added: number, updated?: number): void;
  /**
   * A discovery a run queued ended without a result (failed for good, or cancelled): its skill's
   * entry says why instead of staying "discovering", and the run counts as failed.
   */
  recordDiscoveryFailed(id: number, skill: string, job: number, error: string): void;
}

interface Row {
  id: number;
  kind: WatchKind;
  target: string;
  options: string;
  period_ms: number;
  next_run_at: number;
  last_run_at: number | null;
  last_found: string | null;
  created_at: number;
  failures: number;
}

const toWatch = (r: Row): Watch => ({
  id: r.id,
  kind: r.kind,
  target: r.target,
  options: JSON.parse(r.options) as WatchOptions,
  periodMs: r.period_ms,
  nextRunAt: r.next_run_at,
  lastRunAt: r.last_run_at ?? undefined,
  lastFound: r.last_found === null ? undefined : (JSON.parse(r.last_found) as WatchFound),
  createdAt: r.created_at,
  failures: r.failures,
});

/**
 * The next run after one at `now`: a period on, moved by up to ±`jitterPercent` % of it so that
 * watches added together drift apart instead of asking the service at the same moment.
 */
export function nextRunAfter(now: number, periodMs: number, jitterPercent: number, random: () => number): number {
  const spread = (periodMs * jitterPercent) / 100;
  return now + periodMs + Math.round((2 * random() - 1) * spread);
}

/**
 * When a watch tries again after its `failures`-th failed run in a row: the job backoff (full
 * jitter over retryBaseMs·2^(failures−1)), never later than its period would have come.
 */
export function retryAfterFailure(failures: number, periodMs: number, retryBaseMs: number, random: () => number): number {
  return backoffMs(failures, random, retryBaseMs, periodMs);
}

export function sqliteWatchStore(
  db: Database,
  deps: { clock: Clock; tx: WriteTransaction; random?: () => number; /** `tuning.watch.retryBaseMs`. */ retryBaseMs: number },
): WatchStore {
  const { clock, tx } = deps;
  const random = deps.random ?? Math.random;
  const s = {
    insert: db.prepare<{ kind: string; target: string; options: string; periodMs: number; now: number }>(
      `INSERT INTO watches (kind, target, options, period_ms, next_run_at, created_at)
       VALUES (@kind, @target, @options, @periodMs, @now, @now)`,
    ),
    get: db.prepare<[number], Row>('SELECT * FROM watches WHERE id = ?'),
    list: db.prepare<[], Row>('SELECT * FROM watches ORDER BY id'),
    remove: db.prepare<[number]>('DELETE FROM watches WHERE id = ?'),
    removeAll: db.prepare('DELETE FROM watches'),
    due: db.prepare<[number], Row>('SELECT * FROM watches WHERE next_run_at <= ? ORDER BY next_run_at, id'),
    claim: db.prepare<{ id: number; now: number; next: number }>(
      'UPDATE watches SET next_run_at = @next, last_run_at = @now WHERE id = @id AND next_run_at <= @now',
    ),
    markRun: db.prepare<{ id: number; found: string }>('UPDATE watches SET last_found = @found WHERE id = @id'),
    succeeded: db.prepare<[number]>('UPDATE watches SET failures = 0 WHERE id = ?'),
    // A failed run comes back sooner, never later than the next run already set.
    failed: db.prepare<{ id: number; failures: number; retryAt: number }>(
      'UPDATE watches SET failures = @failures, next_run_at = min(next_run_at, @retryAt) WHERE id = @id',
    ),
  };
  const get = (id: number) => {
    const r = s.get.get(id);
    return r && toWatch(r);
  };
  /** One more failed run of `w`: the next comes after the backoff, unless it was due sooner anyway. */
  const failed = (w: Watch) => {
    const failures = w.failures + 1;
    s.failed.run({ id: w.id, failures, retryAt: clock.now() + retryAfterFailure(failures, w.periodMs, deps.retryBaseMs, random) });
  };
  return {
    add: tx((w: NewWatch): Watch => {
      const info = s.insert.run({ kind: w.kind, target: w.target, options: JSON.stringify(w.options), periodMs: w.periodMs, now: clock.now() });
      return get(Number(info.lastInsertRowid))!;
    }),
    get,
    list: () => s.list.all().map(toWatch),
    remove: tx((id: number) => s.remove.run(id).changes > 0),
    removeAll: tx(() => s.removeAll.run().changes),
    due: (now) => s.due.all(now).map(toWatch),
    claim: tx((id: number, jitterPercent: number): Watch | undefined => {
      const row = s.get.get(id);
      if (!row) return undefined;
      const now = clock.now();
      const next = nextRunAfter(now, row.period_ms, jitterPercent, random);
      return s.claim.run({ id, now, next }).changes > 0 ? get(id) : undefined;
    }),
    markRun: tx((id: number, found: WatchFound) => {
      s.markRun.run({ id, found: JSON.stringify(found) });
      const w = get(id);
      // A skills run has not failed yet: its discoveries have still to end (recordDiscovery*).
      if (w && found.error !== undefined) failed(w);
      else if (w && found.skills === undefined) s.succeeded.run(id);
    }),
    recordDiscovery: tx((id: number, skill: string, job: number, added: number, updated = 0) => {
      const w = get(id);
      const entry = entryOf(w, skill, job);
      // A later run may have replaced the record meanwhile; then this discovery is not its to report.
      if (!w || !entry) return;
      entry.added = added;
      if (updated) entry.updated = updated;
      delete entry.error;
      s.markRun.run({ id, found: JSON.stringify(w.lastFound) });
      if (!w.lastFound!.skills!.some((x) => x.error !== undefined)) s.succeeded.run(id);
    }),
    recordDiscoveryFailed: tx((id: number, skill: string, job: number, error: string) => {
      const w = get(id);
      const entry = entryOf(w, skill, job);
      if (!w || !entry || entry.added !== undefined) return;
      // One failed run counts once, however many of its skills failed.
      const first = !w.lastFound!.skills!.some((x) => x.error !== undefined);
      entry.error = error;
      s.markRun.run({ id, found: JSON.stringify(w.lastFound) });
      if (first) failed(w);
    }),
  };
}

/** The skill entry of the watch's last run that names this discovery job. */
export function entryOf(w: Watch | undefined, skill: string, job: number): WatchSkillRun | undefined {
  return w?.lastFound?.skills?.find((x) => x.job === job && x.skill.toLowerCase() === skill.toLowerCase());
}
