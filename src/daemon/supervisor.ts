import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';

/** One periodic duty of the daemon (docs/ARCHITECTURE.md, "Modules"): reap, upkeep, beat, … */
export interface Duty {
  name: string;
  periodMs: number;
  /** Due at the first tick rather than one period after the start. */
  atStart?: boolean;
  /**
   * A duty that returns a promise runs in the background: the tick does not wait for it, and it
   * is not started again before it settles.
   */
  run(): void | Promise<void>;
}

export interface Supervisor {
  /** Starts the one timer; the first tick comes `tickMs` later. */
  start(): void;
  /** One round over the duties (what the timer calls; tests call it directly). */
  tick(): void;
  /**
   * When a tick last completed: every duty it found due ran without throwing (creation counts as
   * one). /healthz and the watchdog ping measure the supervisor by this, not by a timer of their own.
   */
  lastTickAt(): number;
  /** Stops the timer and waits for the duties still running. */
  stop(): Promise<void>;
}

export interface SupervisorDeps {
  clock: Clock;
  logger: Logger;
  tickMs: number;
}

/**
 * Runs every duty every `periodMs` from a single timer. A duty that fails is logged with its
 * name and tried again at its next period; the others go on. No duty ever runs twice at once.
 */
export function createSupervisor(duties: readonly Duty[], deps: SupervisorDeps): Supervisor {
  const { clock, logger } = deps;
  const created = clock.now();
  const state = duties.map((duty) => ({ duty, lastRun: duty.atStart ? -Infinity : created, running: undefined as Promise<void> | undefined }));
  let lastTick = created;
  let timer: NodeJS.Timeout | undefined;

  const failed = (name: string, err: unknown) => logger.error({ duty: name, err: errorMessage(err) }, `supervisor duty ${name} failed`);

  function tick(): void {
    let clean = true;
    for (const d of state) {
      const now = clock.now();
      if (d.running || now - d.lastRun < d.duty.periodMs) continue;
      d.lastRun = now;
      try {
        const result = d.duty.run();
        if (result) {
          d.running = result
            .catch((err: unknown) => failed(d.duty.name, err))
            .finally(() => {
              d.running = undefined;
            });
        }
      } catch (err) {
        clean = false;
        failed(d.duty.name, err);
      }
    }
    if (clean) lastTick = clock.now();
  }

  return {
    start() {
      if (timer) return;
      // Periods count from the start, not from when the duties were registered.
      const now = clock.now();
      for (const d of state) if (!d.duty.atStart) d.lastRun = now;
      lastTick = now;
      timer = setInterval(tick, deps.tickMs);
      timer.unref();
    },
    tick,
    lastTickAt: () => lastTick,
    async stop() {
      clearInterval(timer);
      await Promise.all(state.flatMap((d) => (d.running ? [d.running] : [])));
    },
  };
}
