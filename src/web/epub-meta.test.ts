import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { tempDir } from '../../test/helpers/cli.js';
import { BookdError } from '../errors.js';
import { readEpubCover, readEpubMeta } from './epub-meta.js';

const CONTAINER = `<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>`;
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

function opf(metadata: string, manifest: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="bookid">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">${metadata}</metadata>
  <manifest>${manifest}</manifest><spine/></package>`;
}

function epub(dir: string, files: Record<string, string | Buffer>): string {
  const z: Zippable = {};
  for (const [k, v] of Object.entries(files)) z[k] = typeof v === 'string' ? strToU8(v) : new Uint8Array(v);
  const file = join(dir, `${Object.keys(files).length}-${Math.random()}.epub`);
  writeFileSync(file, zipSync(z));
  return file;
}

test('EPUB 3: the summary, the unique identifier, the language and the cover-image item', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = epub(dir, {
      mimetype: 'application/epub+zip',
      'META-INF/container.xml': CONTAINER,
      'OEBPS/content.opf': opf(
        `<dc:identifier>urn:uuid:other</dc:identifier><dc:identifier id="bookid">urn:isbn:9781492077213</dc:identifier>
         <dc:language>en-US</dc:language><dc:description>  A book about &lt;Go&gt; &amp;
         more.  </dc:description>`,
        `<item id="c" href="images/cover.png" media-type="image/png" properties="cover-image"/>`,
      ),
      'OEBPS/images/cover.png': PNG,
    });
    const meta = await readEpubMeta(file);
    assert.deepEqual(meta, {
      description: 'A book about <Go> & more.',
      identifier: 'urn:isbn:9781492077213',
      language: 'en-US',
      cover: { entry: 'OEBPS/images/cover.png', mediaType: 'image/png' },
    });
    assert.deepEqual(await readEpubCover(file, meta.cover), { bytes: PNG, mediaType: 'image/png' });
  } finally {
    cleanup();
  }
});

test('EPUB 2: the cover named by <meta name="cover">, its href percent-encoded and relative to the package', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = epub(dir, {
      'META-INF/container.xml': CONTAINER,
      'OEBPS/content.opf': opf(`<meta name="cover" content="img"/>`, `<item id="img" href="../art/c%20v.jpg" media-type="image/jpeg"/>`),
      'art/c v.jpg': Buffer.from('ffd8ffe0', 'hex'),
    });
    assert.deepEqual(await readEpubMeta(file), { cover: { entry: 'art/c v.jpg', mediaType: 'image/jpeg' } });
  } finally {
    cleanup();
  }
});

test('no cover for an href outside the package, a missing entry or a type that is no image; nothing without a container', async () => {
  const { dir, cleanup } = tempDir();
  try {
    for (const item of [
      `<item id="c" href="../../../etc/passwd" media-type="image/png" properties="cover-image"/>`,
      `<item id="c" href="images/none.png" media-type="image/png" properties="cover-image"/>`,
      `<item id="c" href="images/cover.png" media-type="text/html" properties="cover-image"/>`,
    ]) {
      const file = epub(dir, { 'META-INF/container.xml': CONTAINER, 'OEBPS/content.opf': opf('', item), 'OEBPS/images/cover.png': PNG });
      assert.deepEqual(await readEpubMeta(file), {}, item);
    }
    assert.deepEqual(await readEpubMeta(epub(dir, { 'OEBPS/content.opf': opf('<dc:description>x</dc:description>', '') })), {});
    assert.deepEqual(await readEpubMeta(epub(dir, { 'META-INF/container.xml': CONTAINER, 'OEBPS/content.opf': 'not <xml' })), {});
    const notZip = join(dir, 'x.epub');
    writeFileSync(notZip, 'plain text');
    await assert.rejects(readEpubMeta(notZip), BookdError);
  } finally {
    cleanup();
  }
});
