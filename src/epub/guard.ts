import { BookdError } from '../errors.js';

/**
 * Markup nested deeper than the call stack allows (hostile, or broken beyond use) fails that one
 * book with a permanent error, never the worker with a RangeError it cannot classify.
 */
export function guardDepth<T>(what: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      throw new BookdError('permanent', `The ${what} is nested too deeply to process; the book cannot be built from it.`, { cause: err });
    }
    throw err;
  }
}
