import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cssAssetRefs, htmlAssetRefs } from './asset-refs.js';

const base = 'https://learning.oreilly.com/library/view/t/123/css/book.css';
const at = (path: string) => new URL(path, base).href;

test('cssAssetRefs: url() however nested, @import in both forms, @font-face src lists, image-set()', () => {
  const css = [
    '@import "x.css" screen;',
    "@import url('y.css') layer(base);",
    '@media print { a { b: url(m.png) } @supports (display: grid) { c { d: url(../img/s.png) } } }',
    '@font-face { font-family: A; src: url(a.woff2) format("woff2"), url(a.woff) format("woff"); }',
    'e { f: image-set("i1.png" 1x, url(i2.png) 2x); g: URL(up.png) }',
  ].join('\n');
  assert.deepEqual(cssAssetRefs(css, base), ['x.css', 'y.css', 'm.png', '../img/s.png', 'a.woff2', 'a.woff', 'i1.png', 'i2.png', 'up.png'].map(at));
});

test('cssAssetRefs: comments, strings and @namespace are not references', () => {
  const css = '/* url(evil.png) */ @namespace svg url(http://www.w3.org/2000/svg);\na::before { content: "url(not-a-ref)" } /* @import "evil.css"; */';
  assert.deepEqual(cssAssetRefs(css, base), []);
});

test('cssAssetRefs: escapes are decoded; data:, fragments and other schemes are not fetched; each URL once', () => {
  const css = `a { b: url("q\\"uote.png"); c: url('it\\'s.png'); d: url(a\\ b.png) }\nf { g: url(data:image/png;base64,AA==); h: url(#frag); i: url(ftp://h/x.png); j: url(q.png#x); k: url(q.png) }`;
  assert.deepEqual(cssAssetRefs(css, base), [at('q%22uote.png'), at("it's.png"), at('a%20b.png'), at('q.png')]);
});

test('htmlAssetRefs: images, stylesheets and sources; not hyperlinks', () => {
  const html = '<img src="i.png"><link rel="stylesheet" href="s.css"><link rel="icon" href="f.ico"><a href="c.html">c</a><source srcset="x.png" src="v.mp4">';
  assert.deepEqual(htmlAssetRefs(html, base), ['i.png', 's.css', 'v.mp4'].map(at));
});
