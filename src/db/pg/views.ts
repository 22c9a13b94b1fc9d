import type pg from 'pg';
import type { Async } from '../async.js';
import type { JobState } from '../jobs.js';
import { emptyCounts, type QueueViews, type SkillCounts } from '../queue-views.js';
import { toJob, type PgJobRow } from './jobs.js';
import { run } from './statement.js';

/**
 * Every statement of the PostgreSQL queue views, the reads of sqliteQueueViews (src/db/queue-views.ts).
 * Text is compared and ordered with COLLATE "C" (bytewise, as SQLite does) and NULLs sort first
 * (SQLite's order), so both backends list in the same order whatever the database's locale.
 */
const SQL = {
  counts: { name: 'views-counts', text: 'SELECT state, count(*) AS n FROM jobs GROUP BY state' },
  skillCounts: {
    name: 'views-skill-counts',
    text: `SELECT lower(s.value) COLLATE "C" AS k, min(s.value COLLATE "C") AS skill, j.state AS state, count(*) AS n
             FROM jobs AS j, jsonb_array_elements_text(j.payload -> 'skills') AS s(value)
            WHERE j.kind = 'book' GROUP BY k, j.state ORDER BY k`,
  },
  // LIMIT NULL is no limit.
  list: {
    name: 'views-list',
    text: `SELECT * FROM jobs
            WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR kind = $2)
              AND ($3::text IS NULL
                   OR (kind = 'book' AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(payload -> 'skills') AS s(value) WHERE lower(s.value) = lower($3)))
                   OR (kind = 'discover' AND lower(payload ->> 'skill') = lower($3)))
            ORDER BY id LIMIT $4`,
  },
  oldestQueued: { name: 'views-oldest-queued', text: "SELECT * FROM jobs WHERE state = 'queued' ORDER BY created_at, id LIMIT 1" },
  running: { name: 'views-running', text: "SELECT * FROM jobs WHERE state = 'running' ORDER BY started_at NULLS FIRST, id" },
  topFailures: {
    name: 'views-top-failures',
    text: `SELECT last_error_kind AS kind, last_error AS message, count(*) AS n FROM jobs WHERE state = 'failed'
            GROUP BY last_error_kind, last_error
            ORDER BY n DESC, last_error_kind COLLATE "C" NULLS FIRST, last_error COLLATE "C" NULLS FIRST LIMIT $1`,
  },
} as const;

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

/** The queue's read models on PostgreSQL: the same answers as sqliteQueueViews. */
export function pgQueueViews(pool: pg.Pool): Async<QueueViews> {
  return {
    async list(opts = {}) {
      // SQLite reads a negative limit as none; so does this.
      const limit = opts.limit === undefined || opts.limit < 0 ? null : opts.limit;
      const r = await run<PgJobRow>(pool, SQL.list, [opts.state ?? null, opts.kind ?? null, opts.skill ?? null, limit]);
      return r.rows.map(toJob);
    },

    async counts() {
      const out = emptyCounts();
      for (const r of (await run<{ state: JobState; n: number }>(pool, SQL.counts, [])).rows) out[r.state] = r.n;
      return out;
    },

    async countsBySkill() {
      const bySkill = new Map<string, SkillCounts>();
      for (const r of (await run<{ k: string; skill: string; state: JobState; n: number }>(pool, SQL.skillCounts, [])).rows) {
        let entry = bySkill.get(r.k);
        if (!entry) bySkill.set(r.k, (entry = { skill: r.skill, ...emptyCounts() }));
        entry[r.state] += r.n;
      }
      return [...bySkill.values()];
    },

    async oldestQueued() {
      const row = (await run<PgJobRow>(pool, SQL.oldestQueued, [])).rows[0];
      return row && toJob(row);
    },

    async running() {
      return (await run<PgJobRow>(pool, SQL.running, [])).rows.map(toJob);
    },

    async topFailures(n) {
      const r = await run<{ kind: string | null; message: string | null; n: number }>(pool, SQL.topFailures, [n]);
      return r.rows.map((x) => ({ kind: opt(x.kind), message: opt(x.message), count: x.n }));
    },
  };
}
