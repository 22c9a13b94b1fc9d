import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, test } from 'node:test';
import { tempDir } from '../../test/helpers/cli.js';
import { readEpub, text } from '../../test/fixtures/epub/inspect.js';
import { png } from '../../test/fixtures/epub/images.js';
import { writeEpub } from './zip.js';
import { createHash } from 'node:crypto';

const tmp = tempDir('bookd-epub-zip-');
after(tmp.cleanup);

const enc = (s: string) => new TextEncoder().encode(s);

test('writeEpub: mimetype first, stored, no extra field; then exactly the entries given', async () => {
  const file = `${tmp.dir}/a.epub`;
  const image = png(5, 32, 32, true);
  const build = {
    entries: [
      { path: 'META-INF/container.xml', data: enc('<container/>') },
      { path: 'OEBPS/content.opf', data: enc('<package/>'.repeat(50)) },
      { path: 'OEBPS/img/x.png', data: image },
    ],
    gaps: [],
    chapters: 0,
  };
  const { bytes, sha256 } = await writeEpub(build, file);
  const data = new Uint8Array(await readFile(file));
  assert.equal(bytes, data.byteLength);
  assert.equal(sha256, createHash('sha256').update(data).digest('hex'));
  const view = readEpub(data);
  assert.deepEqual(view.first, { name: 'mimetype', method: 0, extraLength: 0, content: 'application/epub+zip' });
  assert.deepEqual(view.names, ['mimetype', 'META-INF/container.xml', 'OEBPS/content.opf', 'OEBPS/img/x.png']);
  assert.equal(text(view.files.get('OEBPS/content.opf')), '<package/>'.repeat(50));
  assert.deepEqual(view.files.get('OEBPS/img/x.png'), image);
});

test('writeEpub: overwrites an earlier file instead of carrying anything of it along', async () => {
  const file = `${tmp.dir}/b.epub`;
  await writeEpub({ entries: [{ path: 'old.txt', data: enc('old') }], gaps: [], chapters: 0 }, file);
  await writeEpub({ entries: [{ path: 'new.txt', data: enc('new') }], gaps: [], chapters: 0 }, file);
  assert.deepEqual(readEpub(new Uint8Array(await readFile(file))).names, ['mimetype', 'new.txt']);
});

test('writeEpub: a path given twice is a bug in the build and is refused', async () => {
  const twice = {
    entries: [
      { path: 'a', data: enc('1') },
      { path: 'a', data: enc('2') },
    ],
    gaps: [],
    chapters: 0,
  };
  await assert.rejects(writeEpub(twice, `${tmp.dir}/c.epub`), /appears twice/);
});
