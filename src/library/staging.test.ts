import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '../../test/helpers/cli.js';
import { png } from '../../test/fixtures/epub/images.js';
import { bookStaging, cleanStaging, commitStaged, loadStaged, saveStaged, stagedEpubPath, stagingDir, stagingPart, WRITE_PROBE_PREFIX } from './staging.js';

const tmp = tempDir('bookd-staging-');
after(tmp.cleanup);

test('staging paths live in <library>/.staging and never take a server path as a file name', () => {
  const lib = '/lib';
  assert.equal(stagingDir(lib), '/lib/.staging');
  assert.equal(bookStaging(lib, '9781492056355'), '/lib/.staging/book-9781492056355');
  assert.equal(stagedEpubPath(lib, '9781492056355', 'kindle', 'a1b2'), '/lib/.staging/book-9781492056355/kindle.a1b2.epub.tmp');
  assert.match(bookStaging(lib, '../../etc'), /^\/lib\/\.staging\/book-h-[0-9a-f]{32}$/);
});

test('saveStaged/loadStaged: files come back byte-identical with their media types, keyed by server path', async () => {
  const dir = bookStaging(join(tmp.dir, 'lib1'), '1');
  const image = png(1);
  saveStaged(dir, { path: 'OEBPS/images/a/fig.png', mediaType: 'image/png', data: image });
  saveStaged(dir, { path: '../../../etc/passwd', data: new TextEncoder().encode('hostile name, harmless file') });
  saveStaged(dir, { path: 'OEBPS/missing.png', data: null });
  const loaded = await loadStaged(dir);
  assert.deepEqual([...loaded.keys()].sort(), ['../../../etc/passwd', 'OEBPS/images/a/fig.png']);
  // Named on disk, not held: the build thread reads the bytes (src/epub/staged-input.ts).
  const fig = loaded.get('OEBPS/images/a/fig.png')!;
  assert.deepEqual({ ...fig, file: undefined }, { path: 'OEBPS/images/a/fig.png', mediaType: 'image/png', data: null, bytes: image.length, file: undefined });
  assert.deepEqual(new Uint8Array(await readFile(fig.file!)), image);
  for (const name of await readdir(dir)) assert.match(name, /^([0-9a-f]{40}\.bin|index\.jsonl)$/);
  assert.deepEqual(await loadStaged(join(tmp.dir, 'nowhere')), new Map());
});

test('loadStaged: damaged bytes and a half-written index line are left out, the rest is kept', async () => {
  const dir = bookStaging(join(tmp.dir, 'lib2'), '2');
  saveStaged(dir, { path: 'a.png', data: png(2) });
  saveStaged(dir, { path: 'b.png', data: png(3) });
  saveStaged(dir, { path: 'c.png', data: png(4) });
  // b's bytes damaged; c's index line cut off by a crash; d's bytes written but never indexed.
  const lines = (await readFile(join(dir, 'index.jsonl'), 'utf8')).split('\n').filter(Boolean);
  const bin = (path: string) => `${createHash('sha256').update(path).digest('hex').slice(0, 40)}.bin`;
  await writeFile(join(dir, bin('b.png')), 'truncated');
  await writeFile(join(dir, 'index.jsonl'), `${lines[0]}\n${lines[1]}\n${lines[2]!.slice(0, 20)}`);
  await writeFile(join(dir, bin('d.png')), png(5));
  const loaded = await loadStaged(dir);
  assert.deepEqual([...loaded.keys()], ['a.png']);
  // The next save after a cut-off line still lands on a line of its own.
  saveStaged(dir, { path: 'c.png', data: png(4) });
  assert.deepEqual([...(await loadStaged(dir)).keys()].sort(), ['a.png', 'c.png']);
});

test('a streamed part is read only once committed whole: a part cut off by a crash, or a committed file cut short, is fetched again', async () => {
  const dir = bookStaging(join(tmp.dir, 'lib5'), '5');
  const whole = png(7);
  const sha = createHash('sha256').update(whole).digest('hex');
  // Killed while streaming: the part holds half the bytes and there is no line for it.
  await writeFile(stagingPart(dir, 'half.png'), whole.subarray(0, 50));
  assert.equal((await loadStaged(dir)).size, 0);
  const part = stagingPart(dir, 'whole.png');
  assert.notEqual(part, stagingPart(dir, 'whole.png'), 'two fetches of one file at once never share a part');
  await writeFile(part, whole);
  const committed = commitStaged(dir, part, 'whole.png', 'image/png', { bytes: whole.length, sha256: sha });
  assert.deepEqual(new Uint8Array(await readFile(committed.file!)), whole);
  assert.deepEqual([...(await loadStaged(dir)).keys()], ['whole.png']);
  // The same size with other bytes (a rewrite under an old line) fails the sha256; a shorter file its size.
  await writeFile(committed.file!, Buffer.alloc(whole.length, 1));
  assert.equal((await loadStaged(dir)).size, 0);
  await writeFile(committed.file!, whole.subarray(0, 10));
  assert.equal((await loadStaged(dir)).size, 0);
});

test('cleanStaging: removes the folders and half-written EPUBs of books no longer wanted, and leaves wanted books alone', async () => {
  const lib = join(tmp.dir, 'lib3');
  saveStaged(bookStaging(lib, '111'), { path: 'x.png', data: png(5) });
  saveStaged(bookStaging(lib, '222'), { path: 'y.png', data: png(6) });
  await mkdir(bookStaging(lib, '333'), { recursive: true });
  await writeFile(stagedEpubPath(lib, '333', 'epub', 'w1'), 'half an epub');
  await writeFile(stagedEpubPath(lib, '111', 'epub', 'w2'), 'an epub another daemon is writing');
  await writeFile(join(stagingDir(lib), '111.epub.epub.tmp'), 'a stray file');
  await writeFile(join(bookStaging(lib, '111'), 'deadbeef.bin.123.tmp'), 'partial');
  await writeFile(join(stagingDir(lib), `${WRITE_PROBE_PREFIX}4242`), 'another daemon checking it can write');
  const removed = await cleanStaging(lib, ['111']);
  assert.deepEqual(removed, ['111.epub.epub.tmp', 'book-222', 'book-333']);
  assert.deepEqual((await readdir(stagingDir(lib))).sort(), [`${WRITE_PROBE_PREFIX}4242`, 'book-111']);
  assert.ok((await readdir(bookStaging(lib, '111'))).includes('epub.w2.epub.tmp'), 'a kept book keeps its files');
  assert.equal((await loadStaged(bookStaging(lib, '111'))).size, 1, 'a partial write in a kept folder is never read');
  assert.deepEqual(await cleanStaging(join(tmp.dir, 'no-library'), []), []);
  await mkdir(stagingDir(join(tmp.dir, 'lib4')), { recursive: true });
  assert.deepEqual(await cleanStaging(join(tmp.dir, 'lib4'), []), []);
});
