import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import { fixIds } from './ids.js';
import { parseHtml, parseXhtml, xhtmlToHtml } from './parse.js';
import { normalizeHead, sanitizeDocument } from './sanitize.js';
import { serializeXhtml } from './serialize.js';

/** A strict XML parse: any error, even one xmldom would recover from, fails the test. */
function assertWellFormed(xml: string): void {
  new DOMParser({
    onError: (level, msg) => {
      throw new Error(`${level}: ${msg}\n${xml}`);
    },
  }).parseFromString(xml, 'application/xml');
}

const roundTrip = (html: string) => {
  const doc = parseHtml(html);
  sanitizeDocument(doc);
  normalizeHead(doc, 'Fallback');
  fixIds(doc);
  return serializeXhtml(doc);
};

test('serializeXhtml: HTML soup becomes well-formed XHTML with the EPUB declarations', () => {
  const out = roundTrip(
    '<p>a&nbsp;b &mdash; &copy; &lt;&amp;&gt; <br> <img src=x.png> <input disabled> <hr>' +
      '<p title="q&quot;uote&#10;line" data-x=\'1\' foo"bar=2 @click="x" [y]=1 xmlns:o="urn:o" o:p=1>t\u0001\u000bx\ud800y</p>' +
      '<!-- a -- b --><svg viewBox="0 0 1 1"><image xlink:href="a.png"/><path d="M0 0"/></svg><math><mi>x</mi></math>',
  );
  assertWellFormed(out);
  assert.ok(
    out.startsWith(
      '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">',
    ),
  );
  assert.match(out, /<title>Fallback<\/title>/);
  assert.match(out, /a\u00a0b — © &lt;&amp;&gt; <br\/> <img src="x\.png" alt=""\/> <input disabled=""\/> <\/p><hr\/>/);
  assert.match(out, /title="q&quot;uote&#10;line" data-x="1">txy<\/p>/);
  assert.match(
    out,
    /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" xmlns:xlink="http:\/\/www\.w3\.org\/1999\/xlink" viewBox="0 0 1 1"><image xlink:href="a\.png"\/><path d="M0 0"\/><\/svg>/,
  );
  assert.match(out, /<math xmlns="http:\/\/www\.w3\.org\/1998\/Math\/MathML"><mi>x<\/mi><\/math>/);
  assert.doesNotMatch(out, /<!--/);
});

test('sanitize: unknown elements are unwrapped (text kept), obsolete ones renamed, scripts dropped', () => {
  const out = roundTrip(
    '<center>c</center><font color=red>f</font><o:p>word</o:p><blink>b</blink><script>x()</script><noscript>n</noscript><p onclick="x()" align="left">p</p><li>stray</li>',
  );
  assertWellFormed(out);
  assert.match(out, /<body><div>c<\/div><span>f<\/span>word<span>b<\/span><p>p<\/p><div>stray<\/div><\/body>/);
});

test('sanitize: a block inside phrasing content is lifted out of inline wrappers or turned into a span', () => {
  assert.match(roundTrip('<div><span><em><div>block</div></em></span></div>'), /<div><div>block<\/div><\/div>/);
  assert.match(roundTrip('<h1>Title <div>sub</div></h1>'), /<h1>Title <span>sub<\/span><\/h1>/);
});

test('fixIds: digit-leading, spaced and duplicate ids are renamed; references inside the document follow', () => {
  const doc = parseHtml('<p id="1fn">a</p><p id="x y">b</p><p id="dup">c</p><p id="dup">d</p><label for="1fn">l</label><p aria-describedby="gone 1fn">e</p>');
  const map = fixIds(doc);
  assert.deepEqual(
    [...map.rename],
    [
      ['1fn', 'id-1fn'],
      ['x y', 'x_y'],
    ],
  );
  assert.deepEqual([...map.ids], ['id-1fn', 'x_y', 'dup', 'dup-2']);
  const out = serializeXhtml(doc);
  assert.match(out, /<label for="id-1fn">l<\/label><p aria-describedby="id-1fn">e<\/p>/);
});

test('xhtmlToHtml: self-closing non-void elements, CDATA and the newline after <pre> keep their XML meaning', () => {
  assert.equal(xhtmlToHtml('<a id="x"/><br/><div class="a/b" />'), '<a id="x"></a><br/><div class="a/b" ></div>');
  assert.equal(xhtmlToHtml('<p><![CDATA[a < b]]></p><style><![CDATA[p{}]]></style>'), '<p>a &lt; b</p><style>p{}</style>');
  assert.equal(xhtmlToHtml('<pre class="x">\ncode</pre>'), '<pre class="x">\n\ncode</pre>');
  const doc = parseXhtml(
    '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><p><a id="top"/>text after</p><script src="x"/><p>kept</p></body></html>',
  );
  sanitizeDocument(doc);
  assert.match(serializeXhtml(doc), /<body><p><a id="top"><\/a>text after<\/p><p>kept<\/p><\/body>/);
});
