/**
 * A stand-in worker process for the multi-process queue tests and bench/queue.ts:
 *   node --import tsx test/helpers/claimer.ts '<json options>'
 * It opens the store, prints {"ready":true}, waits for a line on stdin when `wait` is set, does
 * its `mode`, and prints one JSON line with what it did. Errors that reach it are counted by
 * SQLite code so a test can assert that none surfaced.
 */
import { createInterface } from 'node:readline';
import { systemClock, type Clock } from '../../src/clock.js';
import { openSqliteStore, type SqliteStore } from '../../src/db/store.js';
import type { EnqueueItem, EnqueueStatus } from '../../src/db/jobs.js';

export interface ClaimerOptions {
  mode: 'drain' | 'hold' | 'crash' | 'enqueue' | 'open';
  db: string;
  owner?: string;
  /** Added to the wall clock, so a test can make leases look expired without waiting. */
  offsetMs?: number;
  leaseMs?: number;
  limit?: number;
  /** drain: stop at the first empty claim instead of waiting for running jobs to finish. */
  once?: boolean;
  /** drain: a deadline in ms after which the claimer gives up (bounds every loop). */
  deadlineMs?: number;
  /** drain: time spent "working" on each job between claim and complete, as a real worker would. */
  workMs?: number;
  /** Wait for a line on stdin before starting, so several processes start together. */
  wait?: boolean;
  /** enqueue: the book ids, enqueued in batches of `batch`. */
  ids?: string[];
  /** enqueue: or `count` consecutive ids from 9780000000000 + `from`. */
  range?: { from: number; count: number };
  batch?: number;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as ClaimerOptions;
const offset = opts.offsetMs ?? 0;
const clock: Clock = { now: () => Date.now() + offset, sleep: (ms, signal) => systemClock.sleep(ms, signal) };
const owner = opts.owner ?? `claimer-${process.pid}`;
const leaseMs = opts.leaseMs ?? 60_000;
const errors: Record<string, number> = {};

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Runs one store call; an error is counted by its code (SQLITE_BUSY would show up here) and rethrown. */
function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as { code?: unknown; name?: string };
    const code = typeof e.code === 'string' ? e.code : (e.name ?? 'Error');
    errors[code] = (errors[code] ?? 0) + 1;
    throw err;
  }
}

async function waitForGo(): Promise<void> {
  const rl = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => rl.once('line', () => resolve()));
  rl.close();
}

async function drain(store: SqliteStore): Promise<void> {
  const done: number[] = [];
  const checkpoints: Record<number, unknown> = {};
  const end = Date.now() + (opts.deadlineMs ?? 60_000);
  let reaped = call(() => store.jobs.reap());
  let idle = 0;
  while (Date.now() < end) {
    const jobs = call(() => store.jobs.claim({ owner, limit: opts.limit ?? 1, leaseMs }));
    if (jobs.length === 0) {
      if (opts.once) break;
      const counts = call(() => store.views.counts());
      if (counts.queued === 0 && counts.running === 0) break;
      if (++idle % 50 === 0) reaped += call(() => store.jobs.reap());
      continue;
    }
    for (const job of jobs) {
      if (job.checkpoint !== undefined) checkpoints[job.id] = job.checkpoint;
      if (!call(() => store.jobs.heartbeat(job.id, job.leaseToken, leaseMs, { done: 1, total: 1 }, 'bench')).ok)
        throw new Error(`lost the lease on #${job.id}`);
      if (opts.workMs) await clock.sleep(opts.workMs);
      if (!call(() => store.jobs.complete(job.id, job.leaseToken, { session: 'bench' }))) throw new Error(`complete refused for #${job.id}`);
      done.push(job.id);
    }
  }
  print({ owner, done, reaped, checkpoints, errors });
}

function hold(store: SqliteStore): void {
  const [job] = call(() => store.jobs.claim({ owner, limit: 1, leaseMs }));
  if (!job) {
    print({ owner, claimed: null });
    return;
  }
  print({ owner, claimed: { id: job.id, token: job.leaseToken, attempt: job.attempt } });
  // Write as fast as possible so the SIGKILL lands in the middle of commits.
  for (let n = 1; ; n++) {
    call(() => store.jobs.heartbeat(job.id, job.leaseToken, leaseMs, { done: n, total: 1_000_000 }));
    call(() => store.jobs.checkpoint(job.id, job.leaseToken, { beats: n, owner }));
  }
}

function crash(store: SqliteStore): void {
  const reaped = call(() => store.jobs.reap());
  const [job] = call(() => store.jobs.claim({ owner, limit: 1, leaseMs }));
  print({ owner, reaped, claimed: job ? { id: job.id, attempt: job.attempt } : null });
  // Die the way a segfaulting parser or an OOM kill would: no cleanup, no lease released.
  if (job) process.kill(process.pid, 'SIGKILL');
}

function enqueue(store: SqliteStore): void {
  const ids = opts.ids ?? Array.from({ length: opts.range?.count ?? 0 }, (_, i) => String(9780000000000 + (opts.range?.from ?? 0) + i));
  const batch = opts.batch ?? 10;
  const tally: Record<EnqueueStatus, number> = { added: 0, exists: 0, merged: 0, requeued: 0 };
  for (let i = 0; i < ids.length; i += batch) {
    const items: EnqueueItem[] = ids.slice(i, i + batch).map((bookId) => ({ kind: 'book', payload: { bookId, format: 'epub', skills: [owner] } }));
    for (const r of call(() => store.jobs.enqueue(items))) tally[r.status]++;
  }
  print({ owner, tally, errors });
}

const store = call(() => openSqliteStore(opts.db, clock));
print({ ready: true });
if (opts.wait) await waitForGo();
try {
  if (opts.mode === 'drain') await drain(store);
  else if (opts.mode === 'hold') hold(store);
  else if (opts.mode === 'crash') crash(store);
  else if (opts.mode === 'enqueue') enqueue(store);
  else print({ owner, version: store.db.pragma('user_version', { simple: true }), errors });
} catch (err) {
  print({ owner, failed: String((err as Error).message), errors });
  process.exitCode = 1;
} finally {
  store.close();
}
