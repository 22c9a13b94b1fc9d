import type { Clock } from '../clock.js';
import type { BudgetSettings } from '../config.js';

export interface BudgetState {
  /** Requests per second for the whole machine. */
  rate: number;
  /** Why it last moved, one sentence for the operator. */
  reason: string;
  changedAt: number;
  ceiling: number;
  floor: number;
  /** How many daemons on this machine split the rate (each paces at rate / share). */
  share: number;
}

export type BudgetMove = 'cut' | 'rise' | 'adopt';

interface Waiter {
  resolve: (grantedAt: number) => void;
  reject: (err: unknown) => void;
}

/** Each rise adds this share of the ceiling: from the default start to the ceiling in ten steps. */
const RISE_SHARE = 0.05;

/**
 * One request budget for every session of a machine (docs/SERVICE.md §4). The service guards bulk
 * access per address, so sessions pacing themselves are not enough: all of them take turns on
 * this gate, FIFO, spaced `1/rate` apart with a little jitter. The rate creeps up toward the
 * ceiling while the service sends no throttle signal and halves on each one, never below the
 * floor; requests already in flight when it was cut do not cut it again.
 */
export class MachineBudget {
  private rate: number;
  private reason = 'starting value';
  private changedAt: number;
  /** The last throttle signal or cut; rises are counted from the later of it and the last rise. */
  private quietSince: number;
  private lastCutAt = -Infinity;
  private share = 1;
  private lastGrantAt = -Infinity;
  private gapFactor = 1;
  private readonly queue: Waiter[] = [];
  private pumping = false;

  constructor(
    private readonly clock: Clock,
    private readonly settings: BudgetSettings,
    private readonly onMove: (move: BudgetMove, state: BudgetState) => void = () => {},
    private readonly random: () => number = Math.random,
  ) {
    this.rate = settings.start;
    this.changedAt = clock.now();
    this.quietSince = this.changedAt;
  }

  state(): BudgetState {
    this.rise(this.clock.now());
    return { rate: this.rate, reason: this.reason, changedAt: this.changedAt, ceiling: this.settings.ceiling, floor: this.settings.floor, share: this.share };
  }

  /** Waits for this machine's next request slot; resolves with the moment it was granted. */
  wait(signal?: AbortSignal): Promise<number> {
    signal?.throwIfAborted();
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (at) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(at);
        },
        reject,
      };
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      void this.pump();
    });
  }

  /**
   * A throttle signal (a sample, an origin 403 while the probe passes, a 429) for a request sent
   * at `sentAt`: halves the rate unless the rate was already cut after that request went out.
   * Returns whether it cut.
   */
  cut(why: string, sentAt: number = this.clock.now()): boolean {
    const now = this.clock.now();
    this.quietSince = now;
    if (sentAt < this.lastCutAt) return false;
    const next = Math.max(this.settings.floor, this.rate / 2);
    this.lastCutAt = now;
    if (next === this.rate) return false;
    this.set(next, `halved to ${fmt(next)} req/s: ${why}`, now);
    this.onMove('cut', this.state());
    return true;
  }

  /** Takes a rate another daemon of this machine decided (the shared row), if it is newer. */
  adopt(rate: number, reason: string, changedAt: number): void {
    if (changedAt <= this.changedAt || !(rate > 0)) return;
    const clamped = Math.min(this.settings.ceiling, Math.max(this.settings.floor, rate));
    if (clamped < this.rate) this.lastCutAt = Math.max(this.lastCutAt, changedAt);
    this.quietSince = Math.max(this.quietSince, changedAt);
    this.rate = clamped;
    this.reason = reason;
    this.changedAt = changedAt;
    this.onMove('adopt', this.state());
  }

  /** Starts from the rate the machine last had (the shared row), so a restart stays polite. */
  resume(rate: number, reason: string, changedAt: number): void {
    if (!(rate > 0)) return;
    this.rate = Math.min(this.settings.ceiling, Math.max(this.settings.floor, rate));
    this.reason = reason;
    this.changedAt = Math.max(changedAt, this.changedAt);
    this.quietSince = this.clock.now();
  }

  /** How many daemons on this machine split the rate. */
  setShare(n: number): void {
    this.share = Math.max(1, Math.floor(n));
  }

  private set(rate: number, reason: string, at: number): void {
    this.rate = rate;
    this.reason = reason;
    this.changedAt = at;
  }

  /** Small steps up for every `riseMs` without a throttle signal. */
  private rise(now: number): void {
    const { ceiling, riseMs } = this.settings;
    let moved = false;
    while (this.rate < ceiling && now - this.quietSince >= riseMs) {
      this.quietSince += riseMs;
      this.set(Math.min(ceiling, this.rate + Math.max(0.05, ceiling * RISE_SHARE)), '', this.quietSince);
      moved = true;
    }
    if (moved) {
      this.reason =
        this.rate >= ceiling
          ? `at its ceiling of ${fmt(ceiling)} req/s: no throttle signal since the last change`
          : `rising toward ${fmt(ceiling)} req/s: no throttle signal for ${Math.round(riseMs / 1000)} s`;
      this.onMove('rise', { rate: this.rate, reason: this.reason, changedAt: this.changedAt, ceiling, floor: this.settings.floor, share: this.share });
    }
  }

  private gapMs(now: number): number {
    this.rise(now);
    return ((1000 * this.share) / this.rate) * this.gapFactor;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const now = this.clock.now();
        const gap = this.gapMs(now);
        // Below a millisecond there is nothing a timer could space out: a budget that high is no limit.
        const due = gap < 1 ? now : this.lastGrantAt + gap;
        if (now < due) {
          // Woken at the old due time after a cut, the loop computes the longer gap and waits again.
          await this.clock.sleep(due - now);
          continue;
        }
        const waiter = this.queue.shift()!;
        this.lastGrantAt = now;
        // ±10 % so the machine's requests do not tick like a metronome (docs/SERVICE.md §4: jittered gaps).
        this.gapFactor = 0.9 + 0.2 * this.random();
        waiter.resolve(now);
      }
    } finally {
      this.pumping = false;
    }
  }
}

function fmt(rate: number): string {
  return rate >= 10 ? rate.toFixed(0) : rate.toFixed(2).replace(/\.?0+$/, '');
}
