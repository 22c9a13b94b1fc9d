import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BookdError } from '../errors.js';
import { assertNotPreview, visibleWords } from './preview.js';

test('visibleWords counts what a reader sees: words with a letter or digit, not markup, scripts, entities or bare punctuation', () => {
  assert.equal(visibleWords('<p>Hello, wörld — 42 &amp; <b>bold</b>... -- ¿qué? 日本語 x_y</p>'), 7);
  assert.equal(visibleWords('<style>p { color: red }</style><script>var a = 1;</script><p>two words</p>'), 2);
  assert.equal(visibleWords('<p>a</p><p>b</p>\n\t c'), 3);
  assert.equal(visibleWords(''), 0);
});

test('assertNotPreview returns the words it counted, and throws auth for a page cut short with an ellipsis', () => {
  const full = `<div id="sbo-rt-content"><p>${'word '.repeat(300)}</p></div>`;
  assert.equal(assertNotPreview(full, 'ch1', 4), 300);
  assert.throws(
    () => assertNotPreview('<div><p>Only the first lines of the chapter…</p></div>', 'ch1', 4),
    (err: unknown) => err instanceof BookdError && err.kind === 'auth',
  );
});
