import type { AttemptOutcome, CompleteOutcome, FailureInfo, JobState, RequeueReason } from './jobs.js';

/**
 * How one run of a job ends: the job's next state and what its attempt history records. Every
 * backend's store turns a worker's outcome, or the reaper's verdict, into one of these through
 * the rules below, then writes it in one fenced transaction; the rules live here once, so SQLite
 * and PostgreSQL cannot drift apart (src/db/jobs-backends.test.ts runs both).
 */
export interface Settlement {
  state: JobState;
  runAt?: number;
  attempt?: number;
  error?: FailureInfo | undefined;
  keepError?: boolean;
  outcome: AttemptOutcome;
  message?: string;
  session?: string | undefined;
  /** The error kind behind an outcome that keeps the job's last error (snooze, release). */
  attemptKind?: string | undefined;
}

/** Whether a lapsed run fails the job (its attempts are used up), so a store knows to count its stops. */
export const lastAttempt = (row: SettledRow): boolean => row.attempt >= row.max_attempts;

/** What the rules read of the row being settled. */
export interface SettledRow {
  attempt: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
}

export const settlements = {
  succeeded: (outcome: CompleteOutcome): Settlement => ({
    state: 'succeeded',
    outcome: 'succeeded',
    ...(outcome.message !== undefined && { message: outcome.message }),
    session: outcome.session,
  }),

  /** Queued again after `backoffMs`, or failed once the attempts are used up. */
  retried: (row: SettledRow, now: number, err: FailureInfo, backoffMs: number): Settlement =>
    row.attempt >= row.max_attempts
      ? { state: 'failed', outcome: 'failed', error: err }
      : { state: 'queued', outcome: 'retry', error: err, runAt: now + backoffMs },

  /** Queued again at `untilMs` without spending the attempt. */
  snoozed: (row: SettledRow, now: number, untilMs: number, reason: string, session?: string, kind?: string): Settlement => ({
    state: 'queued',
    outcome: 'snoozed',
    runAt: Math.max(now, untilMs),
    attempt: Math.max(0, row.attempt - 1),
    keepError: true,
    message: reason,
    session,
    attemptKind: kind,
  }),

  /** Queued again now without spending the attempt. */
  released: (row: SettledRow, now: number, why: RequeueReason): Settlement => ({
    state: 'queued',
    outcome: 'released',
    runAt: now,
    attempt: Math.max(0, row.attempt - 1),
    keepError: true,
    message: why.message,
    session: why.session,
    attemptKind: why.kind,
  }),

  failed: (err: FailureInfo): Settlement => ({ state: 'failed', outcome: 'failed', error: err }),

  cancelled: (): Settlement => ({ state: 'cancelled', outcome: 'cancelled', keepError: true, message: 'cancelled on request' }),

  /**
   * A lease that lapsed, or whose owner is gone: back to the queue, or failed once its attempts are
   * used up. `stops` (read only then) is how many of the job's runs ended so, this one included.
   */
  lapsed: (row: SettledRow, now: number, dead: ReadonlySet<string>, stops: number): Settlement => {
    const message =
      row.lease_owner !== null && dead.has(row.lease_owner) && (row.lease_expires_at ?? 0) >= now
        ? `worker ${row.lease_owner} is gone (its process no longer runs)`
        : `lease expired: worker ${row.lease_owner ?? '?'} stopped heartbeating`;
    if (row.attempt < row.max_attempts) return { state: 'queued', outcome: 'lease_expired', runAt: now, keepError: true, message };
    const error: FailureInfo = {
      kind: 'permanent',
      message:
        stops >= row.attempt ? `the worker stopped during each of ${row.attempt} attempts` : `the worker stopped during the last of ${row.attempt} attempts`,
    };
    return { state: 'failed', outcome: 'lease_expired', error, message };
  },
};

/**
 * A cancel asked for while the job ran wins over every end but success (the operator was told the
 * job shows as cancelled once it stops); the worker may not have seen it yet (it learns at its
 * next heartbeat), or may be gone (the reaper).
 */
export function cancelWins(cancelRequested: boolean, d: Settlement): Settlement {
  if (!cancelRequested || (d.state !== 'queued' && d.state !== 'failed')) return d;
  return {
    state: 'cancelled',
    outcome: 'cancelled',
    keepError: true,
    message: `cancelled on request (the run ended: ${d.message ?? d.error?.message ?? d.outcome})`,
    session: d.session ?? d.error?.session,
  };
}
