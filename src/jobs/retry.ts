import type { Clock } from '../clock.js';
import type { Tuning } from '../config.js';
import type { JobContext } from '../daemon/daemon.js';
import { BookdError } from '../errors.js';
import type { Logger } from '../log.js';
import type { MachineBudget } from '../pool/budget.js';
import type { Session } from '../pool/session.js';

/** Transient failures (a 5xx, a reset, a short body) are retried this many times in place. */
const TRANSIENT_TRIES = 3;
/** Throttled answers are retried after 1, 2, 4, 8 backoff units (docs/SERVICE.md §3, §4). */
const THROTTLE_STEPS = [1, 2, 4, 8];

export interface RetryOptions {
  clock: Clock;
  /** The backoff unit (`retryBaseMs`): transient retries after 1×, 2×; throttled after 1×, 2×, 4×, 8×. */
  baseMs: number;
  /** A probe that passed is trusted for this long (`tuning.retry.probeFreshMs`). */
  probeFreshMs: number;
  signal?: AbortSignal | undefined;
  /** With a session, throttling is told apart from a session fault by its probe. */
  session?: Session | undefined;
  /** Every throttle signal halves this machine's budget. */
  budget?: MachineBudget | undefined;
  /** A book the probe may confirm the session with. */
  bookId?: string | undefined;
  logger?: Logger | undefined;
  random?: () => number;
}

/** A job's requests, retried in place (see `retrying`), and the probe that judges its session. */
export interface Retrying {
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Whether the session is still logged in (its probe, asked at most once a minute). */
  sessionOk(): Promise<boolean>;
}

/**
 * A job's requests with the daemon's retry settings, on the job's session and signal: what the
 * book and discover handlers both retry through.
 */
export function jobRetrying(
  deps: { clock: Clock; config: { tuning: Pick<Tuning, 'retry'> }; budget?: MachineBudget | undefined },
  ctx: Pick<JobContext, 'session' | 'signal' | 'logger'>,
  bookId?: string,
): Retrying {
  return retrying({
    clock: deps.clock,
    baseMs: deps.config.tuning.retry.requestBaseMs,
    probeFreshMs: deps.config.tuning.retry.probeFreshMs,
    signal: ctx.signal,
    session: ctx.session,
    budget: deps.budget,
    bookId,
    logger: ctx.logger,
  });
}

/**
 * The one retry policy for a job's requests. A transient failure costs a second, not a whole job
 * attempt with its long backoff. Throttling (a sample, or an origin 403 while the session's probe
 * passes) slows the whole machine and is retried after 1, 2, 4, 8 units on the same session; only
 * when the probe fails too is the session blamed (an `auth` error). Anything else propagates at once.
 */
export function retrying(opts: RetryOptions): Retrying {
  const random = opts.random ?? Math.random;
  let probedOkAt = -Infinity;

  /** Whether the session is still logged in; asked at most once a minute per job. */
  const sessionOk = async (): Promise<boolean> => {
    if (!opts.session) return true;
    if (opts.clock.now() - probedOkAt < opts.probeFreshMs) return true;
    try {
      const result = await opts.session.probe({ signal: opts.signal, bookId: opts.bookId });
      if (result.status !== 'ok') return false;
      probedOkAt = opts.clock.now();
      return true;
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      // A probe that could not be made (a network error) proves nothing against the session.
      return !(err instanceof BookdError && err.kind === 'auth');
    }
  };

  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    let transient = 0;
    let throttled = 0;
    for (;;) {
      try {
        return await fn();
      } catch (caught) {
        if (!(caught instanceof BookdError) || opts.signal?.aborted) throw caught;
        let err: BookdError = caught;
        if (err.kind === 'transient' && ++transient < TRANSIENT_TRIES) {
          await opts.clock.sleep(opts.baseMs * 2 ** (transient - 1), opts.signal);
          continue;
        }
        // An origin 403 (not the edge's) for a session whose probe passes is this IP being
        // throttled (docs/SERVICE.md §3), not the session's fault.
        if (err.kind === 'auth' && err.status === 403 && !err.edge) {
          if (!(await sessionOk())) throw err;
          err = new BookdError(
            'throttled',
            `the origin answered 403 for ${err.url ?? 'a request'} although the session is logged in: the service is throttling this machine`,
            { status: 403, url: err.url, cause: err },
          );
        }
        if (err.kind !== 'throttled') throw err;
        opts.budget?.cut(err.message, opts.session?.lastSentAt);
        if (throttled < THROTTLE_STEPS.length) {
          const delay = opts.baseMs * THROTTLE_STEPS[throttled]! * (0.75 + 0.5 * random());
          throttled++;
          opts.logger?.debug({ err: err.message, retryInMs: Math.round(delay) }, 'throttled: trying the same request again later');
          await opts.clock.sleep(delay, opts.signal);
          continue;
        }
        if (!(await sessionOk())) {
          throw new BookdError('auth', `${err.message}; the session's probe fails too, so the session is not accepted`, { cause: err });
        }
        throw err;
      }
    }
  };
  return { run, sessionOk };
}

/** `retrying` without a session or budget: transient retries only, for callers outside a job. */
export function withRetries<T>(fn: () => Promise<T>, opts: { clock: Clock; baseMs: number; signal?: AbortSignal }): Promise<T> {
  // Without a session there is no probe: its freshness is never asked.
  return retrying({ clock: opts.clock, baseMs: opts.baseMs, probeFreshMs: Infinity, signal: opts.signal }).run(fn);
}
