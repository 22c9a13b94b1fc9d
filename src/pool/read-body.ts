import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { BookdError } from '../errors.js';

export interface BodyLimits {
  maxBytes: number;
  contentLength?: string;
  url: string;
}

/**
 * Throws, the body dropped unread, when its declared length is over the cap; otherwise returns
 * the error a body found longer than the cap fails with (readBody, streamBody).
 */
export function refuseDeclaredOverCap(body: { destroy(err?: Error): unknown }, opts: BodyLimits): (n: number | string) => BookdError {
  const tooBig = (n: number | string) => new BookdError('permanent', `the response at ${opts.url} is larger than the ${opts.maxBytes}-byte limit (${n} bytes)`);
  const declared = opts.contentLength === undefined ? NaN : Number(opts.contentLength);
  if (Number.isFinite(declared) && declared > opts.maxBytes) {
    body.destroy();
    throw tooBig(declared);
  }
  return tooBig;
}

/**
 * Reads a response body into memory without ever holding more than `maxBytes`: a declared length
 * over the cap is refused before reading, a longer stream is cut off, and a compressed body may not
 * inflate past the cap either (a gzip bomb fails, it does not exhaust memory).
 */
export async function readBody(
  body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown },
  opts: BodyLimits & { contentEncoding?: string },
): Promise<Buffer> {
  const tooBig = refuseDeclaredOverCap(body, opts);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > opts.maxBytes) {
      body.destroy();
      throw tooBig(`over ${opts.maxBytes}`);
    }
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks, size);
  const encoding = (opts.contentEncoding ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return raw;
  const limits = { maxOutputLength: opts.maxBytes };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(raw, limits);
    if (encoding === 'deflate') return inflateSync(raw, limits);
    if (encoding === 'br') return brotliDecompressSync(raw, limits);
  } catch (err) {
    if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BookdError('permanent', `the ${encoding} response at ${opts.url} inflates past the ${opts.maxBytes}-byte limit`);
    }
    throw new BookdError('transient', `the ${encoding} response at ${opts.url} is corrupt (${(err as Error).message})`);
  }
  throw new BookdError('permanent', `the response at ${opts.url} uses an unknown content encoding "${encoding}"`);
}
