import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Store } from '../db/store.js';
import { JOB_STATES } from '../db/jobs.js';
import { SESSION_STATES } from '../db/sessions.js';
import type { SessionPool } from '../pool/pool.js';
import { VERSION } from '../version.js';

export interface Metrics {
  registry: Registry;
  /** One request's outcome class: ok, auth, rate_limited, transient, permanent, bad_input. */
  request: (outcome: string) => void;
  archived: (bytes: number) => void;
  /** A book job placed its EPUBs in the library; `claimedAt` is when this attempt claimed it. */
  bookDone(claimedAt: number | undefined): void;
}

/**
 * Book durations from claim to placed: live books take 30 s to 30 min at one request per second
 * (README.md, "Measurements"), the simulator's a second or two; the ends catch both and outliers.
 */
export const BOOK_DURATION_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 7200];

/**
 * Prometheus metrics for /metrics. Queue and session gauges are read at scrape time from the
 * store and the pool, so they are never stale and cost nothing between scrapes.
 *
 * Several daemons may share one database (docs/ARCHITECTURE.md, "Threads and processes"), so two
 * kinds of figure are kept apart: `bookd_jobs` and `bookd_queue_lag_seconds` are the database's
 * view, the same from every daemon on it (aggregate them with max, never sum); everything else,
 * `bookd_daemon_jobs_running` included, is this daemon's own and sums across daemons.
 */
export function createMetrics(deps: { store: Store; pool: SessionPool; clock: Clock; owner: string }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({ name: 'bookd_build_info', help: 'Always 1; the version label says which bookd runs', labelNames: ['version'], registers: [registry] }).set(
    { version: VERSION },
    1,
  );
  const requests = new Counter({
    name: 'bookd_requests_total',
    help: 'Requests to the service by outcome class',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const books = new Counter({ name: 'bookd_books_archived_total', help: 'EPUB files written to the library', registers: [registry] });
  const bytes = new Counter({ name: 'bookd_archived_bytes_total', help: 'Bytes of EPUB written to the library', registers: [registry] });
  const durations = new Histogram({
    name: 'bookd_book_duration_seconds',
    help: 'Time from claiming a book job to its EPUBs placed in the library, for books this daemon archived',
    buckets: BOOK_DURATION_BUCKETS,
    registers: [registry],
  });
  const lastSuccess = new Gauge({
    name: 'bookd_last_success_timestamp_seconds',
    help: 'When this daemon last placed a book in the library (Unix time; 0 until its first)',
    registers: [registry],
  });
  new Gauge({
    name: 'bookd_daemon_jobs_running',
    help: 'Jobs this daemon holds the lease of (sums across daemons sharing a database)',
    registers: [registry],
    async collect() {
      this.set((await deps.store.views.running()).filter((j) => j.leaseOwner === deps.owner).length);
    },
  });
  new Gauge({
    name: 'bookd_jobs',
    help: "Jobs by state, the shared database's view: every daemon on it reports the same counts (aggregate with max, not sum)",
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await deps.store.views.counts();
      for (const state of JOB_STATES) this.set({ state }, counts[state]);
    },
  });
  new Gauge({
    name: 'bookd_sessions',
    help: 'Sessions by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const views = deps.pool.describe();
      for (const state of SESSION_STATES) this.set({ state }, views.filter((v) => v.state === state).length);
    },
  });
  new Gauge({
    name: 'bookd_queue_lag_seconds',
    help: "How long the oldest runnable queued job has waited, the shared database's view (aggregate with max, not sum)",
    registers: [registry],
    async collect() {
      const oldest = await deps.store.views.oldestQueued();
      const now = deps.clock.now();
      this.set(oldest && oldest.runAt <= now ? (now - oldest.runAt) / 1000 : 0);
    },
  });
  new Gauge({
    name: 'bookd_machine_budget_requests_per_second',
    help: "This daemon's share of the machine's request budget toward the service",
    registers: [registry],
    collect() {
      const b = deps.pool.budget.state();
      this.set(b.rate / b.share);
    },
  });
  new Gauge({
    name: 'bookd_edge_pause_seconds',
    help: 'How long every session still waits because the edge refused this machine (0 when it does not)',
    registers: [registry],
    collect() {
      const until = deps.pool.edge.blockedUntil();
      this.set(until === undefined ? 0 : Math.max(0, (until - deps.clock.now()) / 1000));
    },
  });
  return {
    registry,
    request: (outcome) => requests.inc({ outcome }),
    archived: (n) => {
      books.inc();
      bytes.inc(n);
    },
    bookDone: (claimedAt) => {
      const now = deps.clock.now();
      if (claimedAt !== undefined) durations.observe(Math.max(0, now - claimedAt) / 1000);
      lastSuccess.set(now / 1000);
    },
  };
}
