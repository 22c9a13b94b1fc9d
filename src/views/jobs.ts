import type { Job, JobAttempt } from '../db/jobs.js';
import { iso } from './format.js';

/** A job as `jobs list --json` and `/api/jobs` give it (times in ISO 8601). */
export function jobJson(j: Job) {
  return {
    id: j.id,
    kind: j.kind,
    key: j.key,
    state: j.state,
    payload: j.payload,
    priority: j.priority,
    attempt: j.attempt,
    max_attempts: j.maxAttempts,
    run_at: iso(j.runAt),
    lease_owner: j.leaseOwner ?? null,
    lease_expires_at: iso(j.leaseExpiresAt),
    heartbeat_at: iso(j.heartbeatAt),
    session: j.session ?? null,
    cancel_requested: j.cancelRequested,
    progress: j.progress ?? null,
    checkpoint: j.checkpoint ?? null,
    last_error: j.lastError ?? null,
    created_at: iso(j.createdAt),
    updated_at: iso(j.updatedAt),
    started_at: iso(j.startedAt),
    finished_at: iso(j.finishedAt),
  };
}

export function attemptJson(a: JobAttempt) {
  return {
    attempt: a.attempt,
    outcome: a.outcome,
    error_kind: a.errorKind ?? null,
    message: a.message ?? null,
    session: a.session ?? null,
    owner: a.owner ?? null,
    started_at: iso(a.startedAt),
    finished_at: iso(a.finishedAt),
    duration_ms: a.durationMs ?? null,
  };
}
