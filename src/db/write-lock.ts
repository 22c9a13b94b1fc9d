import type { Database } from 'better-sqlite3';

export interface WriteLockOptions {
  /** Give up (the SQLITE_BUSY reaches the caller) after waiting this long for the lock. */
  timeoutMs: number;
  /** [0, 1), for the jitter between attempts. */
  random?: () => number;
  /** Shared by the threads of one process that write to the same database (see ThreadLock). */
  threadLock?: ThreadLock;
}

/**
 * A FIFO ticket lock over shared memory for the threads of one process (the main thread and the
 * jar-saving thread). Between processes SQLite's lock is all there is, and retrying for it starves
 * a thread whose neighbour commits back to back: measured, one heartbeat waited 300 ms while the
 * jar thread committed rotation after rotation. Taking turns in order, a writer waits for at most
 * the commits queued before it.
 */
export class ThreadLock {
  readonly cells: Int32Array;

  constructor(shared?: SharedArrayBuffer) {
    this.cells = new Int32Array(shared ?? new SharedArrayBuffer(8));
  }

  get shared(): SharedArrayBuffer {
    return this.cells.buffer as SharedArrayBuffer;
  }

  acquire(timeoutMs: number): void {
    const ticket = Atomics.add(this.cells, 0, 1);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const serving = Atomics.load(this.cells, 1);
      if (serving === ticket) return;
      if (performance.now() >= deadline) {
        // Give the turn up when it comes, so the threads behind us are not stuck on it.
        this.abandon(ticket);
        throw Object.assign(new Error('another thread of this process held the database write lock too long'), { code: 'SQLITE_BUSY' });
      }
      Atomics.wait(this.cells, 1, serving, 50);
    }
  }

  release(): void {
    Atomics.add(this.cells, 1, 1);
    Atomics.notify(this.cells, 1);
  }

  private abandon(ticket: number): void {
    const skip = () => {
      if (Atomics.load(this.cells, 1) === ticket) this.release();
      else setTimeout(skip, 1).unref();
    };
    skip();
  }
}

/**
 * Runs `fn` in an IMMEDIATE transaction: committed if it returns (rolled back anyway with
 * `{ commit: false }`, a dry run), rolled back if it throws. Called
 * inside another one, it simply joins it.
 */
export type WriteTransaction = <A extends unknown[], R>(fn: (...args: A) => R, how?: { commit: boolean }) => (...args: A) => R;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * IMMEDIATE transactions that keep trying for the write lock often enough. SQLite's own busy
 * handler sleeps up to 100 ms between attempts, about 10 chances a second to catch the lock free
 * between another process's back-to-back commits: measured here, one of 4 tight-looping claimers
 * finished 0 jobs in 14 s, and one run surfaced SQLITE_BUSY after the 30 s timeout. Retrying
 * every 0.5–2.5 ms (jittered) gives it ~400 chances a second; polling faster measured slower
 * overall (the pollers take CPU from the lock holder on 2 cores). Waiting blocks the thread
 * exactly as SQLite's handler would.
 */
export function writeTransactions(db: Database, opts: WriteLockOptions): WriteTransaction {
  const random = opts.random ?? Math.random;
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const noWait = db.prepare('PRAGMA busy_timeout = 0');
  const restoreWait = db.prepare(`PRAGMA busy_timeout = ${Math.floor(opts.timeoutMs)}`);

  function acquire(): void {
    noWait.get();
    try {
      const deadline = performance.now() + opts.timeoutMs;
      for (;;) {
        try {
          begin.run();
          return;
        } catch (err) {
          if (!isBusy(err) || performance.now() >= deadline) throw err;
        }
        Atomics.wait(sleeper, 0, 0, 0.5 + 2 * random());
      }
    } finally {
      restoreWait.get();
    }
  }

  const savepoint = db.prepare('SAVEPOINT dry_run');
  const undoSavepoint = db.prepare('ROLLBACK TO dry_run');
  const releaseSavepoint = db.prepare('RELEASE dry_run');

  return <A extends unknown[], R>(fn: (...args: A) => R, how: { commit: boolean } = { commit: true }) =>
    (...args: A): R => {
      if (db.inTransaction) {
        // Inside another write transaction: part of it, so several writes commit (or not) together.
        if (how.commit) return fn(...args);
        // A dry run inside it undoes only its own writes.
        savepoint.run();
        try {
          return fn(...args);
        } finally {
          undoSavepoint.run();
          releaseSavepoint.run();
        }
      }
      opts.threadLock?.acquire(opts.timeoutMs);
      try {
        acquire();
        try {
          const result = fn(...args);
          // A dry run works everything out under the write lock, then leaves no trace.
          (how.commit ? commit : rollback).run();
          return result;
        } catch (err) {
          if (db.inTransaction) rollback.run();
          throw err;
        }
      } finally {
        opts.threadLock?.release();
      }
    };
}
