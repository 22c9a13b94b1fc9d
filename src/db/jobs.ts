import type { Database, Statement } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { BookdError, type ErrorKind } from '../errors.js';
import { isBookId } from '../ids.js';
import { backoffMs } from './backoff.js';
import { cancelWins, lastAttempt, settlements, type Settlement } from './settlement.js';
import type { WriteTransaction } from './write-lock.js';

export type JobKind = 'book' | 'discover';
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type BookFormat = 'epub' | 'kindle' | 'both';

export const JOB_KINDS: readonly JobKind[] = ['book', 'discover'];
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
export const BOOK_FORMATS: readonly BookFormat[] = ['epub', 'kindle', 'both'];

/** Lower runs first. */
export const PRIORITY = { book: 100, discover: 50, discovered: 200 } as const;
export const DEFAULT_MAX_ATTEMPTS = 5;

export interface BookPayload {
  bookId: string;
  format: BookFormat;
  skills: string[];
  title?: string;
  /** A re-archive: a watch's listing showed the catalogued book grown (src/jobs/grown.ts). */
  update?: boolean;
  /** Keep the file a re-archive replaces, beside the new one as `… (rev N).epub` (`watch add --keep-previous`). */
  keepPrevious?: boolean;
  /** A re-archive: the date the listing showed, recorded if it is later than the book's own search record says. */
  listedIssued?: string;
}

export interface DiscoverPayload {
  skill: string;
  format: BookFormat;
  maxBooks?: number;
  excludeSkills?: string[];
  /** Priority for the book jobs this discovery creates. */
  priority?: number;
  /** The watch whose run queued it: the discovery reports to it what it added (src/db/watches.ts). */
  watch?: number;
  /** The watch's `--keep-previous`: re-archives of grown books keep the file they replace. */
  keepPrevious?: boolean;
}

interface ItemCommon {
  priority?: number;
  maxAttempts?: number;
  runAt?: number;
}
export type EnqueueItem = (ItemCommon & { kind: 'book'; payload: BookPayload }) | (ItemCommon & { kind: 'discover'; payload: DiscoverPayload });

export interface EnqueueOptions {
  /** Re-queue finished book jobs (discover jobs are always re-queued once finished). */
  force?: boolean;
  /** Work out the results, then roll everything back. */
  dryRun?: boolean;
}

export type EnqueueStatus = 'added' | 'exists' | 'requeued' | 'merged';
export interface EnqueueResult {
  key: string;
  status: EnqueueStatus;
  id: number;
  state: JobState;
}

export interface JobError {
  kind: string;
  message: string;
}

interface JobBase {
  id: number;
  key: string;
  priority: number;
  state: JobState;
  runAt: number;
  attempt: number;
  maxAttempts: number;
  leaseOwner: string | undefined;
  leaseExpiresAt: number | undefined;
  heartbeatAt: number | undefined;
  /** The session the worker reported using (heartbeat), while running. */
  session: string | undefined;
  cancelRequested: boolean;
  progress: unknown;
  checkpoint: unknown;
  lastError: JobError | undefined;
  createdAt: number;
  updatedAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
}
export type BookJob = JobBase & { kind: 'book'; payload: BookPayload };
export type DiscoverJob = JobBase & { kind: 'discover'; payload: DiscoverPayload };
export type Job = BookJob | DiscoverJob;
export type ClaimedJob = Job & { leaseToken: string; leaseOwner: string; leaseExpiresAt: number };

export interface ClaimOptions {
  owner: string;
  limit: number;
  leaseMs: number;
  kinds?: readonly JobKind[];
}

export interface FailureInfo {
  /** An error kind, or what ended the run otherwise (`shutdown`, `storage`). */
  kind: ErrorKind | 'shutdown' | 'storage';
  message: string;
  session?: string;
}

/**
 * Why a run went back to the queue without spending an attempt: the error kind that decided it,
 * or the daemon's own reasons (it is stopping; the library's disk refused a write).
 */
export type RequeueKind = ErrorKind | 'shutdown' | 'storage';
export interface RequeueReason {
  kind: RequeueKind;
  message: string;
  session?: string | undefined;
}

export type AttemptOutcome = 'succeeded' | 'retry' | 'snoozed' | 'released' | 'failed' | 'cancelled' | 'lease_expired';
export interface JobAttempt {
  attempt: number;
  outcome: AttemptOutcome;
  errorKind: string | undefined;
  message: string | undefined;
  session: string | undefined;
  owner: string | undefined;
  startedAt: number | undefined;
  finishedAt: number;
  durationMs: number | undefined;
}

export interface CancelResult {
  id: number;
  before: JobState;
  after: JobState;
  /** Running: the worker was asked to stop and will acknowledge. */
  cancelRequested: boolean;
}

export interface RetryResult {
  id: number;
  before: JobState;
  /** `queued` when it was failed or cancelled; otherwise untouched. */
  after: JobState;
}

/** What a success records in the attempt history. */
export interface CompleteOutcome {
  session?: string | undefined;
  message?: string | undefined;
}

/**
 * The durable queue. Every write a worker makes is fenced by the lease token it got at claim:
 * a worker whose lease expired and was re-claimed elsewhere changes nothing and is told so.
 */
export interface JobStore {
  /** One transaction for the batch; idempotent on each item's dedupe key (see EnqueueStatus). */
  enqueue(items: readonly EnqueueItem[], opts?: EnqueueOptions): EnqueueResult[];
  /** Leases up to `limit` due jobs (lowest priority, then run_at, then id); none while paused. Counts the attempt. */
  claim(opts: ClaimOptions): ClaimedJob[];
  /** Extends the lease by `leaseMs` from now; `progress` and `session` are shown by `bookd status`. */
  heartbeat(id: number, token: string, leaseMs: number, progress?: unknown, session?: string): { ok: boolean; cancelRequested: boolean };
  /** Saves resumable state; it survives the job being re-queued to another worker. */
  checkpoint(id: number, token: string, checkpoint: unknown): boolean;
  complete(id: number, token: string, outcome?: CompleteOutcome): boolean;
  /**
   * Back to queued after a jittered backoff, or failed once the attempts are used up (cancelled if
   * a cancel was asked for meanwhile); returns that state, or undefined when the lease was lost.
   */
  retry(id: number, token: string, err: FailureInfo): JobState | undefined;
  /**
   * Back to queued at `untilMs` without using an attempt (rate limits, no usable session,
   * throttling); `kind` is the error kind that decided it, kept in the attempt history.
   */
  snooze(id: number, token: string, untilMs: number, reason: string, session?: string, kind?: string): boolean;
  /** Back to queued now without using an attempt (session trouble, shutdown, a full disk). */
  requeue(id: number, token: string, why: RequeueReason): boolean;
  /** Failed for good: retrying cannot help. */
  fail(id: number, token: string, err: FailureInfo): boolean;
  /** The worker stopped because cancel was requested. */
  acknowledgeCancel(id: number, token: string): boolean;
  /** Queued: cancelled at once. Running: flags it; the worker sees it in its heartbeat. */
  cancel(id: number): CancelResult | undefined;
  /** A failed or cancelled job back to queued with its attempts reset; undefined for an unknown id. */
  retryOne(id: number): RetryResult | undefined;
  /** Every failed job back to queued with attempts reset; returns how many. */
  retryAllFailed(): number;
  /** Running jobs whose lease expired go back to queued (or failed, when their attempts are used up). */
  /** Returns to the queue the jobs whose lease expired, or whose owner is known to be gone. */
  reap(deadOwners?: readonly string[]): number;
  /** The owners of running jobs' leases (to find those whose process is gone). */
  leaseOwners(): string[];
  get(id: number): Job | undefined;
  attempts(id: number): JobAttempt[];
  /** The earliest run_at of any queued job (pause aside), so an idle worker knows when to look again. */
  nextRunAt(): number | undefined;
}

/** A row of `jobs` as SQLite returns it; queue-views.ts reads the same rows. */
export interface JobRow {
  id: number;
  kind: JobKind;
  dedupe_key: string;
  payload: string;
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
  cancel_requested: number;
  progress: string | null;
  checkpoint: string | null;
  last_error_kind: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

interface AttemptRow {
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
const parseJson = (v: string | null): unknown => (v === null ? undefined : JSON.parse(v));
const toJson = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));

export function toJob(r: JobRow): Job {
  return {
    id: r.id,
    kind: r.kind,
    key: r.dedupe_key,
    payload: JSON.parse(r.payload) as Job['payload'],
    priority: r.priority,
    state: r.state,
    runAt: r.run_at,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    leaseOwner: opt(r.lease_owner),
    leaseExpiresAt: opt(r.lease_expires_at),
    heartbeatAt: opt(r.heartbeat_at),
    session: opt(r.session),
    cancelRequested: r.cancel_requested === 1,
    progress: parseJson(r.progress),
    checkpoint: parseJson(r.checkpoint),
    lastError: r.last_error === null ? undefined : { kind: r.last_error_kind ?? 'unknown', message: r.last_error },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: opt(r.started_at),
    finishedAt: opt(r.finished_at),
  } as Job;
}

function toAttempt(r: AttemptRow): JobAttempt {
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

export function dedupeKey(item: EnqueueItem): string {
  return item.kind === 'book' ? `book:${item.payload.bookId}:${item.payload.format}` : `discover:${item.payload.skill.trim().toLowerCase()}`;
}

function validate(item: EnqueueItem): void {
  const bad = (what: string) => {
    throw new BookdError('bad_input', `cannot enqueue ${item.kind} job: ${what}`);
  };
  if (!BOOK_FORMATS.includes(item.payload.format)) bad(`format must be one of ${BOOK_FORMATS.join(', ')}`);
  if (item.kind === 'book') {
    if (!isBookId(item.payload.bookId)) bad(`"${item.payload.bookId}" is not a 13-digit book id`);
    if (!Array.isArray(item.payload.skills)) bad('skills must be a list');
  } else if (typeof item.payload.skill !== 'string' || item.payload.skill.trim() === '') {
    bad('the skill name is empty');
  }
  if (item.priority !== undefined && !Number.isSafeInteger(item.priority)) bad('priority must be a whole number');
  if (item.maxAttempts !== undefined && (!Number.isSafeInteger(item.maxAttempts) || item.maxAttempts < 1)) bad('max attempts must be at least 1');
}

/** An item as it is stored: checked (BookdError bad_input), skills trimmed and deduplicated, the skill name trimmed. */
export function normaliseItem(item: EnqueueItem): EnqueueItem {
  validate(item);
  if (item.kind === 'book') {
    const skills = mergeSkills([], item.payload.skills.map((x) => x.trim()).filter(Boolean));
    return { ...item, payload: { ...item.payload, skills } };
  }
  return { ...item, payload: { ...item.payload, skill: item.payload.skill.trim() } };
}

/**
 * A book named again: the skills of both, the newer title. Whether it is a re-archive (and keeps
 * the previous file) is the newer item's to say when a finished job is queued again (a new run);
 * a job still queued or running keeps what it was queued as, and gains what the newer item adds.
 */
export function mergedBookPayload(old: BookPayload, item: BookPayload, active: boolean): BookPayload {
  const { update, keepPrevious, listedIssued, ...rest } = old;
  const issued = item.listedIssued ?? (active ? listedIssued : undefined);
  return {
    ...rest,
    ...(item.title !== undefined && { title: item.title }),
    skills: mergeSkills(old.skills, item.skills),
    ...((item.update || (active && update)) && { update: true }),
    ...((item.keepPrevious || (active && keepPrevious)) && { keepPrevious: true }),
    ...(issued !== undefined && { listedIssued: issued }),
  };
}

/** Union of skill lists, case-insensitively, keeping the first spelling seen. */
export function mergeSkills(a: readonly string[], b: readonly string[]): string[] {
  const out = [...a];
  const seen = new Set(a.map((s) => s.toLowerCase()));
  for (const s of b) {
    const k = s.toLowerCase();
    if (!seen.has(k)) {
      seen.add(k);
      out.push(s);
    }
  }
  return out;
}

/** States in which a job named again is merged into rather than run again. */
export const ACTIVE: ReadonlySet<JobState> = new Set(['queued', 'running']);

export interface SqliteJobStoreDeps {
  clock: Clock;
  /** How every write runs: one IMMEDIATE transaction, the lock taken fairly (write-lock.ts). */
  tx: WriteTransaction;
  /** [0, 1), for backoff jitter. */
  random?: () => number;
  /** The first retry's backoff ceiling (default 30 s); demos and tests shorten it. */
  backoffBaseMs?: number;
  /** The longest backoff (default 6 h). */
  backoffCapMs?: number;
  /**
   * A job ended failed or cancelled (by its worker, the reaper or the operator), called inside the
   * transaction that settled it, so what depends on the job (a watch's run) settles with it.
   */
  onGivenUp?: (job: Job, why: string) => void;
}

export function sqliteJobStore(db: Database, deps: SqliteJobStoreDeps): JobStore {
  const { clock, tx } = deps;
  const random = deps.random ?? Math.random;

  const s = {
    byId: db.prepare<[number], JobRow>('SELECT * FROM jobs WHERE id = ?'),
    byKey: db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE dedupe_key = ?'),
    fenced: db.prepare<[number, string], JobRow>("SELECT * FROM jobs WHERE id = ? AND lease_token = ? AND state = 'running'"),
    insert: db.prepare(
      `INSERT INTO jobs (kind, dedupe_key, payload, priority, state, run_at, max_attempts, created_at, updated_at)
       VALUES (@kind, @key, @payload, @priority, 'queued', @runAt, @maxAttempts, @now, @now)`,
    ),
    merge: db.prepare('UPDATE jobs SET payload = @payload, priority = @priority, updated_at = @now WHERE id = @id'),
    reenqueue: db.prepare(
      `UPDATE jobs SET payload = @payload, priority = @priority, state = 'queued', run_at = @runAt, attempt = 0,
         max_attempts = @maxAttempts, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, heartbeat_at = NULL,
         session = NULL, cancel_requested = 0, progress = NULL, checkpoint = NULL, last_error_kind = NULL, last_error = NULL,
         started_at = NULL, finished_at = NULL, updated_at = @now
       WHERE id = @id`,
    ),
    heartbeat: db.prepare<Record<string, unknown>, { cancel_requested: number }>(
      `UPDATE jobs SET lease_expires_at = @until, heartbeat_at = @now, updated_at = @now,
         progress = coalesce(@progress, progress), session = coalesce(@session, session)
       WHERE id = @id AND lease_token = @token AND state = 'running' RETURNING cancel_requested`,
    ),
    checkpoint: db.prepare("UPDATE jobs SET checkpoint = @checkpoint, updated_at = @now WHERE id = @id AND lease_token = @token AND state = 'running'"),
    // Every way a run ends goes through this one statement: lease dropped, new state decided by the caller.
    settle: db.prepare(
      `UPDATE jobs SET state = @state, run_at = @runAt, attempt = @attempt, lease_owner = NULL, lease_token = NULL,
         lease_expires_at = NULL, cancel_requested = 0, last_error_kind = @errorKind, last_error = @error,
         finished_at = @finishedAt, updated_at = @now
       WHERE id = @id`,
    ),
    attempt: db.prepare(
      `INSERT INTO job_attempts (job_id, attempt, outcome, error_kind, message, session, owner, started_at, finished_at, duration_ms)
       VALUES (@jobId, @attempt, @outcome, @errorKind, @message, @session, @owner, @startedAt, @now, @durationMs)`,
    ),
    cancelQueued: db.prepare("UPDATE jobs SET state = 'cancelled', finished_at = @now, updated_at = @now WHERE id = @id AND state = 'queued'"),
    requestCancel: db.prepare("UPDATE jobs SET cancel_requested = 1, updated_at = @now WHERE id = @id AND state = 'running'"),
    retryOne: db.prepare(
      `UPDATE jobs SET state = 'queued', run_at = @now, attempt = 0, cancel_requested = 0, progress = NULL, checkpoint = NULL,
         session = NULL, started_at = NULL, finished_at = NULL, updated_at = @now
       WHERE id = @id AND state IN ('failed', 'cancelled')`,
    ),
    retryAllFailed: db.prepare(
      `UPDATE jobs SET state = 'queued', run_at = @now, attempt = 0, cancel_requested = 0, progress = NULL, checkpoint = NULL,
         session = NULL, started_at = NULL, finished_at = NULL, updated_at = @now
       WHERE state = 'failed'`,
    ),
    expired: db.prepare<Record<string, unknown>, JobRow>(
      `SELECT * FROM jobs WHERE state = 'running'
         AND (lease_expires_at < @now OR lease_owner IN (SELECT value FROM json_each(@dead))) ORDER BY id`,
    ),
    leaseExpiries: db.prepare<[number], { n: number }>("SELECT count(*) AS n FROM job_attempts WHERE job_id = ? AND outcome = 'lease_expired'"),
    attempts: db.prepare<[number], AttemptRow>('SELECT * FROM job_attempts WHERE job_id = ? ORDER BY id'),
    nextRunAt: db.prepare<[], { t: number | null }>("SELECT min(run_at) AS t FROM jobs WHERE state = 'queued'"),
    leaseOwners: db.prepare<[], { owner: string }>("SELECT DISTINCT lease_owner AS owner FROM jobs WHERE state = 'running' AND lease_owner IS NOT NULL"),
  };

  // One claim statement per set of kinds; the outer `state = 'queued'` is what stops two
  // processes that both ran the subquery from claiming the same row. Without
  // statistics the planner prefers jobs_state and sorts 100k rows per claim (12 ms instead of
  // 0.1 ms measured), hence INDEXED BY, and the unary + keeps the outer check off any index.
  const claimStatements = new Map<string, Statement<Record<string, unknown>, JobRow>>();
  function claimStatement(kinds: readonly JobKind[] | undefined): Statement<Record<string, unknown>, JobRow> {
    const list = kinds === undefined ? [] : JOB_KINDS.filter((k) => kinds.includes(k));
    const key = list.join(',');
    let stmt = claimStatements.get(key);
    if (!stmt) {
      const kindFilter = list.length ? `AND kind IN (${list.map((k) => `'${k}'`).join(', ')})` : '';
      stmt = db.prepare<Record<string, unknown>, JobRow>(
        `UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = @owner,
           lease_token = lower(hex(randomblob(16))), lease_expires_at = @until, heartbeat_at = @now,
           session = NULL, progress = NULL, started_at = @now, updated_at = @now
         WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_claim WHERE state = 'queued' AND run_at <= @now ${kindFilter}
                      ORDER BY priority, run_at, id LIMIT @limit)
           AND +state = 'queued'
           AND NOT EXISTS (SELECT 1 FROM queue_control WHERE id = 1 AND paused = 1)
         RETURNING *`,
      );
      claimStatements.set(key, stmt);
    }
    return stmt;
  }

  /** History: one row per run of a job, however it ended. */
  function recordAttempt(
    row: JobRow,
    now: number,
    outcome: AttemptOutcome,
    extra: { errorKind?: string; message?: string; session?: string | undefined },
  ): void {
    s.attempt.run({
      jobId: row.id,
      attempt: row.attempt,
      outcome,
      errorKind: extra.errorKind ?? null,
      message: extra.message ?? null,
      session: extra.session ?? row.session,
      owner: row.lease_owner,
      startedAt: row.started_at,
      now,
      durationMs: row.started_at === null ? null : Math.max(0, now - row.started_at),
    });
  }

  /**
   * Ends the run of `row` as `decide` says, in the caller's transaction; returns the state it left
   * the job in. Every end of a run comes here: a worker's outcome and the reaper's alike.
   */
  function settleRow(row: JobRow, now: number, decide: (row: JobRow, now: number) => Settlement): JobState {
    const d = cancelWins(row.cancel_requested === 1, decide(row, now));
    const finished = d.state === 'succeeded' || d.state === 'failed' || d.state === 'cancelled';
    s.settle.run({
      id: row.id,
      state: d.state,
      runAt: d.runAt ?? row.run_at,
      attempt: d.attempt ?? row.attempt,
      errorKind: d.error ? String(d.error.kind) : d.keepError ? row.last_error_kind : null,
      error: d.error ? d.error.message : d.keepError ? row.last_error : null,
      finishedAt: finished ? now : null,
      now,
    });
    if (d.state === 'failed' || d.state === 'cancelled') deps.onGivenUp?.(toJob(row), d.error?.message ?? d.message ?? d.state);
    const errorKind = d.error ? String(d.error.kind) : d.attemptKind;
    recordAttempt(row, now, d.outcome, {
      ...(errorKind !== undefined && { errorKind }),
      ...((d.message ?? d.error?.message) !== undefined && { message: d.message ?? d.error?.message }),
      session: d.session ?? d.error?.session,
    });
    return d.state;
  }

  /** Ends the run of a job if `token` still holds its lease; undefined (and no change) otherwise. */
  const settle = tx((id: number, token: string, decide: (row: JobRow, now: number) => Settlement): JobState | undefined => {
    const row = s.fenced.get(id, token);
    return row ? settleRow(row, clock.now(), decide) : undefined;
  });
  const settled = (id: number, token: string, decide: (row: JobRow, now: number) => Settlement): boolean => settle(id, token, decide) !== undefined;

  function enqueueItems(items: readonly EnqueueItem[], force: boolean): EnqueueResult[] {
    const now = clock.now();
    const results: EnqueueResult[] = [];
    for (const raw of items) {
      const item = normaliseItem(raw);
      const key = dedupeKey(item);
      const priority = item.priority ?? PRIORITY[item.kind];
      const existing = s.byKey.get(key);
      if (!existing) {
        const info = s.insert.run({
          kind: item.kind,
          key,
          payload: JSON.stringify(item.payload),
          priority,
          runAt: item.runAt ?? now,
          maxAttempts: item.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
          now,
        });
        results.push({ key, status: 'added', id: Number(info.lastInsertRowid), state: 'queued' });
        continue;
      }
      const old = JSON.parse(existing.payload) as BookPayload | DiscoverPayload;
      const payload = item.kind === 'book' ? mergedBookPayload(old as BookPayload, item.payload, ACTIVE.has(existing.state)) : item.payload;
      if (ACTIVE.has(existing.state)) {
        // A book named again may bring a new skill, or be wanted sooner than a backfill queued it.
        const newSkills = item.kind === 'book' && (payload as BookPayload).skills.length !== (old as BookPayload).skills.length;
        const sooner = existing.state === 'queued' && priority < existing.priority;
        if (newSkills || sooner) {
          s.merge.run({ id: existing.id, payload: JSON.stringify(item.kind === 'book' ? payload : old), priority: sooner ? priority : existing.priority, now });
          results.push({ key, status: 'merged', id: existing.id, state: existing.state });
        } else {
          results.push({ key, status: 'exists', id: existing.id, state: existing.state });
        }
        continue;
      }
      if (item.kind === 'discover' || force) {
        s.reenqueue.run({
          id: existing.id,
          payload: JSON.stringify(payload),
          priority,
          runAt: item.runAt ?? now,
          maxAttempts: item.maxAttempts ?? existing.max_attempts,
          now,
        });
        results.push({ key, status: 'requeued', id: existing.id, state: 'queued' });
      } else {
        results.push({ key, status: 'exists', id: existing.id, state: existing.state });
      }
    }
    return results;
  }
  const enqueueTx = tx(enqueueItems);
  const enqueueDryRun = tx(enqueueItems, { commit: false });

  const claimTx = tx((opts: ClaimOptions): ClaimedJob[] => {
    const now = clock.now();
    const rows = claimStatement(opts.kinds).all({ owner: opts.owner, until: now + opts.leaseMs, now, limit: opts.limit });
    rows.sort((a, b) => a.priority - b.priority || a.run_at - b.run_at || a.id - b.id);
    return rows.map((r) => ({ ...toJob(r), leaseToken: r.lease_token!, leaseOwner: r.lease_owner!, leaseExpiresAt: r.lease_expires_at! }));
  });

  const cancelTx = tx((id: number): CancelResult | undefined => {
    const row = s.byId.get(id);
    if (!row) return undefined;
    const now = clock.now();
    if (row.state === 'queued') {
      s.cancelQueued.run({ id, now });
      deps.onGivenUp?.(toJob(row), 'cancelled');
      return { id, before: 'queued', after: 'cancelled', cancelRequested: false };
    }
    if (row.state === 'running') {
      s.requestCancel.run({ id, now });
      return { id, before: 'running', after: 'running', cancelRequested: true };
    }
    return { id, before: row.state, after: row.state, cancelRequested: false };
  });

  /** A lease that lapsed, or whose owner is gone (this run's attempt is about to be recorded as one more lease expiry). */
  function lapsed(dead: ReadonlySet<string>): (row: JobRow, now: number) => Settlement {
    return (row, now) => settlements.lapsed(row, now, dead, lastAttempt(row) ? (s.leaseExpiries.get(row.id)?.n ?? 0) + 1 : 0);
  }

  const reapTx = tx((deadOwners: readonly string[]): number => {
    const now = clock.now();
    const decide = lapsed(new Set(deadOwners));
    const rows = s.expired.all({ now, dead: JSON.stringify(deadOwners) });
    for (const row of rows) settleRow(row, now, decide);
    return rows.length;
  });

  return {
    enqueue(items, opts = {}) {
      return (opts.dryRun ? enqueueDryRun : enqueueTx)(items, opts.force ?? false);
    },

    claim(opts) {
      if (opts.limit < 1 || opts.kinds?.length === 0) return [];
      return claimTx(opts);
    },

    heartbeat: tx((id: number, token: string, leaseMs: number, progress?: unknown, session?: string) => {
      const now = clock.now();
      const row = s.heartbeat.get({ id, token, until: now + leaseMs, now, progress: toJson(progress), session: session ?? null });
      return row ? { ok: true, cancelRequested: row.cancel_requested === 1 } : { ok: false, cancelRequested: false };
    }),

    checkpoint: tx(
      (id: number, token: string, checkpoint: unknown) => s.checkpoint.run({ id, token, checkpoint: toJson(checkpoint), now: clock.now() }).changes === 1,
    ),

    complete(id, token, outcome = {}) {
      return settled(id, token, () => settlements.succeeded(outcome));
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

    cancel: (id) => cancelTx(id),

    retryOne: tx((id: number): RetryResult | undefined => {
      const row = s.byId.get(id);
      if (!row) return undefined;
      const changed = s.retryOne.run({ id, now: clock.now() }).changes === 1;
      return { id, before: row.state, after: changed ? 'queued' : row.state };
    }),

    retryAllFailed: tx(() => s.retryAllFailed.run({ now: clock.now() }).changes),

    reap: (deadOwners = []) => reapTx(deadOwners),

    get(id) {
      const row = s.byId.get(id);
      return row && toJob(row);
    },

    leaseOwners: () => s.leaseOwners.all().map((r) => r.owner),

    attempts: (id) => s.attempts.all(id).map(toAttempt),

    nextRunAt() {
      return opt(s.nextRunAt.get()?.t ?? null);
    },
  };
}
