import type { Clock } from '../clock.js';

/**
 * One session's politeness: consecutive requests start at least `intervalMs` apart, plus up to 10 %
 * random jitter so several sessions behind one IP do not fire in lockstep.
 */
export class Pacer {
  private nextAt = 0;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  async wait(signal?: AbortSignal): Promise<void> {
    const now = this.clock.now();
    if (now < this.nextAt) await this.clock.sleep(this.nextAt - now, signal);
    signal?.throwIfAborted();
    this.nextAt = this.clock.now() + this.intervalMs + this.random() * 0.1 * this.intervalMs;
  }
}
