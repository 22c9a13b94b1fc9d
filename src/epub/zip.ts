import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { ZipFile } from 'yazl';
import type { EpubBuild } from './model.js';
import { sniff } from './sniff.js';

const MIMETYPE = Buffer.from('application/epub+zip', 'ascii');

// A fixed timestamp (built from local fields, as DOS times are local) so the same build gives the same bytes.
const MTIME = new Date(2000, 0, 1, 0, 0, 0);

/** Deflating a PNG, JPEG or WOFF costs CPU and saves nothing; they are stored as they are. */
function alreadyCompressed(data: Uint8Array): boolean {
  const type = sniff(data.subarray(0, 16), undefined, '').mediaType;
  return ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'font/woff', 'font/woff2', 'application/zip'].includes(type);
}

/**
 * Writes the EPUB container (docs/EPUB.md "Container"): `mimetype` first, stored, no extra field; the
 * rest deflated; only the entries given. The file is fsynced before this resolves.
 */
export async function writeEpub(build: EpubBuild, file: string): Promise<{ bytes: number; sha256: string }> {
  const zip = new ZipFile();
  zip.addBuffer(MIMETYPE, 'mimetype', { compress: false, mtime: MTIME, mode: 0o100644, forceDosTimestamp: true });
  const seen = new Set<string>(['mimetype']);
  for (const e of build.entries) {
    if (seen.has(e.path)) throw new Error(`EPUB entry ${e.path} appears twice; the build must give each path once.`);
    seen.add(e.path);
    zip.addBuffer(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength), e.path, {
      compress: !alreadyCompressed(e.data),
      mtime: MTIME,
      mode: 0o100644,
      forceDosTimestamp: true,
    });
  }
  zip.end();
  const hash = createHash('sha256');
  let bytes = 0;
  const fh = await open(file, 'w', 0o644);
  try {
    for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      for (let off = 0; off < chunk.length;) off += (await fh.write(chunk, off)).bytesWritten;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { bytes, sha256: hash.digest('hex') };
}
