import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachment } from './content-disposition.js';

/** The name a client that knows RFC 8187 reads back. */
function extended(header: string): string {
  const m = /filename\*=UTF-8''([^;\s]+)/.exec(header);
  assert.ok(m, header);
  assert.match(m[1]!, /^[A-Za-z0-9!#$&+\-.^_`|~%]+$/, 'only attr-chars and %XX');
  return decodeURIComponent(m[1]!);
}

function fallback(header: string): string {
  const m = /filename="([^"]*)"/.exec(header);
  assert.ok(m, header);
  return m[1]!;
}

test('an ASCII name is the same in both parameters', () => {
  const h = attachment('Learning Go - Jon Bodner (9781492077213).epub');
  assert.equal(
    h,
    `attachment; filename="Learning Go - Jon Bodner (9781492077213).epub"; filename*=UTF-8''Learning%20Go%20-%20Jon%20Bodner%20%289781492077213%29.epub`,
  );
});

test('non-ASCII keeps its letters in filename* and falls back to ASCII look-alikes in filename', () => {
  const h = attachment('Café Kubernetes – Ana Núñez 日本.kindle.epub');
  assert.equal(extended(h), 'Café Kubernetes – Ana Núñez 日本.kindle.epub');
  assert.equal(fallback(h), 'Cafe Kubernetes _ Ana Nunez __.kindle.epub');
  assert.match(h, /^[\x20-\x7e]+$/, 'the header is ASCII');
});

test('a hostile name cannot end the header, close the quote or add a parameter', () => {
  const h = attachment('a"; filename="evil.exe\r\nSet-Cookie: x=1\\%41.epub');
  assert.doesNotMatch(h, /[\r\n]/);
  // The backslash goes with the control characters (a path separator on Windows); `%` is `_` in the fallback.
  assert.equal(fallback(h), 'a_; filename=_evil.exeSet-Cookie: x=1_41.epub');
  assert.equal(extended(h), 'a"; filename="evil.exeSet-Cookie: x=1%41.epub');
  assert.match(h, /^attachment; filename="[^"\\]*"; filename\*=UTF-8''[A-Za-z0-9!#$&+\-.^_`|~%]+$/, 'exactly two parameters');
  assert.equal(fallback(attachment('\u0001\u0002')), 'book');
  assert.equal(extended(attachment('x\ud800.epub')), 'x\ufffd.epub');
});
