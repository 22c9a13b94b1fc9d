import type { TransferListItem, Worker } from 'node:worker_threads';

/** What every reply from the thread carries: the id of the call it answers. */
export interface Reply {
  id: number;
}

export interface ThreadRpcOptions {
  /** Starts the thread; called again for the replacement of one that died. */
  start: () => Worker;
  /**
   * The error every call in flight gets when the thread stops under it (`why`: its error or exit
   * code; `outOfMemory`: it needed more heap than its limit allowed, so the same call would fail
   * the same way again).
   */
  stopped: (why: string, outOfMemory: boolean) => Error;
  /** The error a call gets once the thread is closed. */
  closed: () => Error;
  /**
   * Started on the first call instead of at once, and stopped after this long without a call in
   * flight (started again by the next call): an idle V8 heap costs tens of MB (README.md,
   * "Measurements"), which a daemon that builds a book now and then need not keep.
   */
  idleMs?: number;
}

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (err: Error) => void;
}

/**
 * Requests and replies over one worker thread: each call is posted with a fresh id and settles
 * with the reply carrying that id. A thread that dies fails the calls it held with `stopped` and
 * is replaced at once (until `close`), so a process running for weeks never posts to a dead
 * thread. Messages reach the thread in the order of the calls; what a reply means is the
 * caller's business.
 */
export class ThreadRpc {
  private worker: Worker | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly inflight = new Set<Promise<unknown>>();
  private closing = false;
  /** Threads started so far, replacements included. */
  started = 0;

  constructor(private readonly opts: ThreadRpcOptions) {
    if (opts.idleMs === undefined) this.spawn();
  }

  /** Whether a thread is running now (an idle-stopped one is not). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  private spawn(): Worker {
    const worker = this.opts.start();
    this.worker = worker;
    this.started++;
    worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      p.resolve(m);
      this.armIdle();
    });
    let failed: NodeJS.ErrnoException | undefined;
    worker.on('error', (err) => (failed = err));
    worker.on('exit', (code) => {
      // A thread stopped for idleness holds no calls, and a newer one may hold some by now.
      if (this.worker !== worker) return;
      this.worker = undefined;
      const outOfMemory = failed?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      const err = this.opts.stopped(failed ? failed.message : `exit ${code}`, outOfMemory);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (!this.closing && this.opts.idleMs === undefined) this.spawn();
    });
    return worker;
  }

  /** With nothing in flight, the thread stops after `idleMs` unless a call comes first. */
  private armIdle(): void {
    if (this.opts.idleMs === undefined || this.pending.size > 0 || this.closing) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      const worker = this.worker;
      if (!worker || this.pending.size > 0) return;
      this.worker = undefined;
      void worker.terminate();
    }, this.opts.idleMs);
    this.idleTimer.unref();
  }

  /** Calls not answered yet (on the thread running now). */
  get load(): number {
    return this.pending.size;
  }

  /** Posts `{ ...message, id }` and settles with the thread's reply to it. */
  call<R extends Reply>(message: object, transfer?: readonly TransferListItem[]): Promise<R> {
    if (this.closing) return Promise.reject(this.opts.closed());
    const id = this.next++;
    clearTimeout(this.idleTimer);
    const worker = this.worker ?? this.spawn();
    const done = new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (reply: Reply) => void, reject });
      worker.postMessage({ ...message, id }, transfer);
    });
    this.inflight.add(done);
    const forget = () => this.inflight.delete(done);
    done.then(forget, forget);
    return done;
  }

  /** Waits until every call made so far has settled (answered, or failed by a dying thread). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  /** Stops the thread as if it had crashed: for tests of the replacement. */
  async crash(): Promise<void> {
    await this.worker?.terminate();
  }

  /** Stops the thread for good; calls still in flight fail with `stopped`, later ones with `closed`. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.idleTimer);
    await this.worker?.terminate();
  }
}
