import { BookdError, errorMessage } from '../errors.js';
import { NoSessionError } from '../pool/pool.js';

/** What the queue should do with a job whose run ended with `err` (DESIGN.md "The job store"). */
export type Outcome =
  | { type: 'retry'; kind: string; message: string }
  | { type: 'fail'; kind: string; message: string }
  | { type: 'snooze'; until: number; reason: string }
  | { type: 'release'; reason: string };

/**
 * After this many session-class failures of one job, the job itself is suspected: a book whose
 * every chapter looks like a preview on every session must not park the whole pool.
 */
export const MAX_SESSION_RELEASES = 4;

export function decideOutcome(err: unknown, now: number, sessionReleases: number, edgeUntil?: number): Outcome {
  if (err instanceof NoSessionError) return { type: 'snooze', until: Math.max(now + 1000, err.retryAt ?? now + 60_000), reason: err.message };
  if (!(err instanceof BookdError)) return { type: 'retry', kind: 'transient', message: `unexpected error: ${errorMessage(err)}` };
  switch (err.kind) {
    case 'auth':
      if (sessionReleases >= MAX_SESSION_RELEASES) {
        return { type: 'retry', kind: 'auth', message: `${sessionReleases} sessions in a row failed on this book; last: ${err.message}` };
      }
      return { type: 'release', reason: `session problem: ${err.message}` };
    case 'rate_limited':
      return err.edge
        ? { type: 'snooze', until: Math.max(now + 1000, edgeUntil ?? err.retryAt ?? now), reason: err.message }
        : { type: 'release', reason: err.message };
    case 'transient':
      return { type: 'retry', kind: err.kind, message: err.message };
    case 'permanent':
    case 'bad_input':
      return { type: 'fail', kind: err.kind, message: err.message };
  }
}
