import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { BookdError, type ErrorKind } from '../errors.js';
import { startWorker } from '../worker.js';
import { buildFromChapters, type FromChaptersInput } from './from-chapters.js';
import { buildFromPackage, type FromPackageInput } from './from-package.js';
import type { Format } from './model.js';
import { writeEpub } from './zip.js';

/** A book's fetched material, ready to be built in either format. */
export type BookSource =
  | { mode: 'package'; input: Omit<FromPackageInput, 'format'> }
  | { mode: 'chapters'; input: Omit<FromChaptersInput, 'format'> };

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

export async function buildAndWrite(source: BookSource, format: Format, file: string): Promise<Written> {
  const build = source.mode === 'package' ? buildFromPackage({ ...source.input, format }) : buildFromChapters({ ...source.input, format });
  const { bytes, sha256 } = await writeEpub(build, file);
  return { gaps: build.gaps, chapters: build.chapters, bytes, sha256 };
}

/** Builds on the calling thread: for tests and one-off use. */
export const inlineBuilder: EpubBuilder = { write: buildAndWrite, close: async () => {} };

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

interface Pending {
  resolve: (w: Written) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
  pending: Map<number, Pending>;
}

/**
 * Builds in worker threads. A build is a third of a second of solid CPU for a 4 MB book; on the
 * main thread it would stall every session's next request for that long, and with 16 sessions
 * the event loop spent most of its time building instead of downloading. A thread that dies
 * fails the builds it held (their jobs retry) and is replaced, so a daemon running for weeks
 * never posts work to a dead thread.
 */
export class ThreadBuilder implements EpubBuilder {
  private readonly slots: Slot[] = [];
  private next = 1;
  private closing = false;
  /** Threads started so far, replacements included. */
  started = 0;

  constructor(threads = Math.max(1, Math.min(4, availableParallelism() - 1))) {
    for (let i = 0; i < threads; i++) this.spawn(i);
  }

  private spawn(index: number): void {
    const worker = startWorker(import.meta.url, 'build-worker', null);
    const slot: Slot = { worker, busy: 0, pending: new Map() };
    this.slots[index] = slot;
    this.started++;
    worker.on('message', (m: { id: number; result?: Written; error?: WireError }) => {
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      slot.busy--;
      if (m.error) p.reject(fromWire(m.error));
      else p.resolve(m.result!);
    });
    let failed: Error | undefined;
    worker.on('error', (err) => (failed = err));
    worker.on('exit', (code) => {
      const err = new BookdError('transient', `the EPUB build thread stopped (${failed ? failed.message : `exit ${code}`}); the book will be retried`);
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
      if (!this.closing) this.spawn(index);
    });
  }

  write(source: BookSource, format: Format, file: string): Promise<Written> {
    if (this.closing) return Promise.reject(new Error('the EPUB builder is closed'));
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.next++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, source, format, file });
    });
  }

  /** Stops one thread as if it had crashed: for tests of the replacement. */
  async crashOne(): Promise<void> {
    await this.slots[0]!.worker.terminate();
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }
}
