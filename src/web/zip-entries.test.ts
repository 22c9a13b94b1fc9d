import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ZipFile } from 'yazl';
import { BookdError } from '../errors.js';
import { tempDir } from '../../test/helpers/cli.js';
import { readZipDirectory, readZipEntry } from './zip-entries.js';

async function zip(file: string, entries: [string, Buffer, boolean][], zip64 = false): Promise<void> {
  const z = new ZipFile();
  for (const [name, data, compress] of entries) z.addBuffer(data, name, { compress, forceZip64Format: zip64 });
  z.end({ forceZip64Format: zip64, comment: '' });
  const chunks: Buffer[] = [];
  for await (const c of z.outputStream as AsyncIterable<Buffer>) chunks.push(c);
  writeFileSync(file, Buffer.concat(chunks));
}

const big = Buffer.alloc(300_000, 'chapter text ');
const image = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256));

for (const zip64 of [false, true]) {
  test(`stored and deflated entries come back byte for byte (${zip64 ? 'zip64' : 'plain'} records)`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'b.epub');
      await zip(
        file,
        [
          ['mimetype', Buffer.from('application/epub+zip'), false],
          ['OEBPS/ch01.xhtml', big, true],
          ['OEBPS/images/cover.jpg', image, false],
          ['OEBPS/é ü.txt', Buffer.from('unicode name'), true],
        ],
        zip64,
      );
      const fh = await open(file, 'r');
      try {
        const entries = await readZipDirectory(fh);
        assert.deepEqual([...entries.keys()], ['mimetype', 'OEBPS/ch01.xhtml', 'OEBPS/images/cover.jpg', 'OEBPS/é ü.txt']);
        assert.equal(entries.get('OEBPS/ch01.xhtml')!.method, 8);
        assert.ok(entries.get('OEBPS/ch01.xhtml')!.compressedSize < big.length / 10, 'deflated');
        assert.deepEqual(await readZipEntry(fh, entries.get('OEBPS/ch01.xhtml')!, 1_000_000), big);
        assert.deepEqual(await readZipEntry(fh, entries.get('OEBPS/images/cover.jpg')!, 1_000_000), image);
        assert.equal((await readZipEntry(fh, entries.get('OEBPS/é ü.txt')!, 100)).toString(), 'unicode name');
        await assert.rejects(
          readZipEntry(fh, entries.get('OEBPS/ch01.xhtml')!, 100_000),
          (e: unknown) => e instanceof BookdError && /above the 100000 allowed/.test(e.message),
        );
        // A directory that lies about the size is still cut at the bound while inflating.
        await assert.rejects(readZipEntry(fh, { ...entries.get('OEBPS/ch01.xhtml')!, size: 10 }, 100_000), BookdError);
      } finally {
        await fh.close();
      }
    } finally {
      cleanup();
    }
  });
}

test('a file that is no zip is refused with a BookdError', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'x.epub');
    writeFileSync(file, Buffer.alloc(100_000, 'not a zip'));
    const fh = await open(file, 'r');
    try {
      await assert.rejects(
        readZipDirectory(fh),
        (e: unknown) => e instanceof BookdError && e.kind === 'permanent' && /no end of central directory/.test(e.message),
      );
    } finally {
      await fh.close();
    }
    writeFileSync(file, '');
    const empty = await open(file, 'r');
    try {
      await assert.rejects(readZipDirectory(empty), BookdError);
    } finally {
      await empty.close();
    }
  } finally {
    cleanup();
  }
});
