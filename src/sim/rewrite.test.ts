import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rewriteForFilesApi } from './rewrite.js';

test('the files API turns package-relative references into absolute files paths', () => {
  const xhtml =
    '<a href="ch02.xhtml#sec-2-1">x</a><img src="../images/a/figure.png"/><a href="#fn-1">1</a><a href="http://evil.invalid/x">e</a><link href="../styles/book.css"/>';
  assert.equal(
    rewriteForFilesApi(xhtml, 'OEBPS/text/ch01.xhtml', '9781234567890'),
    '<a href="/api/v2/epubs/urn:orm:book:9781234567890/files/OEBPS/text/ch02.xhtml#sec-2-1">x</a>' +
      '<img src="/api/v2/epubs/urn:orm:book:9781234567890/files/OEBPS/images/a/figure.png"/>' +
      '<a href="#fn-1">1</a><a href="http://evil.invalid/x">e</a>' +
      '<link href="/api/v2/epubs/urn:orm:book:9781234567890/files/OEBPS/styles/book.css"/>',
  );
  assert.equal(
    rewriteForFilesApi('src: url("../fonts/a.woff"); background: url(../images/p.gif) url(http://x.invalid/y.png)', 'OEBPS/styles/book.css', '1'),
    'src: url("/api/v2/epubs/urn:orm:book:1/files/OEBPS/fonts/a.woff"); background: url(/api/v2/epubs/urn:orm:book:1/files/OEBPS/images/p.gif) url(http://x.invalid/y.png)',
  );
});
