import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';

/** How one try of a delivery ended. Failures are values: only `retry` says whether another try can help. */
export type DeliveryResult = { ok: true } | { ok: false; retry: boolean; why: string };

export interface Delivery {
  /** For log lines: the event and where it goes (an origin, never a whole URL). */
  label: string;
  attempt(): Promise<DeliveryResult>;
}

export interface DeliveryQueueOptions {
  clock: Clock;
  /** Tries per delivery, the first included. */
  attempts: number;
  /** The wait before the second try; each further one doubles it, up to `retryCapMs` (half of it jittered). */
  retryBaseMs: number;
  retryCapMs: number;
  /** Deliveries waiting, retrying or in flight at most; past it the oldest waiting one is dropped. */
  maxQueued: number;
  /** Tries running at once. */
  concurrency: number;
  random?: () => number;
  /** A delivery that failed for good (tries used up, or a failure another try cannot mend). */
  onGiveUp(label: string, why: string, tries: number): void;
  /** A delivery dropped because the queue was full, or still queued when it closed. */
  onDrop(label: string, why: 'full' | 'closing'): void;
}

export interface DeliveryQueue {
  /** Never waits and never throws: the caller (an event listener) goes on at once. */
  push(d: Delivery): void;
  /** Deliveries not finished yet (waiting, retrying, in flight). */
  size(): number;
  /** Resolves once nothing is left, or after `ms`, whichever is first. */
  flush(ms: number): Promise<void>;
  /** Drops what is still waiting (each reported to onDrop) and stops; tries in flight run out on their own. */
  close(): void;
}

interface Item {
  d: Delivery;
  tries: number;
  due: number;
  seq: number;
}

/** The wait after the `tries`-th failed try: base × 2^(tries−1), capped, the upper half of it random. */
export function retryDelay(tries: number, baseMs: number, capMs: number, random: () => number): number {
  const full = Math.min(capMs, baseMs * 2 ** Math.max(0, tries - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}

/**
 * A bounded queue of deliveries with retries and backoff, run in the background. A retry waiting
 * for its turn holds no slot, so one dead receiver cannot hold up the others.
 */
export function createDeliveryQueue(o: DeliveryQueueOptions): DeliveryQueue {
  const random = o.random ?? Math.random;
  const waiting: Item[] = [];
  let active = 0;
  let seq = 0;
  let closed = false;
  let looping = false;
  let wake = new AbortController();
  let idle: (() => void)[] = [];

  const poke = () => wake.abort();
  const settleIdle = () => {
    if (waiting.length > 0 || active > 0) return;
    for (const f of idle.splice(0)) f();
  };

  async function run(item: Item): Promise<void> {
    item.tries++;
    const result: DeliveryResult = await item.d.attempt().catch((err: unknown) => ({ ok: false, retry: true, why: errorMessage(err) }));
    active--;
    if (!result.ok) {
      if (result.retry && item.tries < o.attempts && !closed) {
        item.due = o.clock.now() + retryDelay(item.tries, o.retryBaseMs, o.retryCapMs, random);
        waiting.push(item);
      } else {
        o.onGiveUp(item.d.label, result.why, item.tries);
      }
    }
    settleIdle();
    poke();
  }

  async function loop(): Promise<void> {
    looping = true;
    try {
      while (!closed && (waiting.length > 0 || active > 0)) {
        const now = o.clock.now();
        while (active < o.concurrency) {
          let pick = -1;
          for (let i = 0; i < waiting.length; i++) if (waiting[i]!.due <= now && (pick < 0 || waiting[i]!.seq < waiting[pick]!.seq)) pick = i;
          if (pick < 0) break;
          const [item] = waiting.splice(pick, 1);
          active++;
          void run(item!);
        }
        const next = active < o.concurrency && waiting.length > 0 ? Math.min(...waiting.map((w) => w.due)) - now : undefined;
        wake = new AbortController();
        // Nothing due and every slot busy: sleep until a try ends (it pokes), at most a minute at a time.
        await o.clock.sleep(next === undefined ? 60_000 : Math.max(0, next), wake.signal);
      }
    } finally {
      looping = false;
    }
  }

  return {
    push(d) {
      if (closed) return o.onDrop(d.label, 'closing');
      if (waiting.length + active >= o.maxQueued) {
        if (waiting.length === 0) return o.onDrop(d.label, 'full');
        let oldest = 0;
        for (let i = 1; i < waiting.length; i++) if (waiting[i]!.seq < waiting[oldest]!.seq) oldest = i;
        o.onDrop(waiting.splice(oldest, 1)[0]!.d.label, 'full');
      }
      waiting.push({ d, tries: 0, due: o.clock.now(), seq: seq++ });
      if (looping) poke();
      else void loop();
    },
    size: () => waiting.length + active,
    async flush(ms) {
      if (waiting.length === 0 && active === 0) return;
      const stop = new AbortController();
      await Promise.race([new Promise<void>((resolve) => idle.push(resolve)), o.clock.sleep(ms, stop.signal)]);
      stop.abort();
      idle = [];
    },
    close() {
      closed = true;
      for (const item of waiting.splice(0)) o.onDrop(item.d.label, 'closing');
      poke();
      for (const f of idle.splice(0)) f();
    },
  };
}
