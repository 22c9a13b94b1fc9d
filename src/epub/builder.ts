import { availableParallelism } from 'node:os';
import { DEFAULT_TUNING, type Tuning } from '../config.js';
import { BookdError, type ErrorKind } from '../errors.js';
import { ThreadRpc, type Reply } from '../thread/rpc.js';
import { startWorker } from '../worker.js';
import type { FromChaptersInput } from './from-chapters.js';
import type { FromPackageInput } from './from-package.js';
import type { Format } from './model.js';

/** A book's fetched material, ready to be built in either format. */
export type BookSource = { mode: 'package'; input: Omit<FromPackageInput, 'format'> } | { mode: 'chapters'; input: Omit<FromChaptersInput, 'format'> };

export interface Written {
  gaps: string[];
  chapters: number;
  bytes: number;
  sha256: string;
}

/** Builds an EPUB from a book's material and writes it (fsynced) to `file`. */
export interface EpubBuilder {
  write(source: BookSource, format: Format, file: string): Promise<Written>;
  close(): Promise<void>;
}

/**
 * Builds on the calling thread: for tests and one-off use. The builders are loaded on first use:
 * the daemon's main thread never builds (measured: about 4 MB resident it does not load; most of
 * what they import, the rest of the daemon loads anyway).
 */
export const inlineBuilder: EpubBuilder = {
  write: async (source, format, file) => (await import('./build.js')).buildAndWrite(source, format, file),
  close: async () => {},
};

/** An error as it crosses from the build thread: its class and errno code survive. */
export interface WireError {
  message: string;
  kind?: ErrorKind;
  status?: number;
  code?: string;
}

export function toWire(err: unknown): WireError {
  const e = err as Partial<BookdError> & { code?: unknown };
  return {
    message: err instanceof Error ? err.message : String(err),
    ...(err instanceof BookdError ? { kind: err.kind, ...(err.status !== undefined && { status: err.status }) } : {}),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
  };
}

function fromWire(w: WireError): Error {
  if (w.kind) return new BookdError(w.kind, w.message, w.status === undefined ? {} : { status: w.status });
  return Object.assign(new Error(w.message), w.code ? { code: w.code } : {});
}

/** The build thread's answer to one build (src/epub/build-worker.ts). */
interface BuildReply extends Reply {
  result?: Written;
  error?: WireError;
}

/** A build stopped for needing more heap than the lean thread's cap: it is built again without it. */
class HeapExceeded extends BookdError {}

/**
 * Builds in worker threads. A build is a third of a second of solid CPU for a 4 MB book; on the
 * main thread it would stall every session's next request for that long, and with 16 sessions
 * the event loop spent most of its time building instead of downloading. A thread that dies
 * fails the builds it held (their jobs retry) and is replaced, so a daemon running for weeks
 * never posts work to a dead thread.
 */
export class ThreadBuilder implements EpubBuilder {
  private readonly threads: ThreadRpc[] = [];
  /** Without the old-generation cap: started only for a book that ran out of it. */
  private readonly roomy: ThreadRpc;
  /** Books built again on the roomy thread after running out of the cap. */
  rebuilt = 0;

  constructor(threads = Math.max(1, Math.min(4, availableParallelism() - 1)), tuning: Tuning['threads'] = DEFAULT_TUNING.threads) {
    const thread = (oldGenerationMb: number | undefined) =>
      new ThreadRpc({
        start: () => startWorker(import.meta.url, 'build-worker', null, { youngGenerationMb: tuning.youngGenerationMb, oldGenerationMb }),
        idleMs: tuning.buildIdleMs,
        stopped: (why, outOfMemory) =>
          outOfMemory && oldGenerationMb !== undefined
            ? new HeapExceeded('transient', `the EPUB build needed more than the build thread's ${oldGenerationMb} MB heap`)
            : new BookdError('transient', `the EPUB build thread stopped (${why}); the book will be retried`),
        closed: () => new Error('the EPUB builder is closed'),
      });
    for (let i = 0; i < threads; i++) this.threads.push(thread(tuning.buildOldGenerationMb));
    this.roomy = thread(undefined);
  }

  /** Threads started so far, replacements included. */
  get started(): number {
    return this.threads.reduce((n, t) => n + t.started, this.roomy.started);
  }

  async write(source: BookSource, format: Format, file: string): Promise<Written> {
    const thread = this.threads.reduce((a, b) => (b.load < a.load ? b : a));
    const message = { source, format, file };
    const m = await thread.call<BuildReply>(message).catch(async (err: unknown) => {
      // Every build the capped thread held when it ran out fails this way, not only the big one;
      // each is built again where the heap may grow (the output does not depend on the thread).
      if (!(err instanceof HeapExceeded)) throw err;
      this.rebuilt++;
      return this.roomy.call<BuildReply>(message);
    });
    if (m.error) throw fromWire(m.error);
    return m.result!;
  }

  /** Stops one thread as if it had crashed: for tests of the replacement. */
  async crashOne(): Promise<void> {
    await this.threads[0]!.crash();
  }

  async close(): Promise<void> {
    await Promise.all([...this.threads, this.roomy].map((t) => t.close()));
  }
}
