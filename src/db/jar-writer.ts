import { SupersededJarError } from '../errors.js';
import { ThreadRpc, type Reply } from '../thread/rpc.js';
import type { JarSaver } from '../pool/pool.js';
import { startWorker } from '../worker.js';
import type { ThreadLock } from './write-lock.js';

/** The jar thread's answer to one save (src/db/jar-writer-worker.ts). */
interface SaveReply extends Reply {
  error?: string;
  superseded?: boolean;
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
  private readonly rpc: ThreadRpc;

  /** `lock` is the one the main thread's store uses, so the two threads take turns writing. */
  constructor(dbPath: string, lock: ThreadLock, youngGenerationMb?: number) {
    this.rpc = new ThreadRpc({
      start: () => startWorker(import.meta.url, 'jar-writer-worker', { dbPath, lock: lock.shared }, { youngGenerationMb }),
      stopped: (why) => new Error(`the cookie-saving thread stopped (${why})`),
      closed: () => new Error('the cookie-saving thread is closed'),
    });
  }

  /** Threads started so far, replacements included. */
  get started(): number {
    return this.rpc.started;
  }

  /** Saves `jarJson` for session `name`, only while its row still holds `expected` (when given). */
  async save(name: string, jarJson: string, tokenExpiresAt: number | undefined, expected: string | undefined): Promise<void> {
    const m = await this.rpc.call<SaveReply>({ name, jarJson, tokenExpiresAt, expected });
    if (m.error) throw new Error(`saving a session's cookies failed: ${m.error}`);
    if (m.superseded) throw new SupersededJarError(name);
  }

  /** Stops one thread as if it had crashed: for tests of the replacement. */
  async crashOne(): Promise<void> {
    await this.rpc.crash();
  }

  /** Waits for every save in flight, then stops the thread. */
  async close(): Promise<void> {
    await this.rpc.idle();
    await this.rpc.close();
  }
}
