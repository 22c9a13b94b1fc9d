import type { JobAttempt } from '../db/jobs.js';
import { BookdError, errorMessage, type ErrorKind } from '../errors.js';
import { NoSessionError } from '../pool/pool.js';

/**
 * What the queue should do with a job whose run ended with `err` (docs/ARCHITECTURE.md, "State machines").
 * `kind` is the error kind that decided it; the attempt history keeps it, and the next decision
 * about the same job counts by it (never by message text).
 */
export type Outcome =
  | { type: 'retry'; kind: ErrorKind; message: string }
  | { type: 'fail'; kind: ErrorKind; message: string }
  | { type: 'snooze'; until: number; reason: string; kind: ErrorKind }
  | { type: 'requeue'; reason: string; kind: ErrorKind };

/**
 * After this many session-class failures of one job in a row, the job itself is suspected: a book
 * whose every chapter looks like a preview on every session must not park the whole pool. The
 * same bound holds for throttled runs (the book is retried with an attempt spent) and for 404s
 * no second session could confirm.
 */
export const MAX_SESSION_RELEASES = 4;

/** How a job's latest runs ended without spending an attempt, counted from the newest back. */
export interface RecentRuns {
  /** Released because the session was not accepted. */
  auth: number;
  /** Snoozed because the service throttled this machine. */
  throttled: number;
  /** Released after a 404 that no other session confirmed yet. */
  notFound: number;
}

export function recentRuns(attempts: readonly JobAttempt[]): RecentRuns {
  const runs: RecentRuns = { auth: 0, throttled: 0, notFound: 0 };
  for (const a of [...attempts].reverse()) {
    if (a.outcome !== 'released' && a.outcome !== 'snoozed') break;
    if (a.errorKind === 'auth') runs.auth++;
    else if (a.errorKind === 'throttled') runs.throttled++;
    else if (a.errorKind === 'not_found') runs.notFound++;
  }
  return runs;
}

export interface OutcomeContext {
  now: number;
  recent: RecentRuns;
  /** When the edge lets this machine through again, if it is refusing it now. */
  edgeUntil?: number | undefined;
  /** The first snooze of a throttled book; doubling with each throttled run in a row. */
  throttleSnoozeMs: number;
  /** Snoozes of a throttled book never wait longer than this. */
  maxThrottleSnoozeMs: number;
  /** When a job that found no session is tried again, if the pool could not say when one is usable. */
  noSessionSnoozeMs: number;
}

export function decideOutcome(err: unknown, c: OutcomeContext): Outcome {
  const { now, recent } = c;
  if (err instanceof NoSessionError)
    return { type: 'snooze', until: Math.max(now + 1000, err.retryAt ?? now + c.noSessionSnoozeMs), reason: err.message, kind: 'rate_limited' };
  if (!(err instanceof BookdError)) return { type: 'retry', kind: 'transient', message: `unexpected error: ${errorMessage(err)}` };
  switch (err.kind) {
    case 'auth':
      if (recent.auth >= MAX_SESSION_RELEASES) {
        return { type: 'retry', kind: 'auth', message: `${recent.auth} sessions in a row failed on this book; last: ${err.message}` };
      }
      return { type: 'requeue', reason: `session problem: ${err.message}`, kind: 'auth' };
    case 'throttled': {
      if (recent.throttled >= MAX_SESSION_RELEASES) {
        return {
          type: 'retry',
          kind: 'throttled',
          message: `the service held back this book's files ${recent.throttled + 1} times in a row; last: ${err.message}`,
        };
      }
      const wait = Math.min(c.maxThrottleSnoozeMs, c.throttleSnoozeMs * 2 ** recent.throttled);
      return { type: 'snooze', until: now + wait, reason: err.message, kind: 'throttled' };
    }
    case 'not_found':
      if (recent.notFound >= MAX_SESSION_RELEASES) {
        return {
          type: 'fail',
          kind: 'not_found',
          message: `${recent.notFound + 1} tries were answered 404 and no session could read the book; last: ${err.message}`,
        };
      }
      return { type: 'requeue', reason: err.message, kind: 'not_found' };
    case 'rate_limited':
      return err.edge
        ? { type: 'snooze', until: Math.max(now + 1000, c.edgeUntil ?? err.retryAt ?? now), reason: err.message, kind: 'rate_limited' }
        : { type: 'requeue', reason: err.message, kind: 'rate_limited' };
    case 'transient':
      return { type: 'retry', kind: err.kind, message: err.message };
    case 'permanent':
    case 'bad_input':
      return { type: 'fail', kind: err.kind, message: err.message };
  }
}
