import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, test } from 'node:test';
import { tempDir } from '../../test/helpers/cli.js';
import { readEpub, text } from '../../test/fixtures/epub/inspect.js';
import { BOOK_ID, CHAPTER_BODIES, FILES, IMAGES, chapterModeInput, sampleMeta } from '../../test/fixtures/epub/sample-book.js';
import { bodyOf, visibleText } from '../../test/fixtures/epub/text.js';
import { validate } from '../../test/fixtures/epub/validate.js';
import { buildFromChapters } from './from-chapters.js';
import type { EpubBuild } from './model.js';
import { writeEpub } from './zip.js';

const tmp = tempDir('bookd-epub-chapters-');
after(tmp.cleanup);

const entry = (b: EpubBuild, path: string) => b.entries.find((e) => e.path === path)?.data;
const xhtml = (b: EpubBuild, path: string) => text(entry(b, path));

test('chapter mode: the sample book has 0 epubcheck errors in both formats', async () => {
  const results = await Promise.all((['epub', 'kindle'] as const).map((f) => validate(buildFromChapters(chapterModeInput(f)), tmp.dir, `chapters-${f}.epub`)));
  for (const r of results) assert.deepEqual(r.errors, [], r.file);
});

test('chapter mode: the text of every chapter equals its source', () => {
  const build = buildFromChapters(chapterModeInput('epub'));
  for (const [path, source] of Object.entries(CHAPTER_BODIES)) {
    const out = path.replace(/\.html$/, '.xhtml');
    assert.equal(visibleText(bodyOf(xhtml(build, out))), visibleText(source), out);
  }
  assert.equal(build.chapters, 3);
});

test('chapter mode: images are byte-identical and same-named images in two folders stay apart', () => {
  const build = buildFromChapters(chapterModeInput('epub'));
  for (const [path, data] of Object.entries(IMAGES)) assert.deepEqual(entry(build, path), data, path);
  assert.notDeepEqual(entry(build, 'OEBPS/images/a/fig.png'), entry(build, 'OEBPS/images/b/fig.png'));
  const ch1 = xhtml(build, 'OEBPS/text/ch01.xhtml');
  assert.match(ch1, /<img src="\.\.\/images\/a\/fig\.png"/);
  assert.match(ch1, /<img src="\.\.\/images\/b\/fig\.png"/);
  const app = xhtml(build, 'OEBPS/text/appendix/app-a.xhtml');
  assert.match(app, /<img src="\.\.\/\.\.\/images\/b\/fig\.png"/);
});

test('chapter mode: missing, remote and fake images become a placeholder and are reported as gaps', () => {
  const build = buildFromChapters(chapterModeInput('epub'));
  const ch1 = xhtml(build, 'OEBPS/text/ch01.xhtml');
  assert.equal(ch1.match(/src="\.\.\/\.\.\/bookd-missing-image\.svg"/g)?.length, 4);
  assert.doesNotMatch(ch1, /src="[^"]*(evil|missing\.png|fake|passwd)/);
  assert.ok(entry(build, 'bookd-missing-image.svg'));
  assert.equal(entry(build, 'OEBPS/images/fake.png'), undefined, 'an HTML page is never stored as an image');
  const gaps = build.gaps.join('\n');
  assert.match(gaps, /OEBPS\/images\/missing\.png: missing/);
  assert.match(gaps, /OEBPS\/images\/fake\.png: not an image \(the server sent an HTML page\)/);
  assert.match(gaps, /http:\/\/evil\.invalid\/tracker\.png: remote image not fetched/);
  assert.match(gaps, /https:\/\/cdn\.evil\.invalid\/site\.css: remote stylesheet not fetched/);
  assert.match(gaps, /OEBPS\/fonts\/Missing\.woff: missing/);
});

test('chapter mode: CSS references to fonts and images are rewritten; a rule for a missing font is dropped', () => {
  const css = text(entry(buildFromChapters(chapterModeInput('epub')), 'OEBPS/styles/book.css'));
  assert.match(css, /src: url\("\.\.\/fonts\/BookSans\.woff"\) format\("woff"\)/);
  assert.match(css, /background: url\("\.\.\/images\/bg\.gif"\) no-repeat/);
  assert.doesNotMatch(css, /Missing\.woff|"Gone"/);
  assert.match(css, /url\(not-a-ref\.png\) inside a comment stays/);
});

test('chapter mode: cross-chapter links keep fragments, follow renamed ids and drop missing anchors', () => {
  const build = buildFromChapters(chapterModeInput('epub'));
  const ch1 = xhtml(build, 'OEBPS/text/ch01.xhtml');
  const ch2 = xhtml(build, 'OEBPS/text/ch02.xhtml');
  assert.match(ch1, /<a href="ch02\.xhtml#sec-2-1">the next section<\/a>/);
  assert.match(ch1, /<a href="ch02\.xhtml">a lost anchor<\/a>/);
  assert.match(ch1, /id="id-1fn-ref" href="#id-1fn"/);
  assert.match(ch1, /<p data-type="footnote" id="id-1fn"><sup><a href="#id-1fn-ref">/);
  assert.match(ch2, /<a href="ch01\.xhtml#id-1fn">the footnote<\/a>/);
  assert.match(ch2, /<a href="ch01\.xhtml#fig-b">figure B by its reader URL<\/a>/);
  assert.match(ch2, /<a href="https:\/\/www\.oreilly\.com\/">/);
  assert.match(ch2, /id="dup">First dup<\/p><p id="dup-2">Second dup/);
  const app = xhtml(build, 'OEBPS/text/appendix/app-a.xhtml');
  assert.match(app, /<a href="\.\.\/ch01\.xhtml">Chapter 1<\/a>/);
});

test('chapter mode: output is well-formed XHTML with the EPUB declarations, site chrome and scripts left out', () => {
  const ch1 = xhtml(buildFromChapters(chapterModeInput('epub')), 'OEBPS/text/ch01.xhtml');
  assert.ok(
    ch1.startsWith(
      '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"',
    ),
  );
  assert.match(ch1, /<title>Chapter 1\. Getting Started<\/title>/);
  assert.match(ch1, /line break|a<br\/>line/);
  assert.doesNotMatch(ch1, /&nbsp;|&mdash;|<script|Site header|Site footer|tracking/);
  assert.match(ch1, /if \(a &lt; b &amp;&amp; c &gt; d\)/);
});

test('chapter mode: nav and NCX come from the TOC, with dtb:uid equal to the OPF identifier', () => {
  const build = buildFromChapters(chapterModeInput('epub'));
  const opf = xhtml(build, 'content.opf');
  const nav = xhtml(build, 'nav.xhtml');
  const ncx = xhtml(build, 'toc.ncx');
  assert.match(opf, /<dc:identifier id="bookid">urn:isbn:9781098765432<\/dc:identifier>/);
  assert.match(ncx, /<meta name="dtb:uid" content="urn:isbn:9781098765432"\/>/);
  assert.equal(opf.match(/dcterms:modified/g)?.length, 1);
  assert.match(opf, /<item id="nav" href="nav\.xhtml" media-type="application\/xhtml\+xml" properties="nav"\/>/);
  assert.match(opf, /properties="cover-image"/);
  assert.match(opf, /<meta name="cover" content="OEBPS_images_cover\.png"\/>/);
  assert.match(opf, /<item id="OEBPS_text_ch02\.xhtml" [^>]*properties="svg"/);
  assert.match(nav, /<a href="OEBPS\/text\/ch01\.xhtml#id-1fn">Footnote<\/a>/);
  assert.match(nav, /<a href="OEBPS\/text\/ch02\.xhtml#sec-2-2">2\.2 Odd ids<\/a>/);
  assert.doesNotMatch(nav, /Gone/);
  for (const id of opf.matchAll(/<item id="([^"]+)"/g)) assert.match(id[1]!, /^[A-Za-z_][\w.-]*$/);
});

test('chapter mode: kindle links the e-reader CSS last from every content document', () => {
  const build = buildFromChapters(chapterModeInput('kindle'));
  const docs = build.entries.filter((e) => e.path.endsWith('.xhtml'));
  assert.equal(docs.length, 5);
  for (const d of docs) {
    const head = /<head>([\s\S]*?)<\/head>/.exec(text(d.data))![1]!;
    const links = [...head.matchAll(/<link [^>]*href="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(links.at(-1)?.endsWith('bookd-kindle.css'), `${d.path}: ${links.join(', ')}`);
  }
  assert.match(text(entry(build, 'bookd-kindle.css')), /pre, pre \*, code, table, table \* \{\s*white-space: pre-wrap/);
  assert.equal(entry(buildFromChapters(chapterModeInput('epub')), 'bookd-kindle.css'), undefined);
});

test('chapter mode: hostile paths stay inside the package and are reported', () => {
  const input = chapterModeInput('epub');
  input.chapters.push({
    path: '../../../etc/cron.d/evil.html',
    url: `${FILES}../../x.html`,
    title: 'Evil',
    html: '<div id="sbo-rt-content"><p>evil chapter</p></div>',
  });
  input.assets.push({ url: 'http://sim.test/x/y.png', path: 'C:\\Windows\\y.png', data: IMAGES['OEBPS/images/a/fig.png'], mediaType: 'image/png' });
  const build = buildFromChapters(input);
  for (const e of build.entries) {
    assert.ok(!e.path.startsWith('/') && !e.path.split('/').includes('..') && !e.path.includes('\\'), e.path);
    assert.doesNotMatch(e.path, /etc|passwd|Windows|cron/);
  }
  assert.ok(entry(build, 'text/chapter-004.xhtml'), 'the chapter itself is kept under a safe name');
  assert.match(build.gaps.join('\n'), /\.\.\/\.\.\/\.\.\/etc\/cron\.d\/evil\.html: unsafe chapter path/);
  assert.match(build.gaps.join('\n'), /C:\\Windows\\y\.png: unsafe path/);
});

test('chapter mode: chapter URLs in another form still resolve relative references', async () => {
  const meta = sampleMeta();
  const build = buildFromChapters({
    meta,
    bookId: BOOK_ID,
    chapters: [
      {
        path: 'ch01.html',
        url: 'https://learning.example/api/v1/book/other/chapter-content/ch01.html',
        title: 'One',
        html: '<div id="sbo-rt-content"><p><img src="img/x.png"> <a href="ch02.html#t">two</a></p></div>',
      },
      {
        path: 'ch02.html',
        url: 'https://learning.example/api/v1/book/other/chapter-content/ch02.html',
        title: 'Two',
        html: '<body><h1 id="t">Two</h1><p>No content div: the whole body.</p></body>',
      },
    ],
    toc: [],
    assets: [{ url: 'https://learning.example/api/v1/book/other/chapter-content/img/x.png', path: 'img/x.png', data: IMAGES['OEBPS/images/a/fig.png'] }],
    format: 'epub',
  });
  assert.match(xhtml(build, 'ch01.xhtml'), /<img src="img\/x\.png" alt=""\/> <a href="ch02\.xhtml#t">two<\/a>/);
  assert.match(xhtml(build, 'ch02.xhtml'), /<h1 id="t">Two<\/h1><p>No content div: the whole body\.<\/p>/);
  assert.deepEqual(build.gaps, []);
  const r = await validate(build, tmp.dir, 'other-urls.epub', false);
  assert.deepEqual(r.errors, []);
});

test('chapter mode: the same input gives the same bytes (so an unchanged book is not archived twice)', async () => {
  const a = `${tmp.dir}/same-a.epub`;
  const b = `${tmp.dir}/same-b.epub`;
  const ra = await writeEpub(buildFromChapters(chapterModeInput('epub')), a);
  const rb = await writeEpub(buildFromChapters(chapterModeInput('epub')), b);
  assert.equal(ra.sha256, rb.sha256);
  assert.deepEqual(await readFile(a), await readFile(b));
  const view = readEpub(new Uint8Array(await readFile(a)));
  assert.equal(view.names[0], 'mimetype');
  assert.equal(view.names[1], 'META-INF/container.xml');
});
