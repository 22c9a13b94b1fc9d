import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { systemClock, type Clock } from '../clock.js';
import type { ClaimedJob } from '../db/jobs.js';
import type { Store } from '../db/store.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { SessionPool } from '../pool/pool.js';
import type { Session } from '../pool/session.js';
import type { Notifier } from './notify.js';
import { decideOutcome, recentRuns } from './outcome.js';
import { newOwner } from './owners.js';

export interface JobContext {
  session: Session;
  signal: AbortSignal;
  /** Latest progress, written with the next heartbeat. */
  progress(p: unknown): void;
  /** Saves resume information now (fenced by the lease). */
  checkpoint(c: unknown): void;
  logger: Logger;
}

export interface JobResult {
  message: string;
  bytes?: number;
  bookDone?: boolean;
  /** Writes that must commit together with the job's completion (the catalogue row). */
  commit?: () => void;
  /** Clean-up once the completion is committed (the book's staging folder). */
  after?: () => Promise<void>;
  /** Sessions that were answered 404 for what this job has just read: their cookie sets are probably partial. */
  partialSessions?: string[];
}

export type JobHandler = (job: ClaimedJob, ctx: JobContext) => Promise<JobResult>;

export interface DaemonOptions {
  store: Store;
  pool: SessionPool;
  handlers: { book: JobHandler; discover: JobHandler };
  logger: Logger;
  clock?: Clock;
  notifier?: Notifier;
  /** Fixed worker count; default one per usable session. */
  workers?: number;
  /** Stop once nothing is queued or running. */
  untilEmpty?: boolean;
  leaseMs?: number;
  heartbeatMs?: number;
  reapMs?: number;
  /** How often an idle worker looks for new jobs. */
  pollMs?: number;
  /** How long running jobs may finish after a stop request. */
  graceMs: number;
  owner?: string;
  /** Called once everything is started (the moment READY=1 goes out). */
  onReady?: () => void;
  /** Lease owners known to be gone (dead processes on this host): their jobs are reaped at once. */
  goneOwners?: () => string[];
  /** Which machine's budget row this daemon shares (default: the host name). */
  budgetScope?: string;
  /** The first snooze of a book the service throttled (doubling while it goes on). */
  throttleSnoozeMs?: number;
}

/** Failures of the disk under the library: no book is at fault, and retrying at once cannot help. */
const STORAGE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS']);

function storageError(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code && STORAGE_CODES.has(code) ? `${code}: ${(err as Error).message}` : undefined;
}

/** How long claiming pauses after the library's disk refused a write. */
const STORAGE_HOLD_MS = 60_000;

class Stop extends Error {
  constructor(readonly why: 'shutdown' | 'cancel' | 'lease lost') {
    super(why);
  }
}

export interface RunSummary {
  succeeded: number;
  failed: number;
  /** Set when the daemon stopped because it could not go on (e.g. no usable session left). */
  fatal: string | undefined;
}

/**
 * W workers, each looping: claim a job → borrow a session → run the handler → return the session
 * → record the outcome. A supervisor tick reaps expired leases, announces the daemon in the DB,
 * reloads sessions and feeds systemd (STATUS, WATCHDOG). Stopping is two-stage: stop claiming
 * and let running jobs finish within the grace period, then abort and release what is left.
 */
export class Daemon {
  readonly owner: string;
  private readonly o: Required<Pick<DaemonOptions, 'leaseMs' | 'heartbeatMs' | 'reapMs' | 'pollMs'>> & DaemonOptions;
  private readonly clock: Clock;
  private readonly stopClaiming = new AbortController();
  private readonly abortRunning = new AbortController();
  private note: string | undefined;
  private storageHold: { until: number; why: string } | undefined;
  private readonly summary: RunSummary = { succeeded: 0, failed: 0, fatal: undefined };
  private workers: Promise<void>[] = [];
  private running = 0;

  constructor(opts: DaemonOptions) {
    // `??` per field: an option passed through as undefined must not wipe out its default.
    this.o = {
      ...opts,
      leaseMs: opts.leaseMs ?? 120_000,
      heartbeatMs: opts.heartbeatMs ?? 5_000,
      reapMs: opts.reapMs ?? 30_000,
      pollMs: opts.pollMs ?? 1_000,
    };
    this.clock = opts.clock ?? systemClock;
    this.owner = opts.owner ?? newOwner();
  }

  get stopping(): boolean {
    return this.stopClaiming.signal.aborted;
  }

  /** Runs until stopped (or, with untilEmpty, until the queue is empty). */
  async run(): Promise<RunSummary> {
    const { store, logger } = this.o;
    const reaped = store.jobs.reap(this.o.goneOwners?.() ?? []);
    if (reaped > 0) logger.info({ reaped }, 'returned jobs of stopped workers to the queue');
    store.control.daemonBeat(this.owner, 'starting');
    const row = store.budget.get(this.budgetScope);
    if (row) this.o.pool.budget.resume(row.rate, row.reason, row.changedAt);
    this.syncBudget();

    const count = this.o.workers ?? Math.max(1, this.o.pool.usableCount());
    const tick = this.startSupervisor();
    for (let i = 0; i < count; i++) this.addWorker();
    logger.info({ workers: count, sessions: this.o.pool.usableCount(), owner: this.owner }, 'daemon ready');
    this.o.notifier?.send({ READY: 1, STATUS: `ready: ${count} workers` });
    this.o.onReady?.();

    // Workers may be added while running (more sessions usable): wait for those too.
    for (let settled = 0; settled < this.workers.length; settled = this.workers.length) await Promise.all(this.workers);
    clearInterval(tick);
    store.control.daemonGone(this.owner);
    return this.summary;
  }

  /** Graceful stop: no new claims; running jobs get `graceMs`, then are aborted and released. */
  stop(reason: string): void {
    if (this.stopping) return;
    this.o.logger.info({ reason, running: this.running, graceMs: this.o.graceMs }, 'stopping: finishing running jobs');
    this.o.notifier?.send({ STOPPING: 1, STATUS: `stopping: ${reason}` });
    this.stopClaiming.abort(new Stop('shutdown'));
    const deadline = this.clock.now() + this.o.graceMs;
    const extend = setInterval(() => {
      const left = Math.max(0, deadline - this.clock.now());
      this.o.notifier?.send({ EXTEND_TIMEOUT_USEC: (left + 15_000) * 1000 });
    }, 5_000);
    extend.unref();
    const timer = setTimeout(() => this.abortNow(), this.o.graceMs);
    timer.unref();
    void Promise.all(this.workers).then(() => {
      clearTimeout(timer);
      clearInterval(extend);
    });
  }

  /** Aborts running jobs now; they checkpoint and return to the queue. */
  abortNow(): void {
    this.stopClaiming.abort(new Stop('shutdown'));
    this.abortRunning.abort(new Stop('shutdown'));
  }

  private get budgetScope(): string {
    return this.o.budgetScope ?? hostname();
  }

  /**
   * The machine's budget is one for every daemon on it (docs/SERVICE.md §4): the latest decision of
   * any of them wins, each paces at its share, and an edge pause one of them met holds for all.
   */
  private syncBudget(): void {
    const { store, pool } = this.o;
    const scope = this.budgetScope;
    const local = pool.budget.state();
    const row = store.budget.ensure(scope, local.rate, local.reason, local.changedAt);
    if (row.changedAt > local.changedAt) pool.budget.adopt(row.rate, row.reason, row.changedAt);
    else if (local.changedAt > row.changedAt) store.budget.saveRate(scope, local.rate, local.reason, local.changedAt);
    const now = this.clock.now();
    const edgeUntil = pool.edge.blockedUntil() ?? 0;
    if (edgeUntil > (row.edgeUntil ?? 0)) store.budget.saveEdge(scope, edgeUntil, pool.edge.strikeCount);
    else if ((row.edgeUntil ?? 0) > now) pool.edge.adopt(row.edgeUntil!, row.edgeStrikes);
    const gone = new Set(this.o.goneOwners?.() ?? []);
    const here = hostname();
    const live = store.control.daemons().filter((d) => d.host === here && !gone.has(d.owner) && now - d.seenAt < 60_000).length;
    pool.budget.setShare(Math.max(1, live));
  }

  private startSupervisor(): NodeJS.Timeout {
    const { store, pool, logger, notifier } = this.o;
    let lastReap = this.clock.now();
    let lastBeat = 0;
    let lastReload = this.clock.now();
    let lastStatus = 0;
    let lastPing = 0;
    let lastUpkeep = this.clock.now();
    let lastBudget = this.clock.now();
    let upkeeping = false;
    const timer = setInterval(() => {
      const now = this.clock.now();
      try {
        if (now - lastReap >= this.o.reapMs) {
          lastReap = now;
          const gone = this.o.goneOwners?.() ?? [];
          const n = store.jobs.reap(gone);
          if (n > 0) logger.warn({ reaped: n }, 'returned jobs of stopped workers to the queue');
          for (const d of store.control.daemons()) if (gone.includes(d.owner)) store.control.daemonGone(d.owner);
        }
        if (now - lastUpkeep >= 60_000 && !upkeeping) {
          lastUpkeep = now;
          upkeeping = true;
          void pool
            .upkeep()
            .catch((err: unknown) => logger.error({ err: errorMessage(err) }, 'session upkeep failed'))
            .finally(() => (upkeeping = false));
        }
        if (now - lastReload >= 10_000) {
          lastReload = now;
          pool.reload();
          this.growWorkers();
        }
        if (now - lastBudget >= 2_000) {
          lastBudget = now;
          this.syncBudget();
        }
        if (now - lastBeat >= 5_000) {
          lastBeat = now;
          store.control.daemonBeat(this.owner, this.note);
        }
        if (notifier?.enabled && now - lastStatus >= 5_000) {
          lastStatus = now;
          const c = store.views.counts();
          notifier.send({
            STATUS: `${c.running} running, ${c.queued} queued, ${c.succeeded} done, ${c.failed} failed; ${pool.usableCount()} usable sessions${this.note ? `; ${this.note}` : ''}`,
          });
        }
        const usec = notifier?.watchdogUsec;
        if (usec && now - lastPing >= usec / 2000) {
          lastPing = now;
          notifier!.send({ WATCHDOG: 1 });
        }
      } catch (err) {
        // No watchdog ping this round: if the store stays broken, systemd restarts us.
        logger.error({ err: errorMessage(err) }, 'supervisor tick failed');
      }
    }, 1000);
    timer.unref();
    return timer;
  }

  /** Without a fixed worker count, one worker per usable session, also for sessions added later. */
  growWorkers(): void {
    if (this.o.workers !== undefined || this.stopping) return;
    const want = this.o.pool.usableCount();
    while (this.workers.length < want) {
      this.o.logger.info({ workers: this.workers.length + 1 }, 'more sessions are usable: adding a worker');
      this.addWorker();
    }
  }

  private addWorker(): void {
    this.workers.push(this.workerLoop(this.workers.length));
    // Each worker keeps at most one listener on each shared signal (a wait, a running job), so
    // 16 workers are not a leak; past this limit Node's warning would still point at a real one.
    setMaxListeners(this.workers.length + 10, this.stopClaiming.signal, this.abortRunning.signal);
  }

  /** Why claiming should wait right now, or undefined. */
  private holdReason(): string | undefined {
    const { store, pool } = this.o;
    const pause = store.control.state();
    if (pause.paused) return `paused by the operator${pause.reason ? `: ${pause.reason}` : ''}`;
    if (this.storageHold && this.storageHold.until > this.clock.now()) {
      return `claiming paused: the library's disk refused a write (${this.storageHold.why}); free space or fix the disk, claiming retries at ${new Date(this.storageHold.until).toISOString()}`;
    }
    const edge = pool.edge.blockedUntil();
    if (edge) return `the edge refused this machine: waiting until ${new Date(edge).toISOString()}`;
    const noSession = pool.noUsableReason();
    if (noSession) return `claiming paused: ${noSession}`;
    return undefined;
  }

  private setNote(note: string | undefined): void {
    if (note !== this.note && note) this.o.logger.warn(note);
    if (note !== this.note && !note && this.note) this.o.logger.info('claiming resumed');
    this.note = note;
  }

  private async workerLoop(index: number): Promise<void> {
    const { store, pool, logger } = this.o;
    const signal = this.stopClaiming.signal;
    while (!signal.aborted) {
      if (this.o.untilEmpty && this.running === 0 && this.queueEmpty()) break;
      const hold = this.holdReason();
      if (hold) {
        this.setNote(hold);
        if (this.o.untilEmpty && (this.storageHold?.until ?? 0) > this.clock.now()) {
          this.summary.fatal = hold;
          this.stop('the library disk refused a write');
          break;
        }
        if (this.o.untilEmpty && pool.usableCount() === 0 && pool.nextUsableAt() === undefined && pool.heldElsewhere() === 0) {
          this.summary.fatal = hold;
          this.stop('no usable session is left');
          break;
        }
        await this.clock.sleep(this.o.pollMs, signal);
        continue;
      }
      if (index === 0) this.setNote(undefined);
      const [job] = store.jobs.claim({ owner: this.owner, limit: 1, leaseMs: this.o.leaseMs });
      if (!job) {
        const next = store.jobs.nextRunAt();
        const wait = next === undefined ? this.o.pollMs : Math.min(this.o.pollMs, Math.max(10, next - this.clock.now()));
        await this.clock.sleep(wait, signal);
        continue;
      }
      this.running++;
      try {
        await this.runJob(job);
      } catch (err) {
        logger.error({ job: job.id, err: errorMessage(err) }, 'recording a job outcome failed');
      } finally {
        this.running--;
      }
    }
    if (this.o.untilEmpty && !this.stopping) this.stopClaiming.abort(new Stop('shutdown'));
  }

  private queueEmpty(): boolean {
    const c = this.o.store.views.counts();
    return c.queued === 0 && c.running === 0;
  }

  private async runJob(job: ClaimedJob): Promise<void> {
    const { store, pool, logger } = this.o;
    const started = this.clock.now();
    const jobLog = logger.child({ job: job.id, kind: job.kind, ...(job.kind === 'book' ? { book: job.payload.bookId } : { skill: job.payload.skill }) });
    const ctrl = new AbortController();
    const onHardStop = () => ctrl.abort(new Stop('shutdown'));
    this.abortRunning.signal.addEventListener('abort', onHardStop, { once: true });
    let progress: unknown;
    let sessionName: string | undefined;
    const beat = setInterval(() => {
      try {
        const r = store.jobs.heartbeat(job.id, job.leaseToken, this.o.leaseMs, progress, sessionName);
        if (!r.ok) ctrl.abort(new Stop('lease lost'));
        else if (r.cancelRequested) ctrl.abort(new Stop('cancel'));
      } catch (err) {
        jobLog.error({ err: errorMessage(err) }, 'heartbeat failed');
      }
    }, this.o.heartbeatMs);
    const handler = job.kind === 'book' ? this.o.handlers.book : this.o.handlers.discover;
    jobLog.info({ attempt: job.attempt }, 'job started');
    try {
      const result = await pool.withSession(async (session) => {
        sessionName = session.name;
        jobLog.debug({ session: session.name }, 'session checked out');
        return handler(job, {
          session,
          signal: ctrl.signal,
          progress: (p) => (progress = p),
          checkpoint: (c) => {
            if (!store.jobs.checkpoint(job.id, job.leaseToken, c)) ctrl.abort(new Stop('lease lost'));
          },
          logger: jobLog.child({ session: session.name }),
        });
      }, { signal: ctrl.signal });
      const completed = store.transaction(() => {
        if (!store.jobs.complete(job.id, job.leaseToken, { session: sessionName, message: result.message })) return false;
        result.commit?.();
        return true;
      });
      if (completed) {
        await result.after?.().catch((err: unknown) => jobLog.warn({ err: errorMessage(err) }, 'clean-up after the job failed'));
        this.summary.succeeded++;
        if (result.bookDone && sessionName) store.sessions.recordUse(sessionName, { ok: true, bookDone: true });
        for (const name of result.partialSessions ?? []) {
          pool.park(name, 'partial', `answered 404 for book ${job.kind === 'book' ? job.payload.bookId : job.id}, which session ${sessionName} read: its cookie set is probably partial; export all cookies of the site and renew it (bookd sessions add ${name} --cookies FILE --replace)`);
        }
        jobLog.info({ session: sessionName, durationMs: this.clock.now() - started, bytes: result.bytes }, `job done: ${result.message}`);
      } else {
        jobLog.warn('job finished after its lease was lost; another worker owns it now');
      }
    } catch (err) {
      const stop = ctrl.signal.aborted ? (ctrl.signal.reason as Stop) : undefined;
      if (stop?.why === 'cancel') {
        store.jobs.acknowledgeCancel(job.id, job.leaseToken);
        jobLog.info('job cancelled');
      } else if (stop?.why === 'lease lost') {
        jobLog.warn('job lease lost: another worker may own it now');
      } else if (stop?.why === 'shutdown') {
        store.jobs.requeue(job.id, job.leaseToken, { kind: 'shutdown', message: 'the daemon stopped before the job finished', session: sessionName });
        jobLog.info('job returned to the queue: daemon stopping');
      } else if (storageError(err)) {
        const why = storageError(err)!;
        this.storageHold = { until: this.clock.now() + STORAGE_HOLD_MS, why };
        store.jobs.requeue(job.id, job.leaseToken, { kind: 'storage', message: `the library's disk refused a write (${why})`, session: sessionName });
        jobLog.error({ err: why }, "the library's disk refused a write: the job goes back to the queue and claiming pauses");
      } else {
        const edgeUntil = pool.edge.blockedUntil();
        const outcome = decideOutcome(err, {
          now: this.clock.now(),
          recent: recentRuns(store.jobs.attempts(job.id)),
          edgeUntil,
          throttleSnoozeMs: this.o.throttleSnoozeMs ?? 30_000,
        });
        const fields = { session: sessionName, durationMs: this.clock.now() - started, err: errorMessage(err) };
        switch (outcome.type) {
          case 'release':
            store.jobs.requeue(job.id, job.leaseToken, { kind: outcome.kind, message: outcome.reason, session: sessionName });
            jobLog.warn(fields, 'job returned to the queue (not its fault)');
            break;
          case 'snooze':
            store.jobs.snooze(job.id, job.leaseToken, outcome.until, outcome.reason, sessionName, outcome.kind);
            jobLog.warn({ ...fields, until: new Date(outcome.until).toISOString() }, 'job snoozed');
            break;
          case 'retry':
            if (store.jobs.retry(job.id, job.leaseToken, { kind: outcome.kind, message: outcome.message, session: sessionName }) === 'failed') this.summary.failed++;
            jobLog.warn(fields, 'job failed; it will be retried');
            break;
          case 'fail':
            store.jobs.fail(job.id, job.leaseToken, { kind: outcome.kind, message: outcome.message, session: sessionName });
            this.summary.failed++;
            jobLog.error(fields, 'job failed for good');
            break;
        }
      }
    } finally {
      clearInterval(beat);
      this.abortRunning.signal.removeEventListener('abort', onHardStop);
    }
  }
}
