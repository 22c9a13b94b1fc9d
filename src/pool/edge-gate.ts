import type { Clock } from '../clock.js';
import type { EdgeBackoff } from '../config.js';

export type { EdgeBackoff } from '../config.js';

/**
 * The edge (Akamai) throttles by IP, not by session: when it refuses one session every session on
 * this machine waits, for longer each time it happens again before a request gets through.
 */
export class EdgeGate {
  private until = 0;
  private strikes = 0;

  constructor(
    private readonly clock: Clock,
    private readonly backoff: EdgeBackoff,
  ) {}

  /**
   * Records a refusal; returns when requests may resume. Refusals of requests that were already
   * in flight when the pause began are the same episode and do not lengthen it.
   */
  block(): number {
    if (this.clock.now() < this.until) return this.until;
    this.strikes++;
    const delay = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** (this.strikes - 1));
    this.until = Math.max(this.until, this.clock.now() + delay);
    return this.until;
  }

  /** A request got through: the next refusal starts the backoff from the beginning. */
  passed(): void {
    if (this.clock.now() >= this.until) this.strikes = 0;
  }

  /** Refusals in the current episode. */
  get strikeCount(): number {
    return this.strikes;
  }

  /** Takes a pause another daemon of this machine met (the shared budget row). */
  adopt(until: number, strikes: number): void {
    if (until <= this.until) return;
    this.until = until;
    this.strikes = Math.max(this.strikes, strikes);
  }

  blockedUntil(): number | undefined {
    return this.clock.now() < this.until ? this.until : undefined;
  }

  async wait(signal?: AbortSignal): Promise<void> {
    for (let now = this.clock.now(); now < this.until && !signal?.aborted; now = this.clock.now()) {
      await this.clock.sleep(this.until - now, signal);
    }
    signal?.throwIfAborted();
  }
}
