import { BookdError } from '../errors.js';

/** Below this declared size a short answer proves nothing (docs/SERVICE.md §3: samples are ~2 KB). */
export const SAMPLE_MIN_DECLARED_BYTES = 8 * 1024;

/**
 * A ~2 KB "sample" of an (X)HTML file (docs/SERVICE.md §3): no marker, no ellipsis, only far
 * shorter than the listed `file_size`. What the service sends to requests it does not take for a
 * reader's and when it throttles bulk access from this machine: a `throttled` error, which slows
 * the machine down and blames no session by itself. Counted in bytes, not characters.
 */
export function isSample(bytes: number, declared: number | undefined): boolean {
  return declared !== undefined && declared >= SAMPLE_MIN_DECLARED_BYTES && bytes < declared / 2;
}

export function assertNotSample(body: Uint8Array | number, declared: number | undefined, where: string): void {
  const bytes = typeof body === 'number' ? body : body.length;
  if (isSample(bytes, declared)) {
    throw new BookdError(
      'throttled',
      `${where} arrived as a sample (${bytes} of its ${declared} bytes): the service is holding back full files from this machine`,
    );
  }
}
