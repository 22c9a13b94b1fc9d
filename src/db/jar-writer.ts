import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker.js';
import type { ThreadLock } from './write-lock.js';

/**
 * Saves session jars from a worker thread. Every rotated token is committed with
 * synchronous=FULL before the session sends its next request, and each commit waits for an fsync
 * (about 5 ms here); done on the main thread, those waits block every other session, the
 * heartbeats and the HTTP parsing. The worker keeps its own connection to the same WAL database.
 */
export class JarWriter {
  private readonly worker: Worker;
  private next = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private readonly inflight = new Set<Promise<void>>();
  private failed: Error | undefined;

  /** `lock` is the one the main thread's store uses, so the two threads take turns writing. */
  constructor(dbPath: string, lock: ThreadLock) {
    this.worker = startWorker(import.meta.url, 'jar-writer-worker', { dbPath, lock: lock.shared });
    this.worker.on('message', (m: { id: number; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(`saving a session's cookies failed: ${m.error}`));
      else p.resolve();
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the cookie-saving thread stopped (exit ${code})`)));
  }

  save(name: string, jarJson: string, tokenExpiresAt: number | undefined): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    const done = new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, name, jarJson, tokenExpiresAt });
    });
    this.inflight.add(done);
    const forget = () => this.inflight.delete(done);
    done.then(forget, forget);
    return done;
  }

  /** Waits for every save in flight, then stops the thread. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
