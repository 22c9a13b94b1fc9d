import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { BookdError } from '../errors.js';
import { refuseDeclaredOverCap, type BodyLimits } from './read-body.js';

/** What a streamed body left on disk. */
export interface Saved {
  bytes: number;
  sha256: string;
}

/** A stage that counts what passes and fails the stream once more than `max` bytes went through. */
function capped(max: number, over: () => Error, seen?: (chunk: Buffer) => void): Transform & { count: () => number } {
  let n = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      n += chunk.length;
      if (n > max) return done(over());
      seen?.(chunk);
      done(null, chunk);
    },
  });
  return Object.assign(t, { count: () => n });
}

function decoder(encoding: string): Transform | null | undefined {
  if (encoding === '' || encoding === 'identity') return null;
  if (encoding === 'gzip' || encoding === 'x-gzip') return createGunzip();
  if (encoding === 'deflate') return createInflate();
  if (encoding === 'br') return createBrotliDecompress();
  return undefined;
}

/**
 * Writes a response body to `file` as it arrives, decoded, hashing it on the way: never more than
 * a chunk of it in memory, whatever its size. The cap holds as in readBody (src/pool/read-body.ts):
 * a declared length over it is refused before reading, a longer stream or one that inflates past
 * it is cut off. A body that fails leaves no file behind.
 */
export async function streamBody(body: Readable, opts: BodyLimits & { contentEncoding?: string; file: string }): Promise<Saved> {
  const tooBig = refuseDeclaredOverCap(body, opts);
  const encoding = (opts.contentEncoding ?? '').trim().toLowerCase();
  const decode = decoder(encoding);
  if (decode === undefined) {
    body.destroy();
    throw new BookdError('permanent', `the response at ${opts.url} uses an unknown content encoding "${encoding}"`);
  }
  const hash = createHash('sha256');
  const raw = capped(opts.maxBytes, () => tooBig(`over ${opts.maxBytes}`));
  const decoded = capped(
    opts.maxBytes,
    () =>
      decode
        ? new BookdError('permanent', `the ${encoding} response at ${opts.url} inflates past the ${opts.maxBytes}-byte limit`)
        : tooBig(`over ${opts.maxBytes}`),
    (chunk) => hash.update(chunk),
  );
  // Writes of 16 KB (the default) one after the other, each a round trip to the thread pool, ran
  // at half a MB a second on a busy machine: a 64 MB body outlasted the job's lease. Chunks
  // gathered up to 256 KB go out in one write, and no more than that waits in memory.
  const out = createWriteStream(opts.file, { mode: 0o644, highWaterMark: 256 << 10 });
  try {
    if (decode) await pipeline(body, raw, decode, decoded, out);
    else await pipeline(body, raw, decoded, out);
  } catch (err) {
    body.destroy();
    await unlink(opts.file).catch(() => {});
    if (err instanceof BookdError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (decode && typeof code === 'string' && code.startsWith('Z_')) {
      throw new BookdError('transient', `the ${encoding} response at ${opts.url} is corrupt (${(err as Error).message})`);
    }
    throw err;
  }
  return { bytes: decoded.count(), sha256: hash.digest('hex') };
}
