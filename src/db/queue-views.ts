import type { Database } from 'better-sqlite3';
import { toJob, type Job, type JobKind, type JobRow, type JobState } from './jobs.js';

export type StateCounts = Record<JobState, number>;
export interface SkillCounts extends StateCounts {
  skill: string;
}
export interface FailureReason {
  kind: string | undefined;
  message: string | undefined;
  count: number;
}

export interface ListOptions {
  state?: JobState;
  skill?: string;
  kind?: JobKind;
  limit?: number;
}

/**
 * What the queue looks like, for the people and tools watching it (`bookd status`, `jobs list`,
 * /metrics, the demo's live view). Reads only: every change to a job goes through the job store.
 */
export interface QueueViews {
  list(opts?: ListOptions): Job[];
  counts(): StateCounts;
  /** Book jobs per skill and state. */
  countsBySkill(): SkillCounts[];
  /** The queued job that has waited longest. */
  oldestQueued(): Job | undefined;
  running(): Job[];
  topFailures(n: number): FailureReason[];
}

export function emptyCounts(): StateCounts {
  return { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

export function sqliteQueueViews(db: Database): QueueViews {
  const s = {
    counts: db.prepare<[], { state: JobState; n: number }>('SELECT state, count(*) AS n FROM jobs GROUP BY state'),
    skillCounts: db.prepare<[], { k: string; skill: string; state: JobState; n: number }>(
      `SELECT lower(s.value) AS k, min(s.value) AS skill, j.state AS state, count(*) AS n
       FROM jobs AS j, json_each(j.payload, '$.skills') AS s
       WHERE j.kind = 'book' GROUP BY k, j.state ORDER BY k`,
    ),
    list: db.prepare<Record<string, unknown>, JobRow>(
      `SELECT * FROM jobs
       WHERE (@state IS NULL OR state = @state) AND (@kind IS NULL OR kind = @kind)
         AND (@skill IS NULL
              OR (kind = 'book' AND EXISTS (SELECT 1 FROM json_each(payload, '$.skills') WHERE lower(value) = lower(@skill)))
              OR (kind = 'discover' AND lower(payload ->> '$.skill') = lower(@skill)))
       ORDER BY id LIMIT @limit`,
    ),
    oldestQueued: db.prepare<[], JobRow>("SELECT * FROM jobs WHERE state = 'queued' ORDER BY created_at, id LIMIT 1"),
    running: db.prepare<[], JobRow>("SELECT * FROM jobs WHERE state = 'running' ORDER BY started_at, id"),
    topFailures: db.prepare<[number], { kind: string | null; message: string | null; n: number }>(
      `SELECT last_error_kind AS kind, last_error AS message, count(*) AS n FROM jobs WHERE state = 'failed'
       GROUP BY last_error_kind, last_error ORDER BY n DESC, kind, message LIMIT ?`,
    ),
  };

  return {
    list(opts = {}) {
      return s.list.all({ state: opts.state ?? null, kind: opts.kind ?? null, skill: opts.skill ?? null, limit: opts.limit ?? -1 }).map(toJob);
    },

    counts() {
      const out = emptyCounts();
      for (const r of s.counts.all()) out[r.state] = r.n;
      return out;
    },

    countsBySkill() {
      const bySkill = new Map<string, SkillCounts>();
      for (const r of s.skillCounts.all()) {
        let entry = bySkill.get(r.k);
        if (!entry) bySkill.set(r.k, (entry = { skill: r.skill, ...emptyCounts() }));
        entry[r.state] += r.n;
      }
      return [...bySkill.values()];
    },

    oldestQueued() {
      const row = s.oldestQueued.get();
      return row && toJob(row);
    },

    running: () => s.running.all().map(toJob),

    topFailures(n) {
      return s.topFailures.all(n).map((r) => ({ kind: opt(r.kind), message: opt(r.message), count: r.n }));
    },
  };
}
