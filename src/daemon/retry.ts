import type { Clock } from '../clock.js';
import { BookdError } from '../errors.js';

/**
 * Retries one request a few times when it failed transiently (a 5xx, a reset, a short body), so
 * a flaky response costs a second, not a whole job attempt with its long backoff.
 */
export async function withRetries<T>(fn: () => Promise<T>, opts: { clock: Clock; tries?: number; baseMs?: number; signal?: AbortSignal }): Promise<T> {
  const tries = opts.tries ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof BookdError) || err.kind !== 'transient' || attempt >= tries || opts.signal?.aborted) throw err;
      await opts.clock.sleep((opts.baseMs ?? 1000) * 2 ** (attempt - 1), opts.signal);
    }
  }
}
