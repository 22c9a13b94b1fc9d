import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rewriteCss } from './css.js';
import type { CssRefUse } from './css.js';

const known: Record<string, string> = { 'a.png': 'img/a.png', 'f.woff': 'fonts/f.woff', 'b.css': 'css/b.css' };
const seen: [string, CssRefUse][] = [];
const resolve = (ref: string, use: CssRefUse) => {
  seen.push([ref, use]);
  return known[ref] ?? null;
};

test('rewriteCss: url() in every quoting style, @import in both forms', () => {
  const out = rewriteCss(`a { background: url(a.png) } b { background: url( "a.png" ) } c { background:url('a.png') }\n@import "b.css";\n@import url(b.css) screen;`, resolve);
  assert.equal(out, `a { background: url("img/a.png") } b { background: url("img/a.png") } c { background:url("img/a.png") }\n@import url("css/b.css");\n@import url("css/b.css") screen;`);
});

test('rewriteCss: comments and strings are left alone', () => {
  const css = `/* url(x.png) */ a::before { content: "url(y.png)"; } b { content: 'it\\'s url(z.png)' }`;
  assert.equal(rewriteCss(css, () => 'CHANGED'), css);
});

test('rewriteCss: a font rule whose font is missing goes whole; a missing image becomes none; a missing import goes', () => {
  const css = `@font-face { font-family: A; src: url(f.woff) format("woff"); }\n@font-face { font-family: B; src: url(gone.woff); }\np { background: url(gone.png) no-repeat }\n@import "gone.css";\nq { color: red }`;
  seen.length = 0;
  const out = rewriteCss(css, resolve);
  assert.equal(out, `@font-face { font-family: A; src: url("fonts/f.woff") format("woff"); }\n\np { background: none no-repeat }\n\nq { color: red }`);
  assert.deepEqual(seen, [['f.woff', 'font'], ['gone.woff', 'font'], ['gone.png', 'other'], ['gone.css', 'import']]);
});

test('rewriteCss: escapes inside url() are decoded before resolving, and quotes in the result are escaped', () => {
  assert.equal(rewriteCss('a { background: url("a\\2e png") }', (ref) => (ref === 'a.png' ? 'q"uote.png' : null)), 'a { background: url("q\\"uote.png") }');
});

test('rewriteCss: data URLs and empty url() pass through the resolver untouched when it says so', () => {
  assert.equal(rewriteCss('a { background: url() }', () => null), 'a { background: url() }');
  assert.equal(rewriteCss('a{b:url(data:image/png;base64,AA==)}', (ref) => ref), 'a{b:url("data:image/png;base64,AA==")}');
});
