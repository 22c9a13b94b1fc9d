import type { Job } from '../db/jobs.js';
import type { Store } from '../db/store.js';
import { expiringSoon } from '../pool/expiry.js';
import { iso, jobSubject } from './format.js';
import { watchJson } from './watches.js';

/**
 * The read models the CLI, the web page and its API share: what `status` shows, as plain data.
 * The CLI prints them; src/web renders and serves them.
 */

function runningJson(j: Job) {
  return {
    id: j.id,
    kind: j.kind,
    subject: jobSubject(j),
    session: j.session ?? null,
    progress: j.progress ?? null,
    attempt: j.attempt,
    max_attempts: j.maxAttempts,
    owner: j.leaseOwner ?? null,
    started_at: j.startedAt ?? null,
    lease_expires_at: j.leaseExpiresAt ?? null,
    cancel_requested: j.cancelRequested,
  };
}

/** Everything `status` shows (times in epoch milliseconds; `statusJson` makes them ISO 8601). */
/** `staleMs`: a daemon that has not announced itself for this long is shown as stale (`tuning.status.daemonStaleMs`). */
export async function statusSnapshot(store: Store, now: number, staleMs: number, expiryWarningMs: number) {
  const pause = await store.control.state();
  const sessions = await store.sessions.list();
  const oldest = await store.views.oldestQueued();
  const counts = await store.views.counts();
  return {
    jobs: counts,
    paused: pause.paused,
    pause: pause.paused ? { reason: pause.reason ?? null, since: pause.since ?? null } : null,
    oldest_queued: oldest ? { id: oldest.id, subject: jobSubject(oldest), created_at: oldest.createdAt, run_at: oldest.runAt } : null,
    next_run_at: (await store.jobs.nextRunAt()) ?? null,
    running: (await store.views.running()).map(runningJson),
    failed: { count: counts.failed, top: await store.views.topFailures(5) },
    skills: await store.views.countsBySkill(),
    /** Sessions that stop working within the warning threshold unless renewed (src/pool/expiry.ts). */
    expiring: expiringSoon(sessions, now, expiryWarningMs).map((e) => ({ name: e.name, until: e.until, limit: e.limit, message: e.message })),
    sessions: sessions.map((s) => ({
      name: s.name,
      state: s.state,
      cooldown_until: s.cooldownUntil ?? null,
      token_expires_at: s.tokenExpiresAt ?? null,
      refresh_expires_at: s.refreshExpiresAt ?? null,
      renewed_at: s.renewedAt ?? null,
      requests: s.requests,
      errors: s.errors,
      books_done: s.booksDone,
      error_score: s.errorScore,
      last_used_at: s.lastUsedAt ?? null,
      last_error: s.lastError ?? null,
      /** The daemon holding it (on several hosts: which host works with it), while its hold lasts. */
      held_by: s.holder !== undefined && (s.heldUntil ?? 0) > now ? s.holder : null,
    })),
    budget: (await store.budget.list()).map((b) => ({
      scope: b.scope,
      rate: b.rate,
      reason: b.reason,
      changed_at: b.changedAt,
      edge_until: b.edgeUntil !== undefined && b.edgeUntil > now ? b.edgeUntil : null,
    })),
    /** Watched skills and playlists, with when each runs next (`bookd watch list`). */
    watches: await store.watches.list(),
    daemons: (await store.control.daemons()).map((d) => ({
      owner: d.owner,
      pid: d.pid,
      host: d.host,
      started_at: d.startedAt,
      seen_at: d.seenAt,
      note: d.note ?? null,
      stale: now - d.seenAt > staleMs,
    })),
  };
}

export type Snapshot = Awaited<ReturnType<typeof statusSnapshot>>;

/** The snapshot as `status --json` prints it: every time an ISO 8601 string (or null). */
export function statusJson(s: Snapshot) {
  return {
    ...s,
    pause: s.pause && { ...s.pause, since: iso(s.pause.since) },
    oldest_queued: s.oldest_queued && { ...s.oldest_queued, created_at: iso(s.oldest_queued.created_at), run_at: iso(s.oldest_queued.run_at) },
    next_run_at: iso(s.next_run_at),
    running: s.running.map((r) => ({ ...r, started_at: iso(r.started_at), lease_expires_at: iso(r.lease_expires_at) })),
    sessions: s.sessions.map((x) => ({
      ...x,
      cooldown_until: iso(x.cooldown_until),
      token_expires_at: iso(x.token_expires_at),
      refresh_expires_at: iso(x.refresh_expires_at),
      renewed_at: iso(x.renewed_at),
      last_used_at: iso(x.last_used_at),
    })),
    expiring: s.expiring.map((e) => ({ ...e, until: iso(e.until) })),
    budget: s.budget.map((b) => ({ ...b, changed_at: iso(b.changed_at), edge_until: iso(b.edge_until) })),
    watches: s.watches.map(watchJson),
    daemons: s.daemons.map((d) => ({ ...d, started_at: iso(d.started_at), seen_at: iso(d.seen_at) })),
  };
}
