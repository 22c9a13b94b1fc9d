import { gzipSync } from 'node:zlib';

/** A response body produced piece by piece, so nothing large is ever held in memory. */
export interface BodySource {
  /** Content-Length to announce; undefined sends chunked. */
  length?: number;
  chunks(): Iterator<Buffer>;
}

export const isSource = (b: Buffer | BodySource): b is BodySource => !Buffer.isBuffer(b);

const CHUNK = 64 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngLike(size: number): Buffer {
  const b = Buffer.alloc(size, 0x5a);
  PNG_SIGNATURE.copy(b);
  return b;
}

/** 1 GiB announced with Content-Length and streamed from one reused chunk. */
export function hugeBody(bytes = 1 << 30): BodySource {
  const first = pngLike(CHUNK);
  const rest = Buffer.alloc(CHUNK, 0x5a);
  return {
    length: bytes,
    *chunks() {
      for (let sent = 0; sent < bytes; sent += CHUNK) {
        const chunk = sent === 0 ? first : rest;
        yield bytes - sent < CHUNK ? chunk.subarray(0, bytes - sent) : chunk;
      }
    },
  };
}

/** Chunked transfer that never ends; the client has to give up. */
export function endlessBody(): BodySource {
  const first = pngLike(16 * 1024);
  const rest = Buffer.alloc(16 * 1024, 0x5a);
  return {
    *chunks() {
      yield first;
      for (;;) yield rest;
    },
  };
}

let bombMember: Buffer | undefined;

/**
 * A gzip stream of concatenated members, each 16 MiB of zeros: about 1 MiB on the wire that inflates
 * to `inflated` bytes (1 GiB by default). Served with `Content-Encoding: gzip`.
 */
export function gzipBombBody(inflated = 1 << 30): BodySource {
  bombMember ??= gzipSync(Buffer.alloc(16 << 20), { level: 9 });
  const member = bombMember;
  const count = Math.max(1, Math.round(inflated / (16 << 20)));
  return {
    length: member.length * count,
    *chunks() {
      for (let i = 0; i < count; i++) yield member;
    },
  };
}
