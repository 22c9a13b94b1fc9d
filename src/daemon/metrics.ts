import { Counter, Gauge, Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Store } from '../db/store.js';
import { JOB_STATES } from '../db/jobs.js';
import { SESSION_STATES } from '../db/sessions.js';
import type { SessionPool } from '../pool/pool.js';

export interface Metrics {
  registry: Registry;
  /** One request's outcome class: ok, auth, rate_limited, transient, permanent, bad_input. */
  request(outcome: string): void;
  archived(bytes: number): void;
}


/**
 * Prometheus metrics for /metrics. Queue and session gauges are read at scrape time from the
 * store and the pool, so they are never stale and cost nothing between scrapes.
 */
export function createMetrics(deps: { store: Store; pool: SessionPool; clock: Clock }): Metrics {
  const registry = new Registry();
  const requests = new Counter({ name: 'bookd_requests_total', help: 'Requests to the service by outcome class', labelNames: ['outcome'], registers: [registry] });
  const books = new Counter({ name: 'bookd_books_archived_total', help: 'EPUB files written to the library', registers: [registry] });
  const bytes = new Counter({ name: 'bookd_bytes_archived_total', help: 'Bytes of EPUB written to the library', registers: [registry] });
  new Gauge({
    name: 'bookd_jobs',
    help: 'Jobs by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = deps.store.views.counts();
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
    help: 'How long the oldest runnable queued job has waited',
    registers: [registry],
    collect() {
      const oldest = deps.store.views.oldestQueued();
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
  };
}
