import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { systemClock, type Clock } from '../clock.js';
import type { Tuning } from '../config.js';
import type { ClaimedJob, RequeueKind } from '../db/jobs.js';
import type { BookRecord } from '../db/books.js';
import type { Store } from '../db/store.js';
import { StoreUnavailableError, errorMessage, storageErrno } from '../errors.js';
import type { Logger } from '../log.js';
import type { SessionPool } from '../pool/pool.js';
import type { Session } from '../pool/session.js';
import type { Notifier } from './sd-notify.js';
import { decideOutcome, recentRuns, type Outcome } from './outcome.js';
import { newOwner } from '../pool/holds.js';
import { createSupervisor, type Duty, type Supervisor } from './supervisor.js';
import { expiryWarner } from '../pool/expiry.js';
import type { EventBus } from './events.js';
import { edgeWatch } from './edge-watch.js';

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
  /** Catalogue rows that commit together with the job's completion (a kill between the two cannot happen). */
  catalogue?: readonly BookRecord[];
  /** Clean-up once the completion is committed (the book's staging folder). */
  after?: () => Promise<void>;
  /** Sessions that were answered 404 for what this job has just read: their cookie sets are probably partial. */
  partialSessions?: string[];
}

export type JobHandler = (job: ClaimedJob, ctx: JobContext) => Promise<JobResult>;

export type { DutyPeriods } from '../config.js';

/** The parts of the tuning (src/config.ts) a daemon uses; the watchdog's period is not among them (systemd sets it). */
export type DaemonTuning = Pick<Tuning, 'daemon' | 'status'>;

export interface DaemonOptions {
  store: Store;
  pool: SessionPool;
  handlers: { book: JobHandler; discover: JobHandler };
  logger: Logger;
  clock?: Clock;
  notifier?: Notifier;
  /** Fixed number of lanes (job loops; `--workers`); default one per usable session. */
  lanes?: number;
  /** Stop once nothing is queued or running. */
  untilEmpty?: boolean;
  /** Leases, heartbeats, duty periods and snoozes, validated (config.ts `validateTuning`): `config.tuning`, or DEFAULT_TUNING in tests. */
  tuning: DaemonTuning;
  /** How long running jobs may finish after a stop request. */
  graceMs: number;
  owner?: string;
  /** Called once everything is started (the moment READY=1 goes out). */
  onReady?: () => void;
  /** Lease owners known to be gone (dead processes on this host): their jobs are reaped at once. */
  goneOwners?: () => Promise<string[]>;
  /** Which machine's budget row this daemon shares (default: the host name). */
  budgetScope?: string;
  /** Sessions that can no longer refresh themselves within this long are warned about (src/pool/expiry.ts). */
  expiryWarningMs: number;
  /** Runs the watches that are due (src/jobs/watch.ts); the signal aborts once the daemon stops. */
  watches?: (signal: AbortSignal) => Promise<void>;
  /** Hears what the daemon decides: job outcomes, failed books, a drained queue, the disk, the edge (src/daemon/events.ts). */
  events?: EventBus;
}

/** Failures of the disk under the library: no book is at fault, and retrying at once cannot help. */
function storageError(err: unknown): string | undefined {
  const code = storageErrno(err);
  if (!code) return undefined;
  // Node's own messages already begin with the code ("ENOSPC: no space left on device, write").
  const message = (err as Error).message;
  return message.startsWith(code) ? message : `${code}: ${message}`;
}

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

/** One claimed job while it runs: its abort plumbing, heartbeat and what it reported. */
interface Run {
  job: ClaimedJob;
  log: Logger;
  started: number;
  ctrl: AbortController;
  progress: unknown;
  session: string | undefined;
  /** Until when the lease is known to hold (its claim or last heartbeat): an outcome is worth recording until then. */
  leaseUntil: number;
  /** Stops the heartbeat and detaches from the daemon's hard stop. */
  dispose(): void;
}

/**
 * How a run that did not complete ends: what the queue decides for the error (outcome.ts), or the
 * daemon's own reasons (a stop, a cancel, a lost lease, the library's disk).
 */
type Ending =
  | Outcome
  | { type: 'requeue'; reason: string; kind: RequeueKind }
  /** The library's disk refused a write: back to the queue, and claiming pauses. */
  | { type: 'disk refused'; reason: string; why: string }
  | { type: 'cancelled' }
  | { type: 'lease lost' };

/** How a job.changed event says each ending. */
const ENDING_WORDS: Readonly<Record<Ending['type'], string>> = {
  retry: 'failed; it will be retried',
  fail: 'failed',
  snooze: 'snoozed',
  requeue: 'returned to the queue',
  'disk refused': "returned to the queue: the library's disk refused a write",
  cancelled: 'cancelled',
  'lease lost': 'lost its lease',
};

/**
 * L lanes, each looping: claim a job → borrow a session → run the handler → return the session →
 * record the outcome. A supervisor runs the periodic duties (reap, upkeep, reload, budget, beat,
 * watch, STATUS, WATCHDOG, EXTEND_TIMEOUT). Stopping is two-stage: stop claiming and let running jobs
 * finish within the grace period, then abort and requeue what is left.
 */
export class Daemon {
  readonly owner: string;
  private readonly o: DaemonOptions;
  private readonly t: Tuning['daemon'];
  private readonly clock: Clock;
  private readonly supervisor: Supervisor;
  private readonly stopClaiming = new AbortController();
  private readonly abortRunning = new AbortController();
  private note: string | undefined;
  private storageHold: { until: number; why: string } | undefined;
  /** Set by stop(): when running jobs are aborted (EXTEND_TIMEOUT_USEC counts down to it). */
  private drainDeadline: number | undefined;
  private readonly summary: RunSummary = { succeeded: 0, failed: 0, fatal: undefined };
  private lanes: Promise<void>[] = [];
  private running = 0;
  /** Outcomes since the queue last drained: queue.drained is told once per drain, after work. */
  private sinceDrain = { succeeded: 0, failed: 0, outcomes: 0 };

  constructor(opts: DaemonOptions) {
    this.o = opts;
    this.t = opts.tuning.daemon;
    this.clock = opts.clock ?? systemClock;
    this.owner = opts.owner ?? newOwner();
    this.supervisor = createSupervisor(this.duties(), { clock: this.clock, logger: opts.logger, tickMs: this.t.tickMs });
  }

  get stopping(): boolean {
    return this.stopClaiming.signal.aborted;
  }

  /** The supervisor completed a tick recently (/healthz; the watchdog ping). */
  healthy(): boolean {
    return this.clock.now() - this.supervisor.lastTickAt() < this.t.healthyWithinMs;
  }

  /** Runs until stopped (or, with untilEmpty, until the queue is empty). */
  async run(): Promise<RunSummary> {
    const { store, logger } = this.o;
    await this.reap('info');
    await store.control.daemonBeat(this.owner, 'starting');
    const row = await store.budget.get(this.budgetScope);
    if (row) this.o.pool.budget.resume(row.rate, row.reason, row.changedAt);
    await this.syncBudget();

    const count = this.o.lanes ?? Math.max(1, this.o.pool.usableCount());
    this.supervisor.start();
    for (let i = 0; i < count; i++) this.addLane();
    logger.info({ workers: count, sessions: this.o.pool.usableCount(), owner: this.owner }, 'daemon ready');
    this.o.notifier?.send({ READY: 1, STATUS: `ready: ${count} lanes (books at once)` });
    this.o.onReady?.();

    // Lanes may be added while running (more sessions usable): wait for those too.
    for (let settled = 0; settled < this.lanes.length; settled = this.lanes.length) await Promise.all(this.lanes);
    await this.supervisor.stop();
    await store.control.daemonGone(this.owner);
    return this.summary;
  }

  /** Graceful stop: no new claims; running jobs get `graceMs`, then are aborted and requeued. */
  stop(reason: string): void {
    if (this.stopping) return;
    this.o.logger.info({ reason, running: this.running, graceMs: this.o.graceMs }, 'stopping: finishing running jobs');
    this.o.notifier?.send({ STOPPING: 1, STATUS: `stopping: ${reason}` });
    this.stopClaiming.abort(new Stop('shutdown'));
    this.drainDeadline = this.clock.now() + this.o.graceMs;
    const timer = setTimeout(() => this.abortNow(), this.o.graceMs);
    timer.unref();
    void Promise.all(this.lanes).then(() => clearTimeout(timer));
  }

  /** Aborts running jobs now; they checkpoint and return to the queue. */
  abortNow(): void {
    this.stopClaiming.abort(new Stop('shutdown'));
    this.abortRunning.abort(new Stop('shutdown'));
  }

  private get budgetScope(): string {
    return this.o.budgetScope ?? hostname();
  }

  /** The supervisor's duties, each with its own period (`tuning.daemon.periods`). */
  private duties(): Duty[] {
    const { store, pool, logger, notifier } = this.o;
    const p = this.t.periods;
    const duties: Duty[] = [
      { name: 'reap', periodMs: p.reap, run: () => this.reap() },
      { name: 'upkeep', periodMs: p.upkeep, run: () => pool.upkeep() },
      {
        name: 'reload',
        periodMs: p.reload,
        run: async () => {
          await pool.reload();
          this.growLanes();
        },
      },
      { name: 'budget', periodMs: p.budget, run: () => this.syncBudget() },
      // Issue 13: session.expiring warnings, at most one per session per day (src/pool/expiry.ts).
      {
        name: 'expiry',
        periodMs: p.reload,
        atStart: true,
        run: expiryWarner({
          list: () => store.sessions.list(),
          logger,
          clock: this.clock,
          withinMs: this.o.expiryWarningMs,
          onWarn: (e) => this.o.events?.emit({ event: 'session.expiring', session: e.name, message: e.message }),
        }),
      },
      {
        name: 'edge',
        periodMs: p.budget,
        run: edgeWatch({
          edge: pool.edge,
          clock: this.clock,
          thresholdMs: this.t.edgeBlockedAlertMs,
          alert: (since, until) =>
            this.o.events?.emit({
              event: 'edge.blocked',
              message: `the edge has refused this machine since ${new Date(since).toISOString()} and every session is paused until ${new Date(until).toISOString()}: bookd waits and resumes by itself; if it goes on for hours, stop other clients on this IP or lower budgetCeiling`,
            }),
        }),
      },
      { name: 'beat', periodMs: p.beat, atStart: true, run: () => store.control.daemonBeat(this.owner, this.note) },
    ];
    // Not with --until-empty: a run that drains the queue and exits must not keep filling it.
    const watches = this.o.watches;
    if (watches && !this.o.untilEmpty) {
      duties.push({ name: 'watch', periodMs: p.watch, atStart: true, run: () => watches(this.stopClaiming.signal) });
    }
    if (notifier?.enabled) {
      duties.push({
        name: 'status',
        periodMs: p.status,
        atStart: true,
        run: async () => {
          const c = await store.views.counts();
          notifier.send({
            STATUS: `${c.running} running, ${c.queued} queued, ${c.succeeded} done, ${c.failed} failed; ${pool.usableCount()} usable sessions${this.note ? `; ${this.note}` : ''}`,
          });
        },
      });
      duties.push({
        name: 'extend',
        periodMs: p.extend,
        run: () => {
          if (this.drainDeadline === undefined) return;
          const left = Math.max(0, this.drainDeadline - this.clock.now());
          notifier.send({ EXTEND_TIMEOUT_USEC: (left + this.t.extendSlackMs) * 1000 });
        },
      });
    }
    const usec = notifier?.watchdogUsec;
    if (usec) {
      // Last, so a tick whose other duties failed has already kept this one's measure from advancing;
      // while the store stays broken the pings stop and systemd restarts us.
      duties.push({
        name: 'watchdog',
        periodMs: usec / 2000,
        atStart: true,
        run: () => {
          if (this.healthy()) notifier.send({ WATCHDOG: 1 });
        },
      });
    }
    logger.debug({ duties: duties.map((d) => `${d.name}/${d.periodMs}ms`) }, 'supervisor duties');
    return duties;
  }

  /** Returns to the queue the jobs of expired leases and of owners that are gone. */
  private async reap(level: 'info' | 'warn' = 'warn'): Promise<void> {
    const { store, logger } = this.o;
    const gone = (await this.o.goneOwners?.()) ?? [];
    const n = await store.jobs.reap(gone);
    // At the start, what an earlier run left is expected; later it means a daemon died meanwhile.
    if (n > 0) logger[level]({ reaped: n }, 'returned to the queue the jobs of lapsed leases and of daemons that are gone');
    for (const d of await store.control.daemons()) if (gone.includes(d.owner)) await store.control.daemonGone(d.owner);
  }

  /**
   * The machine's budget is one for every daemon on it (docs/SERVICE.md §4): the latest decision of
   * any of them wins, each paces at its share, and an edge pause one of them met holds for all.
   */
  private async syncBudget(): Promise<void> {
    const { store, pool } = this.o;
    const scope = this.budgetScope;
    const local = pool.budget.state();
    const row = await store.budget.ensure(scope, local.rate, local.reason, local.changedAt);
    if (row.changedAt > local.changedAt) pool.budget.adopt(row.rate, row.reason, row.changedAt);
    else if (local.changedAt > row.changedAt) await store.budget.saveRate(scope, local.rate, local.reason, local.changedAt);
    const now = this.clock.now();
    const edgeUntil = pool.edge.blockedUntil() ?? 0;
    if (edgeUntil > (row.edgeUntil ?? 0)) await store.budget.saveEdge(scope, edgeUntil, pool.edge.strikeCount);
    else if ((row.edgeUntil ?? 0) > now) pool.edge.adopt(row.edgeUntil!, row.edgeStrikes);
    const gone = new Set((await this.o.goneOwners?.()) ?? []);
    const here = hostname();
    const live = (await store.control.daemons()).filter(
      (d) => d.host === here && !gone.has(d.owner) && now - d.seenAt < this.o.tuning.status.daemonGoneMs,
    ).length;
    pool.budget.setShare(Math.max(1, live));
  }

  /** Without a fixed lane count, one lane per usable session, also for sessions added later. */
  growLanes(): void {
    if (this.o.lanes !== undefined || this.stopping) return;
    const want = this.o.pool.usableCount();
    while (this.lanes.length < want) {
      this.o.logger.info({ workers: this.lanes.length + 1 }, 'more sessions are usable: adding a lane');
      this.addLane();
    }
  }

  private addLane(): void {
    this.lanes.push(this.lane(this.lanes.length));
    // Each lane keeps at most one listener on each shared signal (a wait, a running job), so
    // 16 lanes are not a leak; past this limit Node's warning would still point at a real one.
    setMaxListeners(this.lanes.length + 10, this.stopClaiming.signal, this.abortRunning.signal);
  }

  /** Why claiming should wait right now, or undefined. */
  private async holdReason(): Promise<string | undefined> {
    const { store, pool } = this.o;
    const pause = await store.control.state();
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

  /** One job loop: claim, run, record; waits while claiming is held. */
  private async lane(index: number): Promise<void> {
    const signal = this.stopClaiming.signal;
    for (let away = 0; !signal.aborted;) {
      try {
        if ((await this.laneRound(index, signal)) === 'done') break;
        away = 0;
      } catch (err) {
        // The store could not be read or written (a PostgreSQL restart, a dropped network, a
        // locked SQLite file): nothing was claimed, so the lane waits and asks again.
        const waitMs = this.storeBackoff(away++);
        this.setNote(`claiming paused: ${errorMessage(err)}; trying again in ${Math.ceil(waitMs / 1000)} s`);
        await this.clock.sleep(waitMs, signal);
      }
    }
    if (this.o.untilEmpty && !this.stopping) this.stopClaiming.abort(new Stop('shutdown'));
  }

  /** The n-th wait while the store is away: doubling from the poll interval up to `storeRetryCapMs`. */
  private storeBackoff(n: number): number {
    return Math.min(this.t.storeRetryCapMs, this.t.pollMs * 2 ** Math.min(n, 20));
  }

  /**
   * Waits up to `ms` for work: on a store that announces new jobs (PostgreSQL's NOTIFY) it wakes
   * as soon as one is enqueued or released on any host; `since` is the count taken before the
   * claim that found nothing.
   */
  private async idle(ms: number, signal: AbortSignal, since: number | undefined): Promise<void> {
    const { wake } = this.o.store;
    if (wake) await wake.wait(ms, { signal, ...(since !== undefined && { since }) });
    else await this.clock.sleep(ms, signal);
  }

  /** One turn of a lane: wait while claiming is held, or claim a job and run it. */
  private async laneRound(index: number, signal: AbortSignal): Promise<'done' | 'again'> {
    const { store, pool, logger } = this.o;
    if (this.o.untilEmpty && this.running === 0 && (await this.queueEmpty())) {
      this.drained();
      return 'done';
    }
    const since = store.wake?.seen();
    const hold = await this.holdReason();
    if (hold) {
      this.setNote(hold);
      if (this.o.untilEmpty && (this.storageHold?.until ?? 0) > this.clock.now()) {
        this.summary.fatal = hold;
        this.stop('the library disk refused a write');
        return 'done';
      }
      if (this.o.untilEmpty && pool.usableCount() === 0 && pool.nextUsableAt() === undefined && pool.heldElsewhere() === 0) {
        this.summary.fatal = hold;
        this.stop('no usable session is left');
        return 'done';
      }
      // A resume NOTIFYs too, so a paused queue on PostgreSQL starts again at once.
      await this.idle(this.t.pollMs, signal, since);
      return 'again';
    }
    if (index === 0) this.setNote(undefined);
    const [job] = await store.jobs.claim({ owner: this.owner, limit: 1, leaseMs: this.t.leaseMs });
    if (!job) {
      if (this.sinceDrain.outcomes > 0 && this.running === 0 && (await this.queueEmpty())) this.drained();
      const next = await store.jobs.nextRunAt();
      const wait = next === undefined ? this.t.pollMs : Math.min(this.t.pollMs, Math.max(10, next - this.clock.now()));
      await this.idle(wait, signal, since);
      return 'again';
    }
    this.running++;
    try {
      await this.runJob(job);
    } catch (err) {
      logger.error({ job: job.id, err: errorMessage(err) }, 'recording a job outcome failed');
    } finally {
      this.running--;
    }
    return 'again';
  }

  /** Nothing queued or running after this daemon has done some work: told once, until more work comes. */
  private drained(): void {
    const { succeeded, failed, outcomes } = this.sinceDrain;
    if (outcomes === 0) return;
    this.sinceDrain = { succeeded: 0, failed: 0, outcomes: 0 };
    this.o.events?.emit({
      event: 'queue.drained',
      message: `the queue is empty: ${succeeded} job${succeeded === 1 ? '' : 's'} done${failed ? `, ${failed} failed for good (bookd jobs list --state failed)` : ''} since it was last empty`,
    });
  }

  /** A job started or ended, for the web page's counts. */
  private jobChanged(job: ClaimedJob, what: string): void {
    this.o.events?.emit({
      event: 'job.changed',
      job: job.id,
      ...(job.kind === 'book' ? { book: { id: job.payload.bookId, ...(job.payload.title ? { title: job.payload.title } : {}) } } : {}),
      message: `job ${job.id} ${what}`,
    });
  }

  /** A book that failed for good: what it was, why, and the commands to look and retry. */
  private bookFailed(job: ClaimedJob, reason: string): void {
    this.sinceDrain.failed++;
    if (job.kind !== 'book') return;
    const { bookId, title } = job.payload;
    this.o.events?.emit({
      event: 'book.failed',
      job: job.id,
      book: { id: bookId, ...(title ? { title } : {}) },
      message: `book ${bookId}${title ? ` (${title})` : ''} failed for good: ${reason}; see bookd jobs show ${job.id}, and bookd jobs retry ${job.id} once it is mended`,
    });
  }

  private async queueEmpty(): Promise<boolean> {
    const c = await this.o.store.views.counts();
    return c.queued === 0 && c.running === 0;
  }

  private async runJob(job: ClaimedJob): Promise<void> {
    const run = this.startRun(job);
    run.log.info({ attempt: job.attempt }, 'job started');
    this.jobChanged(job, 'started');
    let what = 'ended';
    try {
      const result = await this.handle(run);
      what = (await this.recording(run, () => this.complete(run, result))) ? 'succeeded' : 'finished after its lease was lost';
    } catch (err) {
      const ending = await this.recording(run, () => this.ending(run, err));
      what = ENDING_WORDS[ending.type];
      await this.recording(run, () => this.end(run, ending, err));
    } finally {
      run.dispose();
      this.sinceDrain.outcomes++;
      this.jobChanged(job, what);
    }
  }

  /**
   * Records a run's outcome, asking again while the store cannot be reached and the run's lease
   * still holds (heartbeats go on meanwhile and extend it once the store is back): a PostgreSQL
   * restart must not make a finished book be done again. Past the lease the job is another
   * worker's to redo, and the failure is the caller's.
   */
  private async recording<T>(run: Run, fn: () => Promise<T>): Promise<T> {
    for (let away = 0; ; away++) {
      try {
        return await fn();
      } catch (err) {
        const left = run.leaseUntil - this.clock.now();
        if (!(err instanceof StoreUnavailableError) || left <= 0) throw err;
        const waitMs = Math.min(this.storeBackoff(away), left);
        run.log.warn({ err: errorMessage(err), retryInMs: waitMs }, 'the store is away: the job outcome is recorded once it is back');
        await this.clock.sleep(waitMs);
      }
    }
  }

  /** The run's abort controller (hard stop, lost lease, cancel) and its heartbeat. */
  private startRun(job: ClaimedJob): Run {
    const { store, logger } = this.o;
    const log = logger.child({ job: job.id, kind: job.kind, ...(job.kind === 'book' ? { book: job.payload.bookId } : { skill: job.payload.skill }) });
    const ctrl = new AbortController();
    const onHardStop = () => ctrl.abort(new Stop('shutdown'));
    this.abortRunning.signal.addEventListener('abort', onHardStop, { once: true });
    // A beat still waiting for the store when the next is due is not doubled.
    let beating = false;
    const beat = setInterval(() => {
      if (beating) return;
      beating = true;
      const sentAt = this.clock.now();
      store.jobs
        .heartbeat(job.id, job.leaseToken, this.t.leaseMs, run.progress, run.session)
        .then((r) => {
          if (r.ok) run.leaseUntil = Math.max(run.leaseUntil, sentAt + this.t.leaseMs);
          if (!r.ok) ctrl.abort(new Stop('lease lost'));
          else if (r.cancelRequested) ctrl.abort(new Stop('cancel'));
        })
        .catch((err: unknown) => log.error({ err: errorMessage(err) }, 'heartbeat failed'))
        .finally(() => (beating = false));
    }, this.t.heartbeatMs);
    const run: Run = {
      job,
      log,
      started: this.clock.now(),
      ctrl,
      progress: undefined,
      session: undefined,
      leaseUntil: this.clock.now() + this.t.leaseMs,
      dispose: () => {
        clearInterval(beat);
        this.abortRunning.signal.removeEventListener('abort', onHardStop);
      },
    };
    return run;
  }

  /** Borrows a session and runs the job's handler with it. */
  private handle(run: Run): Promise<JobResult> {
    const { store, pool } = this.o;
    const { job, ctrl } = run;
    const handler = job.kind === 'book' ? this.o.handlers.book : this.o.handlers.discover;
    return pool.withSession(
      async (session) => {
        run.session = session.name;
        run.log.debug({ session: session.name }, 'session checked out');
        return handler(job, {
          session,
          signal: ctrl.signal,
          progress: (p) => (run.progress = p),
          // Saved beside the download, not in its way: a lost lease stops the run when it is known.
          checkpoint: (c) => {
            store.jobs
              .checkpoint(job.id, job.leaseToken, c)
              .then((ok) => ok || ctrl.abort(new Stop('lease lost')))
              .catch((err: unknown) => run.log.warn({ err: errorMessage(err) }, 'saving a checkpoint failed'));
          },
          logger: run.log.child({ session: session.name }),
        });
      },
      { signal: ctrl.signal },
    );
  }

  /** The job's completion and its catalogue rows in one transaction, then the clean-up. */
  private async complete(run: Run, result: JobResult): Promise<boolean> {
    const { store, pool } = this.o;
    const { job, log } = run;
    const session = run.session;
    const completed = await store.completeJob(job.id, job.leaseToken, { session, message: result.message }, result.catalogue ?? []);
    if (!completed) {
      log.warn('job finished after its lease was lost; another worker owns it now');
      return false;
    }
    await result.after?.().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'clean-up after the job failed'));
    this.summary.succeeded++;
    if (result.bookDone && session) await store.sessions.recordUse(session, { ok: true, bookDone: true });
    for (const name of result.partialSessions ?? []) {
      await pool.park(
        name,
        'partial',
        `answered 404 for book ${job.kind === 'book' ? job.payload.bookId : job.id}, which session ${session} read: its cookie set is probably partial; export all cookies of the site and renew it (bookd sessions add ${name} --cookies FILE --replace)`,
      );
    }
    log.info({ session, durationMs: this.clock.now() - run.started, bytes: result.bytes }, `job done: ${result.message}`);
    this.sinceDrain.succeeded++;
    return true;
  }

  /** How a run that threw `err` ends: why it was stopped, if it was, else what the error decides. */
  private async ending(run: Run, err: unknown): Promise<Ending> {
    const { store, pool } = this.o;
    const stop = run.ctrl.signal.aborted ? (run.ctrl.signal.reason as Stop) : undefined;
    if (stop?.why === 'cancel') return { type: 'cancelled' };
    if (stop?.why === 'lease lost') return { type: 'lease lost' };
    if (stop?.why === 'shutdown') return { type: 'requeue', reason: 'the daemon stopped before the job finished', kind: 'shutdown' };
    const storage = storageError(err);
    if (storage) return { type: 'disk refused', reason: `the library's disk refused a write (${storage})`, why: storage };
    return decideOutcome(err, {
      now: this.clock.now(),
      recent: recentRuns(await store.jobs.attempts(run.job.id)),
      edgeUntil: pool.edge.blockedUntil(),
      throttleSnoozeMs: this.t.throttleSnoozeMs,
      maxThrottleSnoozeMs: this.t.maxThrottleSnoozeMs,
      noSessionSnoozeMs: this.t.noSessionSnoozeMs,
    });
  }

  /** One guarded transition of the job per ending (every one fenced by the lease token). */
  private async end(run: Run, ending: Ending, err: unknown): Promise<void> {
    const { store } = this.o;
    const { job, log } = run;
    const session = run.session;
    const fields = { session, durationMs: this.clock.now() - run.started, err: errorMessage(err) };
    switch (ending.type) {
      case 'cancelled':
        await store.jobs.acknowledgeCancel(job.id, job.leaseToken);
        log.info('job cancelled');
        return;
      case 'lease lost':
        log.warn('job lease lost: another worker may own it now');
        return;
      case 'requeue':
        await store.jobs.requeue(job.id, job.leaseToken, { kind: ending.kind, message: ending.reason, session });
        if (ending.kind === 'shutdown') log.info('job returned to the queue: daemon stopping');
        else log.warn(fields, 'job returned to the queue (not its fault)');
        return;
      case 'disk refused':
        this.storageHold = { until: this.clock.now() + this.t.storageHoldMs, why: ending.why };
        await store.jobs.requeue(job.id, job.leaseToken, { kind: 'storage', message: ending.reason, session });
        log.error({ err: ending.why }, "the library's disk refused a write: the job goes back to the queue and claiming pauses");
        this.o.events?.emit({
          event: 'storage.full',
          job: job.id,
          message: `the library's disk refused a write (${ending.why}): free space or fix the disk; claiming pauses and tries again at ${new Date(this.storageHold.until).toISOString()}`,
        });
        return;
      case 'snooze':
        await store.jobs.snooze(job.id, job.leaseToken, ending.until, ending.reason, session, ending.kind);
        log.warn({ ...fields, until: new Date(ending.until).toISOString() }, 'job snoozed');
        return;
      case 'retry':
        if ((await store.jobs.retry(job.id, job.leaseToken, { kind: ending.kind, message: ending.message, session })) === 'failed') {
          this.summary.failed++;
          this.bookFailed(job, ending.message);
          log.error(fields, 'job failed for good: no attempts left');
          return;
        }
        log.warn(fields, 'job failed; it will be retried');
        return;
      case 'fail':
        await store.jobs.fail(job.id, job.leaseToken, { kind: ending.kind, message: ending.message, session });
        this.summary.failed++;
        this.bookFailed(job, ending.message);
        log.error(fields, 'job failed for good');
        return;
    }
  }
}
