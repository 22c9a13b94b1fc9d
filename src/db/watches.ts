import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { BookFormat } from './jobs.js';
import type { WriteTransaction } from './write-lock.js';

export type WatchKind = 'skills' | 'playlist';
export const WATCH_KINDS: readonly WatchKind[] = ['skills', 'playlist'];

/** The enqueue options a watch repeats (`bookd watch add`, as `bookd enqueue` takes them). */
export interface WatchOptions {
  format: BookFormat;
  maxBooks?: number;
  excludeSkills?: string[];
}

/** One skill of a run: the discover job it queued, or why it queued none. */
export interface WatchSkillRun {
  skill: string;
  job: number;
  /** `queued`: this run queued the discovery; `busy`: that skill's discover job was still queued or running, so none was added. */
  status: 'queued' | 'busy';
  /** The books its discovery added, once it has finished. */
  added?: number;
}

/** What a watch's last run found (`bookd watch list`). */
export interface WatchFound {
  /** A skills watch: one entry per skill. */
  skills?: WatchSkillRun[];
  /** A playlist watch: the books it added to the queue. */
  added?: number;
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
  /** Records what the run that was just claimed found. */
  markRun(id: number, found: WatchFound): void;
  /** A discovery a run queued has finished: `added` books came of it. */
  recordDiscovery(id: number, skill: string, job: number, added: number): void;
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
});

/**
 * The next run after one at `now`: a period on, moved by up to ±`jitterPercent` % of it so that
 * watches added together drift apart instead of asking the service at the same moment.
 */
export function nextRunAfter(now: number, periodMs: number, jitterPercent: number, random: () => number): number {
  const spread = (periodMs * jitterPercent) / 100;
  return now + periodMs + Math.round((2 * random() - 1) * spread);
}

export function sqliteWatchStore(db: Database, deps: { clock: Clock; tx: WriteTransaction; random?: () => number }): WatchStore {
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
  };
  const get = (id: number) => {
    const r = s.get.get(id);
    return r && toWatch(r);
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
    }),
    recordDiscovery: tx((id: number, skill: string, job: number, added: number) => {
      const w = get(id);
      const entry = w?.lastFound?.skills?.find((x) => x.job === job && x.skill.toLowerCase() === skill.toLowerCase());
      // A later run may have replaced the record meanwhile; then this discovery is not its to report.
      if (!w || !entry) return;
      entry.added = added;
      s.markRun.run({ id, found: JSON.stringify(w.lastFound) });
    }),
  };
}
