import pg from 'pg';
import type { Clock } from '../../clock.js';
import type { Async } from '../async.js';
import { backoffMs } from '../backoff.js';
import { cancelWins, lastAttempt, settlements, type Settlement } from '../settlement.js';
import {
  ACTIVE,
  DEFAULT_MAX_ATTEMPTS,
  JOB_KINDS,
  PRIORITY,
  dedupeKey,
  mergedBookPayload,
  normaliseItem,
  type AttemptOutcome,
  type BookPayload,
  type CancelResult,
  type ClaimOptions,
  type ClaimedJob,
  type CompleteOutcome,
  type DiscoverPayload,
  type EnqueueItem,
  type EnqueueResult,
  type Job,
  type JobAttempt,
  type JobKind,
  type JobState,
  type JobStore,
  type RetryResult,
} from '../jobs.js';
import { inTransaction, type Queryable } from './connect.js';
import { JOBS_CHANNEL } from './wake.js';

/** A row of `jobs` as node-postgres returns it (bigint as number, jsonb parsed, boolean). */
export interface PgJobRow {
  id: number;
  kind: JobKind;
  dedupe_key: string;
  payload: BookPayload | DiscoverPayload;
  priority: number;
  state: JobState;
  run_at: number;
  attempt: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_token: string | null;
  lease_expires_at: number | null;
  heartbeat_at: number | null;
  session: string | null;
  cancel_requested: boolean;
  progress: unknown;
  checkpoint: unknown;
  last_error_kind: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

interface PgAttemptRow {
  attempt: number;
  outcome: AttemptOutcome;
  error_kind: string | null;
  message: string | null;
  session: string | null;
  owner: string | null;
  started_at: number | null;
  finished_at: number;
  duration_ms: number | null;
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
/** jsonb parameters go as JSON text: node-postgres would turn a JS array into a PostgreSQL array. */
const toJson = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));

export function toJob(r: PgJobRow): Job {
  return {
    id: r.id,
    kind: r.kind,
    key: r.dedupe_key,
    payload: r.payload,
    priority: r.priority,
    state: r.state,
    runAt: r.run_at,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    leaseOwner: opt(r.lease_owner),
    leaseExpiresAt: opt(r.lease_expires_at),
    heartbeatAt: opt(r.heartbeat_at),
    session: opt(r.session),
    cancelRequested: r.cancel_requested,
    progress: r.progress ?? undefined,
    checkpoint: r.checkpoint ?? undefined,
    lastError: r.last_error === null ? undefined : { kind: r.last_error_kind ?? 'unknown', message: r.last_error },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: opt(r.started_at),
    finishedAt: opt(r.finished_at),
  } as Job;
}

function toAttempt(r: PgAttemptRow): JobAttempt {
  return {
    attempt: r.attempt,
    outcome: r.outcome,
    errorKind: opt(r.error_kind),
    message: opt(r.message),
    session: opt(r.session),
    owner: opt(r.owner),
    startedAt: opt(r.started_at),
    finishedAt: r.finished_at,
    durationMs: opt(r.duration_ms),
  };
}

/**
 * Every statement of the PostgreSQL job store, named so each connection prepares it once. The
 * rules are those of src/db/jobs.ts; where PostgreSQL differs the comment says why.
 */
const SQL = {
  byId: { name: 'jobs-by-id', text: 'SELECT * FROM jobs WHERE id = $1' },
  byIdLocked: { name: 'jobs-by-id-locked', text: 'SELECT * FROM jobs WHERE id = $1 FOR UPDATE' },
  byKeysLocked: { name: 'jobs-by-keys-locked', text: 'SELECT * FROM jobs WHERE dedupe_key = ANY($1::text[]) ORDER BY id FOR UPDATE' },
  byKeyLocked: { name: 'jobs-by-key-locked', text: 'SELECT * FROM jobs WHERE dedupe_key = $1 FOR UPDATE' },
  // The row lock is the fence: the worker's outcome and a concurrent cancel or reap take turns.
  fenced: { name: 'jobs-fenced', text: "SELECT * FROM jobs WHERE id = $1 AND lease_token = $2 AND state = 'running' FOR UPDATE" },
  // New keys of a batch in one statement, in the batch's order. ON CONFLICT: another host added
  // the same key since the batch looked; that item is then handled as an existing one.
  insertMany: {
    name: 'jobs-insert-many',
    text: `INSERT INTO jobs (kind, dedupe_key, payload, priority, state, run_at, max_attempts, created_at, updated_at)
           SELECT t.kind, t.key, t.payload::jsonb, t.priority, 'queued', t.run_at, t.max_attempts, $7, $7
             FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::bigint[], $6::integer[])
                  WITH ORDINALITY AS t(kind, key, payload, priority, run_at, max_attempts, ord)
            ORDER BY t.ord
           ON CONFLICT (dedupe_key) DO NOTHING
           RETURNING id, dedupe_key`,
  },
  merge: { name: 'jobs-merge', text: 'UPDATE jobs SET payload = $2::jsonb, priority = $3, updated_at = $4 WHERE id = $1' },
  reenqueue: {
    name: 'jobs-reenqueue',
    text: `UPDATE jobs SET payload = $2::jsonb, priority = $3, state = 'queued', run_at = $4, attempt = 0,
             max_attempts = $5, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, heartbeat_at = NULL,
             session = NULL, cancel_requested = false, progress = NULL, checkpoint = NULL, last_error_kind = NULL, last_error = NULL,
             started_at = NULL, finished_at = NULL, updated_at = $6
           WHERE id = $1`,
  },
  // One statement: the due rows in claim order, locked, skipping those another claimer holds
  // (so claimers never wait on or take each other's rows), leased and counted.
  claim: {
    name: 'jobs-claim',
    text: `WITH picked AS (
             SELECT id FROM jobs
              WHERE state = 'queued' AND run_at <= $1 AND ($2::text[] IS NULL OR kind = ANY($2::text[]))
                AND NOT EXISTS (SELECT 1 FROM queue_control WHERE id = 1 AND paused)
              ORDER BY priority, run_at, id
              LIMIT $3
              FOR UPDATE SKIP LOCKED)
           UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = $4,
             lease_token = replace(gen_random_uuid()::text, '-', ''), lease_expires_at = $5, heartbeat_at = $1,
             session = NULL, progress = NULL, started_at = $1, updated_at = $1
           FROM picked WHERE jobs.id = picked.id AND jobs.state = 'queued'
           RETURNING jobs.*`,
  },
  heartbeat: {
    name: 'jobs-heartbeat',
    text: `UPDATE jobs SET lease_expires_at = $3, heartbeat_at = $4, updated_at = $4,
             progress = coalesce($5::jsonb, progress), session = coalesce($6, session)
           WHERE id = $1 AND lease_token = $2 AND state = 'running' RETURNING cancel_requested`,
  },
  checkpoint: {
    name: 'jobs-checkpoint',
    text: "UPDATE jobs SET checkpoint = $3::jsonb, updated_at = $4 WHERE id = $1 AND lease_token = $2 AND state = 'running'",
  },
  // Every way a run ends goes through this one statement: lease dropped, new state decided by the caller.
  settle: {
    name: 'jobs-settle',
    text: `UPDATE jobs SET state = $2, run_at = $3, attempt = $4, lease_owner = NULL, lease_token = NULL,
             lease_expires_at = NULL, cancel_requested = false, last_error_kind = $5, last_error = $6,
             finished_at = $7, updated_at = $8
           WHERE id = $1`,
  },
  attempt: {
    name: 'jobs-attempt',
    text: `INSERT INTO job_attempts (job_id, attempt, outcome, error_kind, message, session, owner, started_at, finished_at, duration_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  },
  cancelQueued: {
    name: 'jobs-cancel-queued',
    text: "UPDATE jobs SET state = 'cancelled', finished_at = $2, updated_at = $2 WHERE id = $1 AND state = 'queued'",
  },
  requestCancel: { name: 'jobs-request-cancel', text: "UPDATE jobs SET cancel_requested = true, updated_at = $2 WHERE id = $1 AND state = 'running'" },
  retryOne: {
    name: 'jobs-retry-one',
    text: `UPDATE jobs SET state = 'queued', run_at = $2, attempt = 0, cancel_requested = false, progress = NULL, checkpoint = NULL,
             session = NULL, started_at = NULL, finished_at = NULL, updated_at = $2
           WHERE id = $1 AND state IN ('failed', 'cancelled')`,
  },
  retryAllFailed: {
    name: 'jobs-retry-all-failed',
    text: `UPDATE jobs SET state = 'queued', run_at = $1, attempt = 0, cancel_requested = false, progress = NULL, checkpoint = NULL,
             session = NULL, started_at = NULL, finished_at = NULL, updated_at = $1
           WHERE state = 'failed'`,
  },
  // SKIP LOCKED: a row locked now is being settled by its worker (or another host's reaper).
  expired: {
    name: 'jobs-expired',
    text: `SELECT * FROM jobs WHERE state = 'running' AND (lease_expires_at < $1 OR lease_owner = ANY($2::text[]))
           ORDER BY id FOR UPDATE SKIP LOCKED`,
  },
  leaseExpiries: { name: 'jobs-lease-expiries', text: "SELECT count(*) AS n FROM job_attempts WHERE job_id = $1 AND outcome = 'lease_expired'" },
  attempts: { name: 'jobs-attempts', text: 'SELECT * FROM job_attempts WHERE job_id = $1 ORDER BY id' },
  nextRunAt: { name: 'jobs-next-run-at', text: "SELECT min(run_at) AS t FROM jobs WHERE state = 'queued'" },
  leaseOwners: { name: 'jobs-lease-owners', text: "SELECT DISTINCT lease_owner AS owner FROM jobs WHERE state = 'running' AND lease_owner IS NOT NULL" },
  // Delivered when the transaction commits, not at all when it rolls back (a dry run).
  notify: { name: 'jobs-notify', text: 'SELECT pg_notify($1, $2)' },
} as const;

/** SQLSTATE deadlock_detected. */
const DEADLOCK_DETECTED = '40P01';

type Statement = { readonly name: string; readonly text: string };

function run<R extends pg.QueryResultRow>(c: Queryable | pg.Pool, stmt: Statement, values: unknown[]): Promise<pg.QueryResult<R>> {
  return c.query<R>({ name: stmt.name, text: stmt.text, values });
}

export interface PgJobStoreDeps {
  clock: Clock;
  /** [0, 1), for backoff jitter. */
  random?: () => number;
  /** The first retry's backoff ceiling (default 30 s); demos and tests shorten it. */
  backoffBaseMs?: number;
  /** The longest backoff (default 6 h). */
  backoffCapMs?: number;
  /**
   * A job ended failed or cancelled (by its worker, the reaper or the operator), called inside the
   * transaction that settled it (on `client`), so what depends on the job settles with it.
   */
  onGivenUp?: (job: Job, why: string, client: Queryable) => Promise<void> | void;
  /** The channel enqueues and releases NOTIFY (wake.ts listens on it). */
  channel?: string;
}

type Decide = (row: PgJobRow, now: number, c: Queryable) => Settlement | Promise<Settlement>;

/**
 * The durable queue on PostgreSQL: the state machine of sqliteJobStore (src/db/jobs.ts), each
 * call one transaction on a pooled connection. Times come from `clock` as in SQLite, so the two
 * backends answer alike under a test's manual clock.
 */
/**
 * The job queue on PostgreSQL, plus `completeOn`: a success recorded on a transaction the caller
 * holds, so the catalogue rows the job produced commit with it (SqliteStore.completeJob).
 */
export type PgJobStore = Async<JobStore> & {
  completeOn(c: Queryable, id: number, token: string, outcome?: CompleteOutcome): Promise<boolean>;
};

export function pgJobStore(pool: pg.Pool, deps: PgJobStoreDeps): PgJobStore {
  const { clock } = deps;
  const random = deps.random ?? Math.random;
  const channel = deps.channel ?? JOBS_CHANNEL;

  const notify = (c: Queryable, why: string) => run(c, SQL.notify, [channel, why]);

  async function recordAttempt(
    c: Queryable,
    row: PgJobRow,
    now: number,
    outcome: AttemptOutcome,
    extra: { errorKind?: string; message?: string; session?: string | undefined },
  ): Promise<void> {
    await run(c, SQL.attempt, [
      row.id,
      row.attempt,
      outcome,
      extra.errorKind ?? null,
      extra.message ?? null,
      extra.session ?? row.session,
      row.lease_owner,
      row.started_at,
      now,
      row.started_at === null ? null : Math.max(0, now - row.started_at),
    ]);
  }

  /** Ends the run of `row` (locked by the caller's transaction) as `decide` says; returns the state it left the job in. */
  async function settleRow(c: Queryable, row: PgJobRow, now: number, decide: Decide): Promise<JobState> {
    const d = cancelWins(row.cancel_requested, await decide(row, now, c));
    const finished = d.state === 'succeeded' || d.state === 'failed' || d.state === 'cancelled';
    const runAt = d.runAt ?? row.run_at;
    await run(c, SQL.settle, [
      row.id,
      d.state,
      runAt,
      d.attempt ?? row.attempt,
      d.error ? String(d.error.kind) : d.keepError ? row.last_error_kind : null,
      d.error ? d.error.message : d.keepError ? row.last_error : null,
      finished ? now : null,
      now,
    ]);
    if (d.state === 'failed' || d.state === 'cancelled') await deps.onGivenUp?.(toJob(row), d.error?.message ?? d.message ?? d.state, c);
    if (d.state === 'queued' && runAt <= now) await notify(c, 'released');
    const errorKind = d.error ? String(d.error.kind) : d.attemptKind;
    await recordAttempt(c, row, now, d.outcome, {
      ...(errorKind !== undefined && { errorKind }),
      ...((d.message ?? d.error?.message) !== undefined && { message: d.message ?? d.error?.message }),
      session: d.session ?? d.error?.session,
    });
    return d.state;
  }

  /** Ends the run of a job if `token` still holds its lease; undefined (and no change) otherwise. */
  function settle(id: number, token: string, decide: Decide): Promise<JobState | undefined> {
    return inTransaction(pool, async (c) => {
      const row = (await run<PgJobRow>(c, SQL.fenced, [id, token])).rows[0];
      return row ? settleRow(c, row, clock.now(), decide) : undefined;
    });
  }
  const settled = async (id: number, token: string, decide: Decide): Promise<boolean> => (await settle(id, token, decide)) !== undefined;

  /** One existing row named again: merged, left, or queued again (the rules of src/db/jobs.ts). */
  async function enqueueExisting(c: Queryable, item: EnqueueItem, existing: PgJobRow, force: boolean, now: number): Promise<EnqueueResult> {
    const key = existing.dedupe_key;
    const priority = item.priority ?? PRIORITY[item.kind];
    const old = existing.payload;
    const active = ACTIVE.has(existing.state);
    const payload = item.kind === 'book' ? mergedBookPayload(old as BookPayload, item.payload, active) : item.payload;
    if (active) {
      // A book named again may bring a new skill, or be wanted sooner than a backfill queued it.
      const newSkills = item.kind === 'book' && (payload as BookPayload).skills.length !== (old as BookPayload).skills.length;
      const sooner = existing.state === 'queued' && priority < existing.priority;
      if (newSkills || sooner) {
        const merged = item.kind === 'book' ? payload : old;
        const newPriority = sooner ? priority : existing.priority;
        await run(c, SQL.merge, [existing.id, JSON.stringify(merged), newPriority, now]);
        Object.assign(existing, { payload: merged, priority: newPriority, updated_at: now });
        return { key, status: 'merged', id: existing.id, state: existing.state };
      }
      return { key, status: 'exists', id: existing.id, state: existing.state };
    }
    if (item.kind === 'discover' || force) {
      const runAt = item.runAt ?? now;
      const maxAttempts = item.maxAttempts ?? existing.max_attempts;
      await run(c, SQL.reenqueue, [existing.id, JSON.stringify(payload), priority, runAt, maxAttempts, now]);
      Object.assign(existing, {
        payload,
        priority,
        state: 'queued',
        run_at: runAt,
        attempt: 0,
        max_attempts: maxAttempts,
        cancel_requested: false,
        progress: null,
        checkpoint: null,
        last_error_kind: null,
        last_error: null,
        started_at: null,
        finished_at: null,
      });
      return { key, status: 'requeued', id: existing.id, state: 'queued' };
    }
    return { key, status: 'exists', id: existing.id, state: existing.state };
  }

  async function enqueueItems(c: Queryable, raw: readonly EnqueueItem[], force: boolean): Promise<EnqueueResult[]> {
    const now = clock.now();
    const items = raw.map(normaliseItem);
    const keys = items.map(dedupeKey);
    const rows = new Map<string, PgJobRow>();
    for (const r of (await run<PgJobRow>(c, SQL.byKeysLocked, [[...new Set(keys)]])).rows) rows.set(r.dedupe_key, r);

    // Keys not stored yet, first naming in the batch: inserted together. The rest (and any key
    // another host inserted meanwhile) go one by one, in the batch's order, as SQLite does them.
    const fresh: number[] = [];
    const seen = new Set<string>();
    items.forEach((_, i) => {
      const key = keys[i]!;
      if (!rows.has(key) && !seen.has(key)) fresh.push(i);
      seen.add(key);
    });
    const results: (EnqueueResult | undefined)[] = new Array<EnqueueResult | undefined>(items.length);
    if (fresh.length > 0) {
      const col = <T>(f: (item: EnqueueItem, i: number) => T): T[] => fresh.map((i) => f(items[i]!, i));
      const inserted = await run<{ id: number; dedupe_key: string }>(c, SQL.insertMany, [
        col((it) => it.kind),
        col((_, i) => keys[i]!),
        col((it) => JSON.stringify(it.payload)),
        col((it) => it.priority ?? PRIORITY[it.kind]),
        col((it) => it.runAt ?? now),
        col((it) => it.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
        now,
      ]);
      const ids = new Map(inserted.rows.map((r) => [r.dedupe_key, r.id]));
      for (const i of fresh) {
        const id = ids.get(keys[i]!);
        if (id !== undefined) {
          results[i] = { key: keys[i]!, status: 'added', id, state: 'queued' };
          const it = items[i]!;
          rows.set(keys[i]!, {
            id,
            kind: it.kind,
            dedupe_key: keys[i]!,
            payload: it.payload,
            priority: it.priority ?? PRIORITY[it.kind],
            state: 'queued',
            run_at: it.runAt ?? now,
            attempt: 0,
            max_attempts: it.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
            lease_owner: null,
            lease_token: null,
            lease_expires_at: null,
            heartbeat_at: null,
            session: null,
            cancel_requested: false,
            progress: null,
            checkpoint: null,
            last_error_kind: null,
            last_error: null,
            created_at: now,
            updated_at: now,
            started_at: null,
            finished_at: null,
          });
        }
      }
    }
    for (let i = 0; i < items.length; i++) {
      if (results[i]) continue;
      const key = keys[i]!;
      let existing = rows.get(key);
      if (!existing) {
        // Inserted by another transaction after our look: wait for its row and take it as found.
        existing = (await run<PgJobRow>(c, SQL.byKeyLocked, [key])).rows[0];
        if (!existing) throw new Error(`job ${key} was neither inserted nor found`);
        rows.set(key, existing);
      }
      results[i] = await enqueueExisting(c, items[i]!, existing, force, now);
    }
    const out = results as EnqueueResult[];
    if (out.some((r) => (r.status === 'added' || r.status === 'requeued') && (rows.get(r.key)?.run_at ?? now) <= now)) await notify(c, 'enqueued');
    return out;
  }

  /** A lease that lapsed, or whose owner is gone: back to the queue, or failed once its attempts are used up. */
  /** A lease that lapsed, or whose owner is gone (this run's attempt is about to be recorded as one more lease expiry). */
  function lapsed(dead: ReadonlySet<string>): Decide {
    return async (row, now, c) =>
      settlements.lapsed(row, now, dead, lastAttempt(row) ? ((await run<{ n: number }>(c, SQL.leaseExpiries, [row.id])).rows[0]?.n ?? 0) + 1 : 0);
  }

  return {
    async enqueue(items, opts = {}) {
      // Two batches naming the same new keys in different orders can deadlock on each other's
      // inserts; PostgreSQL aborts one, which then simply runs again.
      for (let attempt = 1; ; attempt++) {
        try {
          return await inTransaction(pool, (c) => enqueueItems(c, items, opts.force ?? false), { commit: !opts.dryRun });
        } catch (err) {
          if (!(err instanceof pg.DatabaseError && err.code === DEADLOCK_DETECTED) || attempt >= 5) throw err;
        }
      }
    },

    async claim(opts: ClaimOptions): Promise<ClaimedJob[]> {
      if (opts.limit < 1 || opts.kinds?.length === 0) return [];
      const kinds = opts.kinds === undefined ? null : JOB_KINDS.filter((k) => opts.kinds!.includes(k));
      const now = clock.now();
      // One statement is its own transaction: no BEGIN/COMMIT round trips.
      const rows = (await run<PgJobRow>(pool, SQL.claim, [now, kinds, opts.limit, opts.owner, now + opts.leaseMs])).rows;
      rows.sort((a, b) => a.priority - b.priority || a.run_at - b.run_at || a.id - b.id);
      return rows.map((r) => ({ ...toJob(r), leaseToken: r.lease_token!, leaseOwner: r.lease_owner!, leaseExpiresAt: r.lease_expires_at! }));
    },

    async heartbeat(id, token, leaseMs, progress, session) {
      const now = clock.now();
      const r = await run<{ cancel_requested: boolean }>(pool, SQL.heartbeat, [id, token, now + leaseMs, now, toJson(progress), session ?? null]);
      const row = r.rows[0];
      return row ? { ok: true, cancelRequested: row.cancel_requested } : { ok: false, cancelRequested: false };
    },

    async checkpoint(id, token, checkpoint) {
      return (await run(pool, SQL.checkpoint, [id, token, toJson(checkpoint), clock.now()])).rowCount === 1;
    },

    complete(id, token, outcome = {}) {
      return settled(id, token, () => settlements.succeeded(outcome));
    },

    async completeOn(c, id, token, outcome = {}) {
      const row = (await run<PgJobRow>(c, SQL.fenced, [id, token])).rows[0];
      return row ? (await settleRow(c, row, clock.now(), () => settlements.succeeded(outcome))) !== undefined : false;
    },

    retry(id, token, err) {
      return settle(id, token, (row, now) => settlements.retried(row, now, err, backoffMs(row.attempt, random, deps.backoffBaseMs, deps.backoffCapMs)));
    },

    snooze(id, token, untilMs, reason, session, kind) {
      return settled(id, token, (row, now) => settlements.snoozed(row, now, untilMs, reason, session, kind));
    },

    requeue(id, token, why) {
      return settled(id, token, (row, now) => settlements.released(row, now, why));
    },

    fail(id, token, err) {
      return settled(id, token, () => settlements.failed(err));
    },

    acknowledgeCancel(id, token) {
      return settled(id, token, settlements.cancelled);
    },

    cancel(id): Promise<CancelResult | undefined> {
      return inTransaction(pool, async (c) => {
        const row = (await run<PgJobRow>(c, SQL.byIdLocked, [id])).rows[0];
        if (!row) return undefined;
        const now = clock.now();
        if (row.state === 'queued') {
          await run(c, SQL.cancelQueued, [id, now]);
          await deps.onGivenUp?.(toJob(row), 'cancelled', c);
          return { id, before: 'queued', after: 'cancelled', cancelRequested: false };
        }
        if (row.state === 'running') {
          await run(c, SQL.requestCancel, [id, now]);
          return { id, before: 'running', after: 'running', cancelRequested: true };
        }
        return { id, before: row.state, after: row.state, cancelRequested: false };
      });
    },

    retryOne(id): Promise<RetryResult | undefined> {
      return inTransaction(pool, async (c) => {
        const row = (await run<PgJobRow>(c, SQL.byIdLocked, [id])).rows[0];
        if (!row) return undefined;
        const changed = (await run(c, SQL.retryOne, [id, clock.now()])).rowCount === 1;
        if (changed) await notify(c, 'retried');
        return { id, before: row.state, after: changed ? 'queued' : row.state };
      });
    },

    retryAllFailed() {
      return inTransaction(pool, async (c) => {
        const n = (await run(c, SQL.retryAllFailed, [clock.now()])).rowCount ?? 0;
        if (n > 0) await notify(c, 'retried');
        return n;
      });
    },

    reap(deadOwners = []) {
      return inTransaction(pool, async (c) => {
        const now = clock.now();
        const decide = lapsed(new Set(deadOwners));
        const rows = (await run<PgJobRow>(c, SQL.expired, [now, [...deadOwners]])).rows;
        for (const row of rows) await settleRow(c, row, now, decide);
        return rows.length;
      });
    },

    async get(id) {
      const row = (await run<PgJobRow>(pool, SQL.byId, [id])).rows[0];
      return row && toJob(row);
    },

    async leaseOwners() {
      return (await run<{ owner: string }>(pool, SQL.leaseOwners, [])).rows.map((r) => r.owner);
    },

    async attempts(id) {
      return (await run<PgAttemptRow>(pool, SQL.attempts, [id])).rows.map(toAttempt);
    },

    async nextRunAt() {
      return opt((await run<{ t: number | null }>(pool, SQL.nextRunAt, [])).rows[0]?.t ?? null);
    },
  };
}
