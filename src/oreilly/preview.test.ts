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

/** The count as regular expressions say it: what the one-pass scanner must agree with. */
function wordsByRegex(html: string): number {
  const text = html
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&[#\w]+;/g, ' ');
  return [...text.matchAll(/\S*[\p{L}\p{N}]\S*/gu)].length;
}

test('visibleWords agrees with the regular-expression count on markup made of the characters that matter', () => {
  // Tags with and without their `>`, entities whole and broken, scripts closed and not, every kind
  // of space, letters outside ASCII and outside the BMP, lone surrogates, bare punctuation.
  const pieces = [
    '<',
    '>',
    '&',
    ';',
    '#',
    'amp',
    '&amp;',
    '&#8212;',
    '&x',
    'a',
    'Z',
    '7',
    '_',
    '-',
    '.',
    '…',
    ' ',
    '\n',
    '\t',
    '\u000b',
    '\u00a0',
    '\u2009',
    '\u3000',
    '\ufeff',
    '\u2028',
    '\u180e',
    'é',
    '中',
    '٣',
    '\u{1d400}',
    '\ud800',
    '\udc00',
    '<p>',
    '</p>',
    '<b class="x>y">',
    '<script>',
    '</script>',
    '<SCRIPT type="a">',
    '</Script>',
    '<style>',
    '</style>',
    '<scripts>',
    '<!-- c -->',
  ];
  for (const html of ['a&;b', 'x&amp;y', 'x&amp y', 'a<b', 'a<b>c', 'a>b', '<scripts>x</scripts>y', '<script>x</style>y', '\u{1d400}-', '\ud800x', '-&#;-'])
    assert.equal(visibleWords(html), wordsByRegex(html), JSON.stringify(html));
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let round = 0; round < 20_000; round++) {
    let html = '';
    for (let k = next() % 40; k > 0; k--) html += pieces[next() % pieces.length];
    assert.equal(visibleWords(html), wordsByRegex(html), JSON.stringify(html));
  }
});

test('assertNotPreview returns the words it counted, and throws auth for a page cut short with an ellipsis', () => {
  const full = `<div id="sbo-rt-content"><p>${'word '.repeat(300)}</p></div>`;
  assert.equal(assertNotPreview(full, 'ch1', 4), 300);
  assert.throws(
    () => assertNotPreview('<div><p>Only the first lines of the chapter…</p></div>', 'ch1', 4),
    (err: unknown) => err instanceof BookdError && err.kind === 'auth',
  );
});
