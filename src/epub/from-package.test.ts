import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { BookdError } from '../errors.js';
import { tempDir } from '../../test/helpers/cli.js';
import { text } from '../../test/fixtures/epub/inspect.js';
import { BOOK_ID, CHAPTER_BODIES, IMAGES, packageFiles, sampleMeta } from '../../test/fixtures/epub/sample-book.js';
import { bodyOf, visibleText } from '../../test/fixtures/epub/text.js';
import { validate } from '../../test/fixtures/epub/validate.js';
import { buildFromPackage } from './from-package.js';
import type { EpubBuild, FetchedFile, Format } from './model.js';

const tmp = tempDir('bookd-epub-package-');
after(tmp.cleanup);

const build = (format: Format = 'epub', files: FetchedFile[] = packageFiles()) => buildFromPackage({ meta: sampleMeta(), bookId: BOOK_ID, files, format });
const entry = (b: EpubBuild, path: string) => b.entries.find((e) => e.path === path)?.data;
const doc = (b: EpubBuild, path: string) => text(entry(b, path));
const enc = (s: string) => new TextEncoder().encode(s);

test('package mode: the damaged sample package has 0 epubcheck errors in both formats', async () => {
  const results = await Promise.all((['epub', 'kindle'] as const).map((f) => validate(build(f), tmp.dir, `package-${f}.epub`)));
  for (const r of results) assert.deepEqual(r.errors, [], r.file);
});

test('package mode: without a nav, without an NCX, or without both, they are generated and the book still validates', async () => {
  const variants = [
    { name: 'no-nav', files: packageFiles({ nav: false }) },
    { name: 'no-ncx', files: packageFiles({ ncx: false }) },
    { name: 'neither', files: packageFiles({ nav: false, ncx: false }) },
  ];
  for (const v of variants) {
    const b = build('epub', v.files);
    const opf = doc(b, 'OEBPS/content.opf');
    assert.match(opf, /properties="nav"/, v.name);
    assert.match(opf, /<spine toc="ncx">/, v.name);
    const navPath = /<item id="[^"]+" href="([^"]+)" media-type="application\/xhtml\+xml" properties="nav"/.exec(opf)![1]!;
    assert.match(doc(b, `OEBPS/${navPath}`), /<nav epub:type="toc"/, v.name);
    assert.match(doc(b, 'OEBPS/toc.ncx'), /<meta name="dtb:uid" content="urn:isbn:9781098765432"\/>/, v.name);
    const r = await validate(b, tmp.dir, `package-${v.name}.epub`, v.name === 'neither');
    assert.deepEqual(r.errors, [], v.name);
  }
});

test('package mode: the text of every chapter equals the source and images are byte-identical', () => {
  const b = build();
  for (const [path, source] of Object.entries(CHAPTER_BODIES)) {
    const out = path.replace(/\.html$/, '.xhtml');
    assert.equal(visibleText(bodyOf(doc(b, out))), visibleText(source), out);
  }
  for (const [path, data] of Object.entries(IMAGES)) assert.deepEqual(entry(b, path), data, path);
  assert.equal(b.chapters, 3);
});

test('package mode: /api/v2 files prefixes (with or without a host) become package-relative paths', () => {
  const b = build();
  const all = b.entries
    .filter((e) => /\.(xhtml|css|opf|ncx)$/.test(e.path))
    .map((e) => text(e.data))
    .join('\n');
  assert.doesNotMatch(all, /\/api\/v2\/|sim\.test/);
  const ch2 = doc(b, 'OEBPS/text/ch02.xhtml');
  assert.match(ch2, /<img src="\.\.\/images\/a\/fig\.png" alt="A again"\/>/);
  assert.match(ch2, /<a href="ch01\.xhtml#fig-b">figure B by its reader URL<\/a>/);
  assert.match(doc(b, 'OEBPS/text/ch01.xhtml'), /<link rel="stylesheet" type="text\/css" href="\.\.\/styles\/book\.css"\/>/);
});

test('package mode: the OPF is repaired: one dcterms:modified, XML-name ids, media types from bytes, undeclared files declared, missing ones dropped', () => {
  const b = build();
  const opf = doc(b, 'OEBPS/content.opf');
  assert.deepEqual(
    [...opf.matchAll(/<meta property="dcterms:modified">([^<]+)</g)].map((m) => m[1]),
    ['2024-02-01T00:00:00Z'],
  );
  assert.match(opf, /<dc:identifier id="bookid">urn:isbn:9781098765432<\/dc:identifier>/);
  assert.doesNotMatch(opf, /duplicate-id-attribute/);
  for (const m of opf.matchAll(/ id="([^"]+)"/g)) assert.match(m[1]!, /^[A-Za-z_][\w.-]*$/);
  assert.match(opf, /href="images\/b\/fig\.png" media-type="image\/png"/, 'declared image/jpeg, bytes say PNG');
  assert.match(opf, /href="images\/undeclared\.gif" media-type="image\/gif"/);
  assert.match(opf, /href="fonts\/BookSans\.woff" media-type="font\/woff"/);
  assert.doesNotMatch(opf, /missing\.png|fake\.png|remote\.png|outside|scripted|old-output|<guide/);
  assert.match(opf, /href="images\/cover\.png" media-type="image\/png" properties="cover-image"/);
  assert.match(opf, /<meta name="cover" content="cover-image"\/>/);
  assert.equal(opf.match(/<itemref /g)?.length, 3);
  assert.match(opf, /<dc:title>C\+\+ &amp; Python/);
  assert.match(opf, /<dc:creator id="creator2">Grace Hopper<\/dc:creator>/);
});

test('package mode: the publisher nav and NCX are kept, their dead entries dropped and ids fixed', () => {
  const b = build();
  const nav = doc(b, 'OEBPS/nav.xhtml');
  assert.match(nav, /<a href="text\/ch01\.xhtml#id-1fn">Footnote<\/a>/);
  assert.match(nav, /<span>Appendices<\/span><ol><li><a href="text\/appendix\/app-a\.xhtml">Appendix A<\/a>/);
  assert.doesNotMatch(nav, /ch09|Gone|Untyped/);
  assert.match(nav, /<nav epub:type="landmarks" id="landmarks" hidden=""><ol><li><a epub:type="bodymatter" href="text\/ch01\.xhtml">Start<\/a>/);
  const ncx = doc(b, 'OEBPS/toc.ncx');
  assert.match(ncx, /<meta name="dtb:uid" content="urn:isbn:9781098765432"\/>/);
  assert.match(ncx, /<content src="text\/ch01\.xhtml#id-1fn"\/>/);
  assert.doesNotMatch(ncx, /ch09|wrong-uid|id="1"|id="n:2"/);
});

test('package mode: XML the HTML parser would misread survives: self-closing anchors, CDATA, a newline after <pre>', () => {
  const files = packageFiles();
  const ch = files.find((f) => f.path === 'OEBPS/text/ch01.xhtml')!;
  ch.data = enc(
    '<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>T</title>' +
      '<style type="text/css"><![CDATA[ p > em { color: red } ]]></style></head><body>' +
      '<p><a id="x"/>after anchor &nbsp;&hellip;</p><pre>\nfirst line kept</pre><p><![CDATA[ a < b & c ]]></p>' +
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg></body></html>',
  );
  const out = doc(build('epub', files), 'OEBPS/text/ch01.xhtml');
  assert.match(out, /<p><a id="x"><\/a>after anchor \u00a0…<\/p>/);
  assert.match(out, /<pre>\nfirst line kept<\/pre>/);
  assert.match(out, /<p> a &lt; b &amp; c <\/p>/);
  assert.match(out, /<style type="text\/css"> p &gt; em \{ color: red \} <\/style>/);
  assert.match(out, /<rect width="10" height="10"\/><\/svg>/);
});

test('package mode: hostile full_paths fail only their asset and nothing outside the package is written', () => {
  const b = build();
  for (const e of b.entries) {
    assert.ok(!e.path.startsWith('/') && !e.path.split('/').includes('..') && !/[\\:\u0000]/.test(e.path), e.path);
    assert.doesNotMatch(e.path, /outside|passwd|win\.png|evil|escape|nul|\.epub$/);
  }
  const gaps = b.gaps.join('\n');
  for (const p of [
    '../../../outside.png',
    '/etc/passwd',
    'OEBPS\\..\\..\\win.png',
    'C:/Windows/evil.png',
    'OEBPS/a/../../../escape.png',
    'OEBPS/nul\\x00.png',
  ]) {
    assert.ok(gaps.includes(`${p}: unsafe path, skipped`), p);
  }
  assert.match(gaps, /OEBPS\/images\/fake\.png: not an image \(the server sent an HTML page\), replaced by a placeholder/);
  assert.match(gaps, /https:\/\/cdn\.evil\.invalid\/remote\.png: remote resource in the manifest, dropped/);
  assert.match(gaps, /OEBPS\/images\/missing\.png: missing/);
});

test('package mode: an unusable package throws a permanent error so the caller can rebuild from chapters', () => {
  const expectPermanent = (files: FetchedFile[], pattern: RegExp) =>
    assert.throws(
      () => build('epub', files),
      (err: unknown) => err instanceof BookdError && err.kind === 'permanent' && pattern.test(err.message),
    );
  const withoutOpf = packageFiles().filter((f) => !f.path.endsWith('.opf') && f.path !== 'META-INF/container.xml');
  expectPermanent(withoutOpf, /no OPF package document.*rebuild the book from its chapters/);
  const badOpf = packageFiles().map((f) => (f.path.endsWith('.opf') ? { ...f, data: enc('<<<not xml') } : f));
  expectPermanent(badOpf, /not a package document/);
  const noSpineDocs = packageFiles().filter((f) => !f.path.endsWith('.xhtml') || f.path.endsWith('nav.xhtml'));
  expectPermanent(noSpineDocs, /no document of its spine/);
  expectPermanent([], /no OPF/);
});

test('package mode: a package at the root with no container.xml and a relative-only layout', async () => {
  const files: FetchedFile[] = [
    {
      path: 'package.opf',
      data: enc(
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="u"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="u">x</dc:identifier><dc:title>T</dc:title><dc:language>de</dc:language></metadata><manifest><item id="c" href="c.xhtml" media-type="application/xhtml+xml"/></manifest><spine><itemref idref="c"/></spine></package>',
      ),
    },
    { path: 'c.xhtml', data: enc('<html xmlns="http://www.w3.org/1999/xhtml"><head><title>C</title></head><body><p>Hallo Welt</p></body></html>') },
  ];
  const b = buildFromPackage({ meta: { ...sampleMeta(), language: '' }, bookId: BOOK_ID, files, format: 'kindle' });
  const opf = doc(b, 'package.opf');
  assert.match(opf, /<dc:language>de<\/dc:language>/, 'language from the package when the API gives none');
  assert.match(opf, /<dc:identifier id="bookid">x<\/dc:identifier>/);
  assert.match(doc(b, 'c.xhtml'), /<link rel="stylesheet" type="text\/css" href="bookd-kindle\.css"\/><\/head>/);
  const r = await validate(b, tmp.dir, 'root-package.epub', false);
  assert.deepEqual(r.errors, []);
});
