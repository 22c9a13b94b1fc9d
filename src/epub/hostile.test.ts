import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BookdError } from '../errors.js';
import { BOOK_ID, packageFiles, sampleMeta } from '../../test/fixtures/epub/sample-book.js';
import { rewriteCss } from './css.js';
import { buildFromChapters } from './from-chapters.js';
import { buildFromPackage } from './from-package.js';
import { xhtmlToHtml } from './html/parse.js';

const enc = (s: string) => new TextEncoder().encode(s);
const chapter = (html: string) => ({
  meta: sampleMeta(),
  bookId: BOOK_ID,
  chapters: [{ path: 'a.html', url: 'http://h/a.html', title: 'A', html }],
  toc: [],
  assets: [],
  format: 'epub' as const,
});

test('markup nested deeper than the stack fails that book with a permanent error, in both modes', () => {
  const deep = `${'<div>'.repeat(100_000)}x${'</div>'.repeat(100_000)}`;
  const isPermanent = (err: unknown) => err instanceof BookdError && err.kind === 'permanent' && /nested too deeply/.test(err.message);
  assert.throws(() => buildFromChapters(chapter(`<div id="sbo-rt-content">${deep}</div>`)), isPermanent);
  const files = packageFiles().map((f) =>
    f.path === 'OEBPS/text/ch01.xhtml' ? { ...f, data: enc(`<html xmlns="http://www.w3.org/1999/xhtml"><body>${deep}</body></html>`) } : f,
  );
  assert.throws(() => buildFromPackage({ meta: sampleMeta(), bookId: BOOK_ID, files, format: 'epub' }), isPermanent);
});

// Each input below makes a backtracking pattern quadratic (minutes at this size); linear code takes milliseconds.
test('hostile markup and CSS cannot make the rewriting quadratic', { timeout: 30_000 }, () => {
  const n = 200_000;
  assert.equal(xhtmlToHtml('<a'.repeat(n)).length, 2 * n);
  assert.equal(xhtmlToHtml('<a "'.repeat(n)).length, 4 * n);
  assert.equal(xhtmlToHtml('<![CDATA['.repeat(n / 2)).length, 9 * (n / 2));
  assert.equal(xhtmlToHtml('<pre '.repeat(n)).length, 5 * n);
  const css = (s: string) => rewriteCss(s, () => 'x.png').length;
  assert.equal(css('url('.repeat(n)), 4 * n);
  assert.equal(css('@font-face{'.repeat(n / 2)), 11 * (n / 2));
  assert.ok(css('@import "'.repeat(n / 2)) > 0);
  const page = `<div id="sbo-rt-content">${'<p><o:p>w</o:p><span><div>d</div></span></p>'.repeat(5_000)}</div>`;
  assert.equal(buildFromChapters(chapter(page)).chapters, 1);
});
