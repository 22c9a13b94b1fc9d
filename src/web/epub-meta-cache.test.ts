import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { strToU8, zipSync } from 'fflate';
import type { BookRecord } from '../db/books.js';
import { tempDir } from '../../test/helpers/cli.js';
import { epubMetaCache } from './epub-meta-cache.js';

const CONTAINER = `<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>`;

/** A small EPUB in `root` whose summary names `id` and whose 1000-byte cover is filled with `id`'s first character code. */
function book(root: string, id: string): BookRecord {
  const opf = `<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description>about ${id}</dc:description></metadata><manifest><item id="c" href="c.png" media-type="image/png" properties="cover-image"/></manifest></package>`;
  const path = `${id}.epub`;
  writeFileSync(
    join(root, path),
    zipSync({ 'META-INF/container.xml': strToU8(CONTAINER), 'content.opf': strToU8(opf), 'c.png': new Uint8Array(1000).fill(id.charCodeAt(0)) }),
  );
  return { id, format: 'epub', title: id, authors: [], skills: [], path, sha256: `sha-${id}`, bytes: 1, archivedAt: 1, mode: 'package', gaps: [] };
}

test('summaries are remembered per (id, format, sha256), at most metaCacheEntries of them', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cache = epubMetaCache({ libraryRoot: dir, metaCacheEntries: 2, coverCacheBytes: 10_000 });
    const [a, b, c] = ['a', 'b', 'c'].map((id) => book(dir, id)) as [BookRecord, BookRecord, BookRecord];
    assert.equal((await cache.meta(a))?.description, 'about a');
    assert.equal((await cache.meta(b))?.description, 'about b');
    assert.equal((await cache.meta(a))?.description, 'about a', 'a is now the most recent');
    assert.equal((await cache.meta(c))?.description, 'about c');
    for (const id of ['a', 'b', 'c']) rmSync(join(dir, `${id}.epub`));
    assert.equal((await cache.meta(a))?.description, 'about a', 'remembered');
    assert.equal((await cache.meta(c))?.description, 'about c', 'remembered');
    assert.equal(await cache.meta(b), undefined, 'the least recently used was dropped and its file is gone');
    assert.equal(await cache.meta({ ...a, sha256: 'rebuilt' }), undefined, 'a new sha256 is read again');
  } finally {
    cleanup();
  }
});

test('covers are remembered within coverCacheBytes; a failure is not remembered', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cache = epubMetaCache({ libraryRoot: dir, metaCacheEntries: 10, coverCacheBytes: 1500 });
    const a = book(dir, 'a');
    const b = book(dir, 'b');
    assert.equal((await cache.cover(a))?.bytes[0], 97);
    assert.equal((await cache.cover(b))?.bytes[0], 98);
    rmSync(join(dir, 'a.epub'));
    rmSync(join(dir, 'b.epub'));
    assert.equal((await cache.cover(b))?.bytes[0], 98, 'the last cover is held');
    assert.equal(await cache.cover(a), undefined, 'two covers are more than 1500 bytes: the first went');

    const missing = { ...a, id: 'late', path: 'late.epub', sha256: 'sha-late' };
    assert.equal(await cache.meta(missing), undefined);
    book(dir, 'late');
    assert.equal((await cache.meta(missing))?.description, 'about late', 'a file that appears later is read');
  } finally {
    cleanup();
  }
});
