import type { FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { inflateRaw } from 'node:zlib';
import { BookdError } from '../errors.js';

const inflate = promisify(inflateRaw);

/**
 * Reads single entries of a zip (an archived EPUB) through its central directory, so a cover or
 * the package document comes out of a book of hundreds of megabytes with a few small reads, never
 * the whole file in memory. fflate (a dependency) unzips whole buffers or streams from the first
 * byte, which is what this avoids.
 */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated: what src/epub/zip.ts (yazl) writes. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** A central directory this large is no EPUB of ours (each entry is ~50 bytes plus its name). */
const MAX_DIRECTORY_BYTES = 32 * 1024 * 1024;
const EOCD = 0x06054b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** A zip that cannot be read this way: `permanent` (the file is what it is). */
const damaged = (message: string) => new BookdError('permanent', `zip: ${message}`);

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw damaged(`the zip ends early (wanted ${length} bytes at ${position})`);
    done += bytesRead;
  }
  return buf;
}

/** The entries of the zip open in `fh`, by name. */
export async function readZipDirectory(fh: FileHandle): Promise<Map<string, ZipEntry>> {
  const fileSize = (await fh.stat()).size;
  const tailLength = Math.min(fileSize, EOCD_SIZE + 0xffff);
  const tailStart = fileSize - tailLength;
  const tail = await readAt(fh, tailStart, tailLength);
  let eocd = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw damaged('not a zip (no end of central directory)');
  let count = tail.readUInt16LE(eocd + 10);
  let dirSize = tail.readUInt32LE(eocd + 12);
  let dirOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    // Zip64: the locator sits just before the end record and points at the zip64 end record.
    const locatorAt = tailStart + eocd - 20;
    if (locatorAt < 0) throw damaged('zip64 locator missing');
    const locator = await readAt(fh, locatorAt, 20);
    if (locator.readUInt32LE(0) !== ZIP64_LOCATOR) throw damaged('zip64 locator missing');
    const record = await readAt(fh, Number(locator.readBigUInt64LE(8)), 56);
    if (record.readUInt32LE(0) !== ZIP64_EOCD) throw damaged('zip64 end record missing');
    count = Number(record.readBigUInt64LE(32));
    dirSize = Number(record.readBigUInt64LE(40));
    dirOffset = Number(record.readBigUInt64LE(48));
  }
  if (dirSize > MAX_DIRECTORY_BYTES || dirOffset + dirSize > fileSize) throw damaged(`central directory of ${dirSize} bytes at ${dirOffset} is out of bounds`);
  const dir = await readAt(fh, dirOffset, dirSize);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > dir.length || dir.readUInt32LE(at) !== CENTRAL) throw damaged(`central directory entry ${n} is damaged`);
    const nameLength = dir.readUInt16LE(at + 28);
    const extraLength = dir.readUInt16LE(at + 30);
    const commentLength = dir.readUInt16LE(at + 32);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > dir.length) throw damaged(`central directory entry ${n} is damaged`);
    const entry: ZipEntry = {
      name: dir.toString('utf8', at + 46, at + 46 + nameLength),
      method: dir.readUInt16LE(at + 10),
      compressedSize: dir.readUInt32LE(at + 20),
      size: dir.readUInt32LE(at + 24),
      localHeaderOffset: dir.readUInt32LE(at + 42),
    };
    applyZip64Extra(entry, dir.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength));
    if (!entries.has(entry.name)) entries.set(entry.name, entry);
    at = end;
  }
  return entries;
}

/** Sizes and offsets too big for 32 bits are in the zip64 extra field, in this order, only when their field is all ones. */
function applyZip64Extra(entry: ZipEntry, extra: Buffer): void {
  for (let i = 0; i + 4 <= extra.length;) {
    const id = extra.readUInt16LE(i);
    const length = extra.readUInt16LE(i + 2);
    if (id === 0x0001) {
      let p = i + 4;
      const next = (): number => {
        if (p + 8 > i + 4 + length || p + 8 > extra.length) throw damaged(`zip64 extra field of ${entry.name} is short`);
        const v = Number(extra.readBigUInt64LE(p));
        p += 8;
        return v;
      };
      if (entry.size === 0xffffffff) entry.size = next();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next();
      return;
    }
    i += 4 + length;
  }
}

/** The bytes of one entry, refused when it is (or inflates to) more than `maxBytes`. */
export async function readZipEntry(fh: FileHandle, entry: ZipEntry, maxBytes: number): Promise<Buffer> {
  if (entry.size > maxBytes || entry.compressedSize > maxBytes) throw damaged(`${entry.name} is ${entry.size} bytes, above the ${maxBytes} allowed`);
  const local = await readAt(fh, entry.localHeaderOffset, 30);
  if (local.readUInt32LE(0) !== LOCAL) throw damaged(`local header of ${entry.name} is missing`);
  const dataAt = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const data = await readAt(fh, dataAt, entry.compressedSize);
  if (entry.method === 0) return data;
  if (entry.method !== 8) throw damaged(`${entry.name} uses compression method ${entry.method}`);
  try {
    return await inflate(data, { maxOutputLength: maxBytes });
  } catch (err) {
    throw damaged(`${entry.name} does not inflate (${(err as Error).message})`);
  }
}
