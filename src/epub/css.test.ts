import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'css-tree';
import { rewriteCss } from './css.js';
import type { CssRefUse } from './css.js';

const known: Record<string, string> = { 'a.png': 'img/a.png', 'f.woff': 'fonts/f.woff', 'b.css': 'css/b.css' };
const seen: [string, CssRefUse][] = [];
const resolve = (ref: string, use: CssRefUse) => {
  seen.push([ref, use]);
  return known[ref] ?? null;
};

test('rewriteCss: url() in every quoting style, @import in both forms', () => {
  const out = rewriteCss(
    `a { background: url(a.png) } b { background: url( "a.png" ) } c { background:url('a.png') }\n@import "b.css";\n@import url(b.css) screen;`,
    resolve,
  );
  assert.equal(
    out,
    `a { background: url("img/a.png") } b { background: url("img/a.png") } c { background:url("img/a.png") }\n@import url("css/b.css");\n@import url("css/b.css") screen;`,
  );
});

test('rewriteCss: comments and strings are left alone', () => {
  const css = `/* url(x.png) */ a::before { content: "url(y.png)"; } b { content: 'it\\'s url(z.png)' }`;
  assert.equal(
    rewriteCss(css, () => 'CHANGED'),
    css,
  );
});

test('rewriteCss: a font rule whose font is missing goes whole; a missing image becomes none; a missing import goes', () => {
  const css = `@font-face { font-family: A; src: url(f.woff) format("woff"); }\n@font-face { font-family: B; src: url(gone.woff); }\np { background: url(gone.png) no-repeat }\n@import "gone.css";\nq { color: red }`;
  seen.length = 0;
  const out = rewriteCss(css, resolve);
  assert.equal(out, `@font-face { font-family: A; src: url("fonts/f.woff") format("woff"); }\n\np { background: none no-repeat }\n\nq { color: red }`);
  assert.deepEqual(seen, [
    ['f.woff', 'font'],
    ['gone.woff', 'font'],
    ['gone.png', 'other'],
    ['gone.css', 'import'],
  ]);
});

test('rewriteCss: escapes inside url() are decoded before resolving, and quotes in the result are escaped', () => {
  assert.equal(
    rewriteCss('a { background: url("a\\2e png") }', (ref) => (ref === 'a.png' ? 'q"uote.png' : null)),
    'a { background: url("q\\"uote.png") }',
  );
});

test('rewriteCss: data URLs and empty url() pass through the resolver untouched when it says so', () => {
  assert.equal(
    rewriteCss('a { background: url() }', () => null),
    'a { background: url() }',
  );
  assert.equal(
    rewriteCss('a{b:url(data:image/png;base64,AA==)}', (ref) => ref),
    'a{b:url("data:image/png;base64,AA==")}',
  );
});

// References css-tree finds that patterns missed or mistook; each output must still parse cleanly.
const mark = (ref: string, use: CssRefUse) => (ref.startsWith('gone') ? null : `${use}/${ref}`);
const parseErrors = (css: string, context = 'stylesheet') => {
  const errors: string[] = [];
  parse(css, { context, onParseError: (e) => errors.push(e.message) });
  return errors;
};
const rewritten = (css: string, context = 'stylesheet') => {
  const out = rewriteCss(css, mark);
  assert.deepEqual(parseErrors(out, context), [], out);
  return out;
};

test('rewriteCss: url() in rules nested in @media, @supports, @layer and @container', () => {
  assert.equal(
    rewritten(
      '@media print { a { b: url(m.png) } @supports (display: grid) { c { d: url(s.png) } } }\n@layer base { e { f: url(l.png) } }\n@container (min-width: 1px) { g { h: url(c.png) } }',
    ),
    '@media print { a { b: url("other/m.png") } @supports (display: grid) { c { d: url("other/s.png") } } }\n@layer base { e { f: url("other/l.png") } }\n@container (min-width: 1px) { g { h: url("other/c.png") } }',
  );
});

test('rewriteCss: @import with a string and media, with url() and layer()/supports(), or missing', () => {
  assert.equal(rewritten('@import "x.css" screen;'), '@import url("import/x.css") screen;');
  assert.equal(rewritten("@import 'x.css';"), '@import url("import/x.css");');
  assert.equal(
    rewritten('@import url("x.css") layer(base) supports(display: grid) print;'),
    '@import url("import/x.css") layer(base) supports(display: grid) print;',
  );
  assert.equal(rewritten('@import url(gone.css) print;\na { color: red }'), '\na { color: red }');
});

test('rewriteCss: url( in a comment or a string is not a reference', () => {
  const calls: string[] = [];
  const css = '/* url(evil.png) */ a::before { content: "url(not-a-ref)" } /* @import "evil.css"; */';
  assert.equal(
    rewriteCss(css, (ref) => (calls.push(ref), 'CHANGED')),
    css,
  );
  assert.deepEqual(calls, []);
});

test('rewriteCss: every url() of an @font-face src list is a font, and a missing one drops the rule, also inside @media', () => {
  const seenHere: [string, CssRefUse][] = [];
  const out = rewriteCss(
    '@font-face { font-family: A; src: url(a.woff2) format("woff2"), url(a.woff) format("woff"); }',
    (ref, use) => (seenHere.push([ref, use]), mark(ref, use)),
  );
  assert.equal(out, '@font-face { font-family: A; src: url("font/a.woff2") format("woff2"), url("font/a.woff") format("woff"); }');
  assert.deepEqual(seenHere, [
    ['a.woff2', 'font'],
    ['a.woff', 'font'],
  ]);
  assert.equal(
    rewritten('@media screen { @font-face { src: url(a.woff2), url(gone.woff); } p { b: url(p.png) } }'),
    '@media screen {  p { b: url("other/p.png") } }',
  );
});

test('rewriteCss: a brace in a string or comment of an @font-face rule does not cut the rule short', () => {
  assert.equal(rewritten('@font-face { font-family: "a}b"; src: url(gone.woff) }\np { b: url(p.png) }'), '\np { b: url("other/p.png") }');
  assert.equal(rewritten('@font-face { /* } */ src: url(gone.woff) }\np { c: red }'), '\np { c: red }');
});

test('rewriteCss: escaped characters in an unquoted url()', () => {
  assert.equal(rewritten('a { b: url(a\\(1\\).png); c: url(a\\ b.png) }'), 'a { b: url("other/a(1).png"); c: url("other/a b.png") }');
});

test('rewriteCss: escaped quotes in url() are decoded for the resolver and escaped again in the result', () => {
  const refs: string[] = [];
  const out = rewriteCss(`a { b: url("q\\"uote.png"); c: url('it\\'s.png') }`, (ref) => (refs.push(ref), ref));
  assert.deepEqual(refs, ['q"uote.png', "it's.png"]);
  assert.equal(out, `a { b: url("q\\"uote.png"); c: url("it's.png") }`);
  assert.deepEqual(parseErrors(out), []);
});

test('rewriteCss: URL( in any case', () => {
  assert.equal(rewritten('a { b: URL(up.png); c: Url("mixed.png") }'), 'a { b: url("other/up.png"); c: url("other/mixed.png") }');
});

test('rewriteCss: image-set() and src() strings are references; a missing one makes the whole image none', () => {
  assert.equal(
    rewritten('a { b: image-set("a.png" 1x, url(b.png) 2x); c: -webkit-image-set("gone.png" 1x, "d.png" 2x) }'),
    'a { b: image-set("other/a.png" 1x, url("other/b.png") 2x); c: none }',
  );
  assert.equal(rewriteCss('a { b: src("s.png") }', mark), 'a { b: src("other/s.png") }');
});

test('rewriteCss: @namespace names a namespace, not a file', () => {
  const css = '@namespace svg url(http://www.w3.org/2000/svg);\n@namespace epub "http://www.idpf.org/2007/ops";\na { b: url(a.png) }';
  assert.equal(rewritten(css), '@namespace svg url(http://www.w3.org/2000/svg);\n@namespace epub "http://www.idpf.org/2007/ops";\na { b: url("other/a.png") }');
});

test('rewriteCss: what css-tree keeps as raw text (custom properties, nesting without &) is still rewritten', () => {
  assert.equal(rewriteCss('a { --bg: url(cp.png); b { c: url(n.png) } }', mark), 'a { --bg: url("other/cp.png"); b { c: url("other/n.png") } }');
});

test('rewriteCss: a style attribute is a declaration list', () => {
  assert.equal(rewritten('color: red; background: url(a.png) no-repeat', 'declarationList'), 'color: red; background: url("other/a.png") no-repeat');
  assert.equal(rewritten('background: url(gone.png) no-repeat', 'declarationList'), 'background: none no-repeat');
});

// css-tree recurses per nesting level and renders every parse error from the text it was given:
// the bounds below are what keeps a hostile stylesheet from overflowing the stack or taking seconds.
test('rewriteCss: a 1 MB stylesheet and 10,000-deep nestings are rewritten in bounded time', { timeout: 60_000 }, (t) => {
  const fill = (unit: string) => unit.repeat(Math.ceil(1_000_000 / unit.length));
  // CPU time, not wall time: other test files share the machine's cores.
  const timed = (label: string, css: string, resolve = (ref: string): string | null => (ref.startsWith('gone') ? null : 'y.png')) => {
    const start = process.cpuUsage();
    const out = rewriteCss(css, resolve);
    const used = process.cpuUsage(start);
    const ms = (used.user + used.system) / 1000;
    t.diagnostic(`${label}: ${(css.length / 1e6).toFixed(2)} MB in ${ms.toFixed(0)} ms of CPU`);
    assert.ok(ms < 2_000, `${label} took ${ms.toFixed(0)} ms of CPU`);
    return out;
  };
  const rule = 'p.c > a:hover, div#x { color: red; background: url("img/a.png") no-repeat; margin: 0 auto; }\n';
  rewriteCss(rule.repeat(500), () => 'y.png'); // the compiler's warm-up is not what is measured
  const big = timed('1 MB of rules', fill(rule));
  assert.equal(big.split('url("y.png")').length - 1, Math.ceil(1_000_000 / rule.length));
  assert.deepEqual(parseErrors(big), []);
  timed(
    '1 MB of @font-face in @media',
    fill('@media screen { @font-face { font-family: X; src: url(a.woff2) format("woff2"), url(a.woff) format("woff"); } }\n'),
  );
  const d = 10_000;
  for (const [label, css] of [
    ['10,000 nested @media', `${'@media print {'.repeat(d)}a { b: url(x.png) }${'}'.repeat(d)}`],
    ['10,000 unclosed @media', `${'@media print {'.repeat(d)}a { b: url(x.png) }`],
    ['10,000 nested rules', `a {${' & b {'.repeat(d)} c: url(x.png) ${'}'.repeat(d + 1)}`],
    ['10,000 nested functions', `a { b: ${'f('.repeat(d)}url(x.png)${')'.repeat(d)} }`],
    ['10,000 nested @supports conditions', `@supports ${'('.repeat(d)}display: grid${')'.repeat(d)} { a { b: url(x.png) } }`],
    ['10,000 nested :is()', `${':is('.repeat(d)}a${')'.repeat(d)} { b: url(x.png) }`],
  ] as const) {
    const out = timed(label, css);
    // Nothing is lost, and the reference however deep is still rewritten.
    assert.equal(out, css.replace('url(x.png)', 'url("y.png")'), label);
  }
  // Parse errors: each one costs css-tree the length of what it parses.
  for (const [label, unit] of [
    ['1 MB of declarations without a colon', 'a{b c d}'],
    ['1 MB of empty declarations', 'a{:}'],
    ['1 MB of nested @supports conditions', '@supports ((((( display:grid ))))) { a { b: url(x.png) } }'],
  ] as const) {
    // Past the budget the tokenizer goes on alone, with the same rules for imports, fonts and namespaces.
    const tail = '\n@import "gone.css";\n@font-face { src: url(gone.woff) }\n@namespace svg url(http://www.w3.org/2000/svg);\nz { b: url(x.png) }';
    const out = timed(label, fill(unit) + tail);
    assert.ok(out.endsWith('\n\n\n@namespace svg url(http://www.w3.org/2000/svg);\nz { b: url("y.png") }'), label);
  }
  timed('1 MB style attribute of empty declarations', `${fill(':;')}b: url(x.png)`);
});
