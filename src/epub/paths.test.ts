import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bookPathFromUrl, printable, relativeHref, safePackagePath, zipSafePath } from './paths.js';
import { resolveRef } from './resolve.js';

test('safePackagePath: normal paths are normalised', () => {
  assert.equal(safePackagePath('OEBPS/text/ch01.xhtml'), 'OEBPS/text/ch01.xhtml');
  assert.equal(safePackagePath('./OEBPS//images/./a/fig.png'), 'OEBPS/images/a/fig.png');
  assert.equal(safePackagePath('OEBPS/a/../b.png'), 'OEBPS/b.png');
  assert.equal(safePackagePath('ch01.html'), 'ch01.html');
  assert.equal(safePackagePath('C++ Primer/ünïcode 日本.png'), 'C++ Primer/ünïcode 日本.png');
  assert.equal(safePackagePath('%2e%2e/x.png'), '%2e%2e/x.png', 'percent signs are just characters in a full_path');
});

test('safePackagePath: anything absolute, escaping, with backslashes, NUL, controls or a drive letter is refused', () => {
  for (const bad of [
    '',
    '/etc/passwd',
    '../x.png',
    'a/../../x.png',
    'OEBPS/../..',
    '..',
    'a\\..\\b.png',
    'C:/Windows/x.png',
    'c:x.png',
    'a/b\u0000.png',
    'a/\u001b[31m.png',
    '.',
    './',
    'x'.repeat(2000),
  ]) {
    assert.equal(safePackagePath(bad), null, JSON.stringify(bad));
  }
});

test('zipSafePath: characters epubcheck and Windows refuse are replaced, letters kept', () => {
  assert.equal(zipSafePath('OEBPS/images/my figure?.png'), 'OEBPS/images/my_figure_.png');
  assert.equal(zipSafePath('a:b/c*d|e"f<g>.css'), 'a_b/c_d_e_f_g_.css');
  assert.equal(zipSafePath('dir./name...'), 'dir_/name___');
  assert.equal(zipSafePath('C++/日本語.xhtml'), 'C++/日本語.xhtml');
  assert.equal(zipSafePath('cafe\u0301.png'), 'café.png', 'NFC');
});

test('relativeHref: from one package file to another, percent-encoded, with fragment', () => {
  assert.equal(relativeHref('OEBPS/text/ch01.xhtml', 'OEBPS/images/a/fig.png'), '../images/a/fig.png');
  assert.equal(relativeHref('OEBPS/text/ch01.xhtml', 'OEBPS/text/ch02.xhtml', 'sec-1'), 'ch02.xhtml#sec-1');
  assert.equal(relativeHref('nav.xhtml', 'OEBPS/text/a b.xhtml'), 'OEBPS/text/a%20b.xhtml');
  assert.equal(relativeHref('OEBPS/x.css', 'OEBPS/C++ (1).png'), 'C%2B%2B%20%281%29.png');
  assert.equal(relativeHref('a/b/c.xhtml', 'd.png'), '../../d.png');
});

test('bookPathFromUrl: the files API, the reader URL and the old chapter API map to package paths on any host', () => {
  const id = '9781098765432';
  const p = (u: string) => bookPathFromUrl(new URL(u), id);
  assert.equal(p(`https://learning.oreilly.com/api/v2/epubs/urn:orm:book:${id}/files/OEBPS/a.png`), 'OEBPS/a.png');
  assert.equal(p(`http://127.0.0.1:9/api/v2/epubs/urn%3Aorm%3Abook%3A${id}/files/OEBPS/a%20b.png`), 'OEBPS/a b.png');
  assert.equal(p(`https://x/library/view/some-slug/${id}/ch01.html`), 'ch01.html');
  assert.equal(p(`https://x/api/v1/book/${id}/chapter/ch01.html`), 'ch01.html');
  assert.equal(p(`https://x/api/v2/epubs/urn:orm:book:9999999999999/files/a.png`), null, 'another book');
  assert.equal(p('https://evil.invalid/a.png'), null);
  assert.equal(p('http://package.invalid/OEBPS/x.css'), 'OEBPS/x.css');
  assert.equal(p(`https://x/api/v2/epubs/urn:orm:book:${id}/files/a%5C..%5Cb.png`), null, 'an encoded backslash is still refused');
});

test('resolveRef: fragments, remote URLs, link-only schemes and data URLs are told apart', () => {
  const base = 'http://package.invalid/OEBPS/text/ch01.xhtml';
  const toPath = (u: URL) => (u.origin === 'http://package.invalid' ? decodeURIComponent(u.pathname.slice(1)) : null);
  assert.deepEqual(resolveRef('#f%C3%BC', base, toPath), { kind: 'self', fragment: 'fü' });
  assert.deepEqual(resolveRef('../images/x.png?v=1#y', base, toPath), {
    kind: 'local',
    path: 'OEBPS/images/x.png',
    fragment: 'y',
    url: 'http://package.invalid/OEBPS/images/x.png?v=1',
  });
  assert.deepEqual(resolveRef('//evil.invalid/x.png', base, toPath), { kind: 'remote', url: 'http://evil.invalid/x.png' });
  assert.deepEqual(resolveRef('mailto:a@b.c', base, toPath), { kind: 'link-only', url: 'mailto:a@b.c' });
  assert.deepEqual(resolveRef('data:image/png;base64,AAAA', base, toPath), { kind: 'data' });
  assert.deepEqual(resolveRef('javascript:alert(1)', base, toPath), { kind: 'invalid' });
  assert.deepEqual(resolveRef('file:///etc/passwd', base, toPath), { kind: 'invalid' });
  assert.deepEqual(resolveRef('../../../../../etc/passwd', base, toPath).kind, 'local', 'clamped at the package root, never above it');
});

test('printable: control characters in hostile names are shown escaped', () => {
  assert.equal(printable('a\u0000b\u001b[31m'), 'a\\x00b\\x1b[31m');
});
