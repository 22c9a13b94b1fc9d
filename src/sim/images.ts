import { deflateSync } from 'node:zlib';
import type { Random } from './random.js';

/** Real images of each format (valid headers and structure), padded to roughly a target size. */

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(...parts: Buffer[]): number {
  let c = 0xffffffff;
  for (const buf of parts) for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(head.subarray(4), data), 0);
  return Buffer.concat([head, data, crc]);
}

/** An RGB PNG whose pixel data (stored, not compressed) is about `bytes` long. */
export function png(rng: Random, bytes: number): Buffer {
  const width = 64;
  const rowBytes = width * 3 + 1;
  const height = Math.max(8, Math.ceil(bytes / rowBytes));
  const raw = Buffer.alloc(rowBytes * height);
  const noise = rng.bytes(width * 3 * height);
  const [r, g, b] = [rng.int(40, 215), rng.int(40, 215), rng.int(40, 215)];
  for (let y = 0; y < height; y++) {
    const row = y * rowBytes;
    raw[row] = 0;
    for (let x = 0; x < width; x++) {
      const p = row + 1 + x * 3;
      const n = (y * width + x) * 3;
      raw[p] = (r + x + (noise[n]! & 31)) & 0xff;
      raw[p + 1] = (g + y + (noise[n + 1]! & 31)) & 0xff;
      raw[p + 2] = (b + (noise[n + 2]! & 31)) & 0xff;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw, { level: 0 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function segment(marker: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(marker, 0);
  head.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([head, data]);
}

function printable(rng: Random, n: number): Buffer {
  return Buffer.from(
    rng
      .bytes(Math.ceil((n * 3) / 4) + 3)
      .toString('base64')
      .slice(0, n),
    'latin1',
  );
}

/**
 * A baseline greyscale JPEG: 64×64 px of flat grey (every block codes DC 0 and end-of-block with
 * one-symbol Huffman tables), padded to about `bytes` with comment segments.
 */
export function jpeg(rng: Random, bytes: number): Buffer {
  const size = 64;
  const blocks = (size / 8) * (size / 8);
  const parts: Buffer[] = [Buffer.from([0xff, 0xd8])];
  parts.push(segment(0xffe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0])));
  let pad = Math.max(0, bytes - 200);
  while (pad > 0) {
    const n = Math.min(pad, 60_000);
    parts.push(segment(0xfffe, printable(rng, n)));
    pad -= n + 4;
  }
  parts.push(segment(0xffdb, Buffer.concat([Buffer.from([0]), Buffer.alloc(64, 1)])));
  const sof = Buffer.from([8, 0, 0, 0, 0, 1, 1, 0x11, 0]);
  sof.writeUInt16BE(size, 1);
  sof.writeUInt16BE(size, 3);
  parts.push(segment(0xffc0, sof));
  const oneSymbol = (tableClass: number) =>
    Buffer.concat([Buffer.from([tableClass << 4]), Buffer.from([1, ...new Array<number>(15).fill(0)]), Buffer.from([0])]);
  parts.push(segment(0xffc4, oneSymbol(0)));
  parts.push(segment(0xffc4, oneSymbol(1)));
  parts.push(segment(0xffda, Buffer.from([1, 1, 0x00, 0, 63, 0])));
  // Two bits ("0" DC category 0, "0" end of block) per block; pad the last byte with ones.
  const bits = blocks * 2;
  const scan = Buffer.alloc(Math.ceil(bits / 8), 0);
  if (bits % 8) scan[scan.length - 1] = (1 << (8 - (bits % 8))) - 1;
  parts.push(scan, Buffer.from([0xff, 0xd9]));
  return Buffer.concat(parts);
}

/** A 1×1 GIF89a with comment extensions padding it to about `bytes`. */
export function gif(rng: Random, bytes: number): Buffer {
  const head = Buffer.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0x80, 0, 0, rng.int(0, 255), rng.int(0, 255), rng.int(0, 255), 0, 0, 0]);
  const tail = Buffer.from([0x21, 0xf9, 4, 1, 0, 0, 0, 0, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3b]);
  const comment: Buffer[] = [];
  let pad = Math.max(0, bytes - head.length - tail.length - 3);
  if (pad > 0) {
    comment.push(Buffer.from([0x21, 0xfe]));
    while (pad > 0) {
      const n = Math.min(255, pad);
      comment.push(Buffer.from([n]), printable(rng, n));
      pad -= n + 1;
    }
    comment.push(Buffer.from([0]));
  }
  return Buffer.concat([head, ...comment, tail]);
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** An SVG drawing with a title and a few shapes, padded to about `bytes` with a description. */
export function svg(rng: Random, bytes: number, title: string): Buffer {
  const parts = [
    '<?xml version="1.0" encoding="UTF-8"?>\n',
    '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="160" viewBox="0 0 240 160">\n',
    `<title>${xml(title)}</title>\n`,
    `<rect x="0" y="0" width="240" height="160" fill="#${rng.hex(6)}"/>\n`,
  ];
  for (let i = 0; i < 12; i++) {
    parts.push(`<circle cx="${rng.int(0, 240)}" cy="${rng.int(0, 160)}" r="${rng.int(2, 30)}" fill="#${rng.hex(6)}" opacity="0.${rng.int(2, 8)}"/>\n`);
  }
  const pad = bytes - parts.join('').length - 30;
  if (pad > 0)
    parts.push(
      `<desc>${rng
        .bytes(Math.ceil((pad * 3) / 4))
        .toString('base64')
        .slice(0, pad)}</desc>\n`,
    );
  parts.push('</svg>\n');
  return Buffer.from(parts.join(''), 'utf8');
}

export type ImageFormat = 'png' | 'jpg' | 'gif' | 'svg';

export const IMAGE_MEDIA_TYPES: Record<ImageFormat, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
};

export function image(format: ImageFormat, rng: Random, bytes: number, title: string): Buffer {
  switch (format) {
    case 'png':
      return png(rng, bytes);
    case 'jpg':
      return jpeg(rng, bytes);
    case 'gif':
      return gif(rng, bytes);
    case 'svg':
      return svg(rng, bytes, title);
  }
}
