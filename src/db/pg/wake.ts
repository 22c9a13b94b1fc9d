import pg from 'pg';
import { systemClock, type Clock } from '../../clock.js';
import { errorMessage } from '../../errors.js';

/** What the job store NOTIFYs when a job becomes claimable now (enqueued, released, retried, reaped). */
export const JOBS_CHANNEL = 'bookd_jobs';

export type WakeReason = 'notified' | 'timeout' | 'aborted' | 'reconnected';

export interface JobWaiter {
  /** How many notifications (and reconnects) were seen so far: take it before claiming, pass it to wait. */
  seen(): number;
  /**
   * Resolves when a notification comes (at once if one came after `since`), after `pollMs` (the
   * fallback: a notification lost while the connection was down is covered by polling), or when
   * `signal` aborts.
   */
  wait(pollMs: number, opts?: { since?: number; signal?: AbortSignal }): Promise<WakeReason>;
  /** Whether the listening connection is up (it reconnects by itself). */
  listening(): boolean;
  close(): Promise<void>;
}

export interface JobWaiterOptions {
  channel?: string;
  clock?: Clock;
  /** The listening connection broke or could not reconnect (logged by the caller; never the password). */
  onError?: (message: string) => void;
  /** First and longest pause between reconnect attempts (default 250 ms and 10 s). */
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
}

/**
 * Wakes idle workers as soon as a job is enqueued or released anywhere on the store, through one
 * LISTEN connection of its own (outside the pool: a pooled connection would be handed to others).
 * When that connection drops it is opened again with backoff, and waiters are woken on reconnect
 * since notifications sent meanwhile were lost.
 */
export async function jobWaiter(config: pg.ClientConfig, opts: JobWaiterOptions = {}): Promise<JobWaiter> {
  const channel = opts.channel ?? JOBS_CHANNEL;
  const clock = opts.clock ?? systemClock;
  const baseMs = opts.reconnectBaseMs ?? 250;
  const capMs = opts.reconnectCapMs ?? 10_000;
  let count = 0;
  let client: pg.Client | undefined;
  let closed = false;
  const stop = new AbortController();
  const wakers = new Set<(reason: WakeReason) => void>();

  const wakeAll = (reason: WakeReason) => {
    count++;
    for (const w of [...wakers]) w(reason);
  };

  async function open(): Promise<pg.Client> {
    const c = new pg.Client(config);
    c.on('notification', (msg) => {
      if (msg.channel === channel) wakeAll('notified');
    });
    c.on('error', (err) => {
      opts.onError?.(`the store's LISTEN connection failed: ${errorMessage(err)}`);
      lost(c);
    });
    c.on('end', () => lost(c));
    await c.connect();
    await c.query(`LISTEN ${c.escapeIdentifier(channel)}`);
    return c;
  }

  function lost(c: pg.Client): void {
    if (client !== c) return;
    client = undefined;
    c.end().catch(() => undefined);
    if (!closed) void reconnect();
  }

  async function reconnect(): Promise<void> {
    for (let attempt = 0; !closed; attempt++) {
      await clock.sleep(Math.min(capMs, baseMs * 2 ** attempt), stop.signal);
      if (closed) return;
      try {
        const c = await open();
        if (closed) {
          await c.end().catch(() => undefined);
          return;
        }
        client = c;
        wakeAll('reconnected');
        return;
      } catch (err) {
        opts.onError?.(`cannot listen on the store again (${errorMessage(err)}); retrying, polling meanwhile`);
      }
    }
  }

  client = await open();

  return {
    seen: () => count,
    listening: () => client !== undefined,
    wait(pollMs, { since, signal } = {}) {
      if (since !== undefined && count > since) return Promise.resolve('notified');
      if (signal?.aborted) return Promise.resolve('aborted');
      return new Promise<WakeReason>((resolve) => {
        const timer = new AbortController();
        const done = (reason: WakeReason) => {
          wakers.delete(done);
          signal?.removeEventListener('abort', onAbort);
          timer.abort();
          resolve(reason);
        };
        const onAbort = () => done('aborted');
        wakers.add(done);
        signal?.addEventListener('abort', onAbort, { once: true });
        void clock.sleep(pollMs, timer.signal).then(() => {
          if (wakers.has(done)) done('timeout');
        });
      });
    },
    async close() {
      closed = true;
      stop.abort();
      for (const w of [...wakers]) w('aborted');
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
