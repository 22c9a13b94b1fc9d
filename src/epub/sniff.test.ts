import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HTML_ERROR_PAGE, gif, png, svg, woff } from '../../test/fixtures/epub/images.js';
import { sniff } from './sniff.js';

const enc = (s: string) => new TextEncoder().encode(s);

test('sniff: images, fonts and markup are known by their bytes, whatever the server said', () => {
  assert.deepEqual(sniff(png(1), 'image/jpeg', 'x.jpg'), { mediaType: 'image/png', kind: 'image' });
  assert.deepEqual(sniff(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0]), 'image/png', 'x.png'), { mediaType: 'image/jpeg', kind: 'image' });
  assert.deepEqual(sniff(gif(1, 2, 3), undefined, 'x'), { mediaType: 'image/gif', kind: 'image' });
  assert.deepEqual(sniff(svg('x'), 'image/png', 'x.png'), { mediaType: 'image/svg+xml', kind: 'svg' });
  assert.deepEqual(sniff(woff(1), 'application/octet-stream', 'f'), { mediaType: 'font/woff', kind: 'font' });
  assert.deepEqual(sniff(HTML_ERROR_PAGE, 'image/png', 'x.png'), { mediaType: 'application/xhtml+xml', kind: 'xhtml' });
  assert.deepEqual(sniff(enc('{"detail":"Not found."}'), 'image/png', 'x.png'), { mediaType: 'application/json', kind: 'other' });
  assert.deepEqual(sniff(enc('<?xml version="1.0"?>\n<!-- c -->\n<package xmlns="http://www.idpf.org/2007/opf"/>'), undefined, 'p.opf').kind, 'opf');
  assert.deepEqual(sniff(enc('<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"/>'), undefined, 't.ncx').kind, 'ncx');
});

test('sniff: CSS is text the server calls CSS; an HTML page called CSS is not CSS', () => {
  assert.deepEqual(sniff(enc('body { color: red }'), 'text/css', 'a.css'), { mediaType: 'text/css', kind: 'css' });
  assert.deepEqual(sniff(enc('\ufeffp{}'), undefined, 'a.css').kind, 'css');
  assert.equal(sniff(HTML_ERROR_PAGE, 'text/css', 'a.css').kind, 'xhtml');
});
