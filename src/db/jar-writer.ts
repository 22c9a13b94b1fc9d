import type { Worker } from 'node:worker_threads';
import { SupersededJarError } from '../errors.js';
import type { JarSaver } from '../pool/pool.js';
import { startWorker } from '../worker.js';
import type { ThreadLock } from './write-lock.js';

interface Pending {
  name: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Saves session jars from a worker thread. Every rotated token is committed with
 * synchronous=FULL before the session sends its next request, and each commit waits for an fsync
 * (about 5 ms here); done on the main thread, those waits block every other session, the
 * heartbeats and the HTTP parsing. The worker keeps its own connection to the same WAL database.
 * A thread that dies fails the saves it held (their sessions save again before their next
 * request) and is replaced, so one crash does not leave every session unable to save for weeks.
 */
export class JarWriter implements JarSaver {
  private worker!: Worker;
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly inflight = new Set<Promise<void>>();
  private closing = false;
  /** Threads started so far, replacements included. */
  started = 0;

  /** `lock` is the one the main thread's store uses, so the two threads take turns writing. */
  constructor(
    private readonly dbPath: string,
    private readonly lock: ThreadLock,
  ) {
    this.spawn();
  }

  private spawn(): void {
    const worker = startWorker(import.meta.url, 'jar-writer-worker', { dbPath: this.dbPath, lock: this.lock.shared });
    this.worker = worker;
    this.started++;
    worker.on('message', (m: { id: number; error?: string; superseded?: boolean }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(`saving a session's cookies failed: ${m.error}`));
      else if (m.superseded) p.reject(new SupersededJarError(p.name));
      else p.resolve();
    });
    let failed: Error | undefined;
    worker.on('error', (err) => (failed = err));
    worker.on('exit', (code) => {
      const err = new Error(`the cookie-saving thread stopped (${failed ? failed.message : `exit ${code}`})`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (!this.closing) this.spawn();
    });
  }

  /** Saves `jarJson` for session `name`, only while its row still holds `expected` (when given). */
  save(name: string, jarJson: string, tokenExpiresAt: number | undefined, expected: string | undefined): Promise<void> {
    if (this.closing) return Promise.reject(new Error('the cookie-saving thread is closed'));
    const id = this.next++;
    const done = new Promise<void>((resolve, reject) => {
      this.pending.set(id, { name, resolve, reject });
      this.worker.postMessage({ id, name, jarJson, tokenExpiresAt, expected });
    });
    this.inflight.add(done);
    const forget = () => this.inflight.delete(done);
    done.then(forget, forget);
    return done;
  }

  /** Stops one thread as if it had crashed: for tests of the replacement. */
  async crashOne(): Promise<void> {
    await this.worker.terminate();
  }

  /** Waits for every save in flight, then stops the thread. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    this.closing = true;
    await this.worker.terminate();
  }
}
