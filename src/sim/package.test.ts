import { test } from 'node:test';
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import { unzipSync } from 'fflate';
import { generateCatalogue, PACKAGE_LAYOUTS, type Catalogue } from './catalogue.js';
import { chapterApiPage, previewXhtml } from './chapter-api.js';
import { crc32 } from './images.js';
import { chapterText } from './markup.js';
import { bookContent, type BookContent } from './package.js';
import { toEpub } from './zip.js';

const BASE = 'http://127.0.0.1:9';

function content(cat: Catalogue, pick: (b: Catalogue['books'][number]) => boolean): BookContent {
  const book = cat.books.find((b) => b.format === 'book' && pick(b));
  assert.ok(book, 'no book matches');
  return bookContent(cat, book.id)!;
}

function xmlErrors(text: string, type: 'application/xhtml+xml' | 'text/xml'): string[] {
  const errors: string[] = [];
  try {
    new DOMParser({ onError: (level, msg) => void (level !== 'warning' && errors.push(msg)) }).parseFromString(text, type);
  } catch (err) {
    errors.push(String(err));
  }
  return errors;
}

const text = (c: BookContent, path: string) => c.byPath.get(path)!.bytes.toString('utf8');

test('a book is generated with the same bytes every time, and the size options change them', () => {
  const a = content(generateCatalogue({ seed: 5, books: 12 }), (b) => b.index === 3);
  const b = content(generateCatalogue({ seed: 5, books: 12 }), (b) => b.index === 3);
  assert.deepEqual(
    a.files.map((f) => f.path),
    b.files.map((f) => f.path),
  );
  for (const f of a.files) assert.ok(f.bytes.equals(b.byPath.get(f.path)!.bytes), f.path);
  const bigger = content(generateCatalogue({ seed: 5, books: 12, chapterKb: 24 }), (x) => x.index === 3);
  const ch01 = a.plan.chapters[0]!.path;
  assert.equal(bigger.plan.chapters[0]!.path, ch01, 'the size options do not change the layout');
  assert.ok(text(bigger, ch01).length > text(a, ch01).length * 1.6);
});

test('size options give benchmark-sized books (30 chapters, a few MB)', () => {
  const c = content(generateCatalogue({ seed: 2, books: 3, chapters: 30, chapterKb: 40, images: 3, imageKb: 30 }), () => true);
  assert.equal(c.chapters.length, 30);
  const total = c.files.reduce((n, f) => n + f.bytes.length, 0);
  assert.ok(total > 3_000_000 && total < 8_000_000, `${total} bytes`);
  const ch = text(c, c.plan.chapters[9]!.path).length;
  assert.ok(ch > 38 * 1024 && ch < 50 * 1024, `chapter of ${ch} bytes`);
});

test('the package: mimetype first, container, OPF with metadata, nav, NCX, and well-formed XML', () => {
  const cat = generateCatalogue({ seed: 1, books: 12 });
  const c = content(cat, (b) => b.layout === 'oebps-text' && !b.variants.includes('no-container') && !b.variants.includes('decoy-opf'));
  assert.equal(c.files[0]!.path, 'mimetype');
  assert.equal(c.files[0]!.bytes.toString(), 'application/epub+zip');
  assert.match(text(c, 'META-INF/container.xml'), /full-path="OEBPS\/content\.opf"/);
  const opf = text(c, 'OEBPS/content.opf');
  assert.match(opf, /<dc:identifier id="bookid">urn:isbn:\d{13}<\/dc:identifier>/);
  assert.match(opf, /properties="cover-image"/);
  assert.match(opf, /properties="nav"/);
  assert.match(opf, /<spine toc="x-toc-ncx">/);
  assert.equal(opf.match(/dcterms:modified/g)?.length, 1);
  for (const f of c.files.filter((x) => /xml|xhtml|dtbncx|oebps/.test(x.mediaType))) {
    assert.deepEqual(xmlErrors(f.bytes.toString('utf8'), f.mediaType === 'application/xhtml+xml' ? 'application/xhtml+xml' : 'text/xml'), [], f.path);
  }
  const manifestIds = [...opf.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]!);
  assert.equal(new Set(manifestIds).size, manifestIds.length);
  for (const id of manifestIds) assert.match(id, /^[A-Za-z_][A-Za-z0-9_.-]*$/);
});

test('images are real images of their format; the font is a real WOFF; two images share a basename', () => {
  const c = content(generateCatalogue({ seed: 1, books: 12 }), (b) => b.index === 1);
  const at = (p: string) => (c.plan.root ? `${c.plan.root}/${p}` : p);
  const images = c.files.filter((f) => f.kind === 'image');
  const exts = new Set(images.map((f) => f.path.slice(f.path.lastIndexOf('.') + 1)));
  assert.deepEqual([...exts].sort(), ['gif', 'jpg', 'png', 'svg']);
  for (const f of images) {
    const b = f.bytes;
    if (f.mediaType === 'image/png') {
      assert.ok(b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), f.path);
      for (let at = 8; at < b.length;) {
        const len = b.readUInt32BE(at);
        assert.equal(crc32(b.subarray(at + 4, at + 8 + len)), b.readUInt32BE(at + 8 + len), `${f.path} chunk CRC`);
        at += 12 + len;
      }
    } else if (f.mediaType === 'image/jpeg') {
      assert.ok(b[0] === 0xff && b[1] === 0xd8 && b.at(-2) === 0xff && b.at(-1) === 0xd9, f.path);
    } else if (f.mediaType === 'image/gif') {
      assert.equal(b.subarray(0, 6).toString('latin1'), 'GIF89a');
      assert.equal(b.at(-1), 0x3b);
    } else {
      assert.match(b.toString('utf8'), /^<\?xml[^>]*>\s*<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    }
  }
  const names = images.map((f) => posix.basename(f.path));
  assert.ok(c.byPath.has(at('images/a/figure.png')) && c.byPath.has(at('images/b/figure.png')));
  assert.ok(names.length > new Set(names).size);
  const font = c.byPath.get(at('fonts/SimSans-Regular.woff'))!.bytes;
  assert.equal(font.subarray(0, 4).toString('latin1'), 'wOFF');
  assert.equal(font.readUInt32BE(8), font.length, 'WOFF length field');
  const css = text(c, at('styles/book.css'));
  assert.match(css, /url\("\.\.\/fonts\/SimSans-Regular\.woff"\)/);
  assert.match(css, /url\(\.\.\/images\/bg\/pattern\.gif\)/);
});

/** Every reference in a package file: [from, target path, fragment]. */
function references(c: BookContent): [string, string, string][] {
  const out: [string, string, string][] = [];
  for (const f of c.files) {
    if (!/xhtml|dtbncx|oebps|css/.test(f.mediaType)) continue;
    const body = f.bytes.toString('utf8');
    const refs = [...body.matchAll(/\b(?:href|src)="([^"]*)"|url\(\s*["']?([^"')]*)["']?\s*\)/g)].map((m) => m[1] ?? m[2]!);
    for (const ref of refs) {
      if (/^[a-z]+:/i.test(ref)) continue;
      const [path, fragment = ''] = ref.split('#') as [string, string?];
      out.push([f.path, path === '' ? f.path : posix.normalize(posix.join(posix.dirname(f.path), path)), fragment]);
    }
  }
  return out;
}

test('every reference inside the package resolves, fragments included, and ids are XML names', () => {
  const cat = generateCatalogue({ seed: 4, books: 12 });
  const layouts = PACKAGE_LAYOUTS.map((l) => content(cat, (b) => b.layout === l));
  for (const c of [content(cat, (b) => b.index === 2), content(cat, (b) => b.language !== 'en'), ...layouts]) {
    const refs = references(c);
    assert.ok(refs.length > 50);
    for (const [from, path, fragment] of refs) {
      const target = c.byPath.get(path);
      assert.ok(target, `${from} refers to missing ${path}`);
      if (fragment) assert.ok(target.bytes.toString('utf8').includes(` id="${fragment}"`), `${from} → ${path}#${fragment}`);
    }
    for (const f of c.files.filter((x) => x.mediaType === 'application/xhtml+xml')) {
      for (const m of f.bytes.toString('utf8').matchAll(/ id="([^"]*)"/g)) assert.match(m[1]!, /^[A-Za-z_][A-Za-z0-9_.-]*$/, `${f.path} id ${m[1]}`);
    }
    assert.ok(
      refs.some(([from, path, frag]) => from !== path && /(^|\/)ch\d+\.x?html$/.test(path) && frag.startsWith('sec-')),
      'a cross-chapter link with a fragment',
    );
  }
});

test('chapters are HTMLBook: sections, figures, escaped code, footnotes, cross-chapter links', () => {
  const c = content(generateCatalogue({ seed: 1, books: 12 }), (b) => b.layout === 'oebps-text');
  const ch = text(c, 'OEBPS/text/ch01.xhtml');
  assert.match(ch, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<!DOCTYPE html>/);
  assert.match(ch, /<section data-type="chapter" epub:type="chapter" id="ch01">\n<h1>/);
  assert.match(ch, /<section data-type="sect1" id="sec-1-1">\n<h2>/);
  assert.match(ch, /<figure id="fig-1-1"><img src="\.\.\/images\/a\/figure\.png" alt="[^"]+"\/>\n<figcaption>/);
  assert.match(ch, /<pre data-type="programlisting" data-code-language="\w+">[^<]*&lt;[^<]*<\/pre>/);
  assert.match(ch, /<pre data-type="programlisting"[^>]*>[^<]*&amp;/);
  assert.match(ch, /<a data-type="noteref" id="fnref-1-1" href="#fn-1-1">1<\/a>/);
  assert.match(ch, /<p data-type="footnote" id="fn-1-1">/);
  assert.match(ch, /<a data-type="xref" href="ch02\.xhtml#sec-2-1">/);
  assert.match(ch, /<br\/>/);
  assert.doesNotMatch(ch, /&(nbsp|mdash|eacute);/, 'no HTML named entities in XML');
});

test('the chapter API page has the same text as the package chapter, in HTML spelling', () => {
  const cat = generateCatalogue({ seed: 9, books: 30, bigBooks: 1, bigChapters: 250 });
  const books = [content(cat, (b) => b.layout === 'oebps-text'), content(cat, (b) => b.language !== 'en'), content(cat, (b) => b.chapters === 250)];
  for (const c of books) {
    for (const ch of c.chapters.slice(0, 12)) {
      const page = chapterApiPage(c, ch, BASE);
      assert.equal(chapterText(page), chapterText(text(c, ch.path)), `${c.book.id} ${ch.path}`);
      assert.ok(chapterText(page).length > 500);
    }
  }
  const c = books[0]!;
  const page = chapterApiPage(c, c.chapters[0]!, BASE);
  assert.match(
    page,
    /^<html><head><link rel="stylesheet" type="text\/css" href="http:\/\/127\.0\.0\.1:9\/api\/v2\/epubs\/urn:orm:book:\d{13}\/files\/OEBPS\/styles\/book\.css"><\/head><body><div id="sbo-rt-content">/,
  );
  assert.match(page, /&nbsp;/);
  assert.match(page, /&(mdash|eacute|uuml|hellip|rsquo);/);
  assert.match(page, /<br>\n/);
  assert.match(page, /<img src="[^"]+" alt="[^"]+">\n/, 'void elements left open');
  assert.match(page, /id="1-fn-1"/, 'digit-leading footnote id');
  const id = c.book.id;
  const all = c.chapters.map((ch) => chapterApiPage(c, ch, BASE)).join('');
  assert.match(all, new RegExp(`src="${BASE}/api/v2/epubs/urn:orm:book:${id}/files/OEBPS/images/`), 'absolute image URL');
  assert.match(all, new RegExp(`src="/api/v2/epubs/urn:orm:book:${id}/files/OEBPS/images/`), 'root-relative image URL');
  assert.match(all, /src="\.\.\/images\/[ab]\//, 'image URL relative to the chapter');
  assert.match(all, /href="ch\d+\.xhtml#sec-\d+-\d+"/, 'relative chapter link');
  assert.match(all, new RegExp(`href="/library/view/${c.book.slug}/${id}/OEBPS/text/ch\\d+\\.xhtml#sec-\\d+-\\d+"`), '/library/view/ chapter link');
});

test('a preview is cut short, ends in …, and carries the paywall', () => {
  const c = content(generateCatalogue({ seed: 1, books: 12 }), (b) => b.index === 0);
  const ch = c.chapters[2]!;
  for (const page of [chapterApiPage(c, ch, BASE, true), previewXhtml(c, ch)]) {
    assert.match(page, /<div class="controls"><div data-testid="preview-paywall">/);
    const words = chapterText(page).split(' ').length;
    assert.ok(words < ch.words / 4, `${words} words of ${ch.words}`);
    assert.match(page, /…<\/p>\n<\/section>/);
  }
  assert.deepEqual(xmlErrors(previewXhtml(c, ch), 'application/xhtml+xml'), []);
});

test('special books misbehave on their one file', () => {
  const cat = generateCatalogue({ seed: 1, books: 12, poison: true, hostile: true });
  const of = (flag: string) => content(cat, (b) => b.flags[0] === flag);
  const invalid = of('hostile-invalid-xml');
  assert.notDeepEqual(xmlErrors(text(invalid, invalid.plan.specialFile!), 'application/xhtml+xml'), []);
  const remote = of('hostile-remote-refs');
  assert.match(text(remote, 'OEBPS/styles/book.css'), /http:\/\/evil\.invalid\//);
  assert.match(chapterApiPage(remote, remote.chapters[0]!, BASE), /src="http:\/\/evil\.invalid\/x\.png"/);
  const paths = of('hostile-paths');
  assert.ok(paths.files.some((f) => f.path.includes('../')) && paths.files.some((f) => f.path.startsWith('/')));
  assert.match(text(of('hostile-html-image'), 'OEBPS/images/b/figure.png'), /<html>/);
  assert.equal(of('poison-chapter').plan.specialFile, 'OEBPS/text/ch02.xhtml');
});

test('package layouts: each keeps its files under its root folder, and container, OPF, nav and NCX agree', () => {
  const cat = generateCatalogue({ seed: 6, books: 8 });
  const chapterPath: Record<string, RegExp> = {
    'oebps-text': /^OEBPS\/text\/ch\d\d\.xhtml$/,
    'root-html': /^ch\d\d\.html$/,
    'oebps-xhtml': /^OEBPS\/xhtml\/ch\d\d\.xhtml$/,
    'epub-xhtml': /^EPUB\/xhtml\/ch\d\d\.xhtml$/,
  };
  for (const layout of PACKAGE_LAYOUTS) {
    const c = content(cat, (b) => b.layout === layout);
    const root = { 'oebps-text': 'OEBPS', 'root-html': '', 'oebps-xhtml': 'OEBPS', 'epub-xhtml': 'EPUB' }[layout];
    assert.equal(c.plan.root, root, layout);
    assert.equal(c.plan.opf, root ? `${root}/content.opf` : 'content.opf');
    for (const ch of c.chapters) assert.match(ch.path, chapterPath[layout]!, layout);
    for (const f of c.files) {
      if (f.path === 'mimetype' || f.path.startsWith('META-INF/')) continue;
      assert.ok(root ? f.path.startsWith(`${root}/`) : !/^(OEBPS|EPUB)\//.test(f.path), `${layout}: ${f.path}`);
    }
    assert.ok(
      c.chapters.every((ch) => c.byPath.get(ch.path)!.mediaType === 'application/xhtml+xml'),
      '.html chapters are XHTML too',
    );
    const opf = text(c, c.plan.opf);
    for (const ch of c.chapters)
      assert.match(opf, new RegExp(`href="${posix.relative(posix.dirname(c.plan.opf), ch.path).replace(/\./g, '\\.')}" media-type="application/xhtml\\+xml"`));
    const epub = unzipSync(toEpub(c));
    assert.match(new TextDecoder().decode(epub['META-INF/container.xml']), new RegExp(`full-path="${c.plan.opf}"`));
    for (const f of c.files.filter((x) => /xml|xhtml|dtbncx|oebps/.test(x.mediaType))) {
      assert.deepEqual(xmlErrors(f.bytes.toString('utf8'), f.mediaType === 'application/xhtml+xml' ? 'application/xhtml+xml' : 'text/xml'), [], f.path);
    }
  }
  const classic = generateCatalogue({ seed: 6, books: 8, packageLayouts: false });
  assert.ok(classic.books.every((b) => b.layout === 'oebps-text'));
  assert.ok(
    classic.books
      .filter((b) => b.format === 'book')
      .every((b) => bookContent(classic, b.id)!.chapters.every((ch) => /^OEBPS\/text\/ch\d\d\.xhtml$/.test(ch.path))),
  );
});

test('decoy-opf: a second, stale OPF listed before the real one, left out of the real manifest and of the EPUB', () => {
  const cat = generateCatalogue({ seed: 6, books: 16 });
  const decoys = cat.books.filter((b) => b.variants.includes('decoy-opf')).map((b) => bookContent(cat, b.id)!);
  assert.ok(decoys.length >= 3);
  const spots = new Set<string>();
  for (const c of decoys) {
    const decoy = c.plan.decoyOpf!;
    spots.add(posix.relative(c.plan.root || '.', decoy));
    assert.match(decoy, /(^|\/)(package\.opf|old\/content-2\.opf)$/);
    const opfs = c.files.filter((f) => f.mediaType === 'application/oebps-package+xml').map((f) => f.path);
    assert.deepEqual(opfs, [decoy, c.plan.opf], 'the decoy comes first');
    const real = text(c, c.plan.opf);
    const stale = text(c, decoy);
    assert.doesNotMatch(real, /package\.opf|content-2\.opf/);
    const count = (t: string) => (t.match(/<itemref /g) ?? []).length;
    assert.equal(count(real), c.chapters.length);
    assert.equal(count(stale), Math.ceil(c.chapters.length / 2));
    assert.doesNotMatch(stale, /properties="nav"/);
    assert.deepEqual(xmlErrors(stale, 'text/xml'), []);
    // Its references resolve from where it sits, to real files: it is stale, not broken.
    for (const m of stale.matchAll(/href="([^"]+)"/g)) assert.ok(c.byPath.has(posix.normalize(posix.join(posix.dirname(decoy), m[1]!))), `${decoy} → ${m[1]}`);
    assert.ok(!(decoy in unzipSync(toEpub(c))), 'the EPUB leaves the decoy out');
  }
  assert.deepEqual([...spots].sort(), ['old/content-2.opf', 'package.opf']);
});

test('no-container: the files do not hold META-INF/container.xml, and toEpub writes one', () => {
  const cat = generateCatalogue({ seed: 6, books: 16 });
  const bare = content(cat, (b) => b.variants.includes('no-container'));
  assert.equal(bare.plan.container, false);
  assert.ok(!bare.byPath.has('META-INF/container.xml'));
  const epub = unzipSync(toEpub(bare));
  assert.deepEqual(Object.keys(epub).slice(0, 2), ['mimetype', 'META-INF/container.xml']);
  assert.match(new TextDecoder().decode(epub['META-INF/container.xml']), new RegExp(`full-path="${bare.plan.opf}"`));
  const whole = content(cat, (b) => !b.variants.includes('no-container'));
  assert.ok(whole.byPath.has('META-INF/container.xml'));
  const off = generateCatalogue({ seed: 6, books: 16, listingVariants: false });
  assert.ok(off.books.every((b) => b.variants.length === 0));
  assert.ok(off.books.filter((b) => b.format === 'book').every((b) => bookContent(off, b.id)!.byPath.has('META-INF/container.xml')));
});
