import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import { generateCatalogue } from './catalogue.js';
import { chapterApiPage } from './chapter-api.js';
import { chapterText } from './markup.js';
import { bookContent } from './package.js';
import { rewriteForFilesApi } from './rewrite.js';
import { SAMPLE_BYTES, sampleOf } from './sample.js';

const xmlErrors = (text: string) => {
  const errors: string[] = [];
  new DOMParser({ onError: (level, msg) => void (level !== 'warning' && errors.push(msg)) }).parseFromString(text, 'application/xhtml+xml');
  return errors;
};

test('a sample is the first ~2 KB of the document, cut before a tag and closed again: well-formed, no marker, no ellipsis', () => {
  const cat = generateCatalogue({ seed: 3, books: 8 });
  let checked = 0;
  for (const b of cat.books.filter((x) => x.format === 'book')) {
    const c = bookContent(cat, b.id)!;
    for (const ch of c.chapters) {
      const xhtml = rewriteForFilesApi(c.byPath.get(ch.path)!.bytes.toString('utf8'), ch.path, b.id);
      const page = chapterApiPage(c, ch, 'http://127.0.0.1:9');
      for (const [doc, xml] of [
        [xhtml, true],
        [page, false],
      ] as const) {
        const sample = sampleOf(doc);
        const text = sample.toString('utf8');
        assert.ok(sample.length <= SAMPLE_BYTES && sample.length > SAMPLE_BYTES * 0.6, `${sample.length} bytes`);
        const cut = text.search(/(<\/[A-Za-z]+>)+\n$/);
        assert.ok(doc.startsWith(text.slice(0, cut)), 'a prefix of the document');
        assert.equal(doc.charAt(cut), '<', 'cut where a tag begins');
        assert.match(text, /<\/body><\/html>\n$/);
        assert.doesNotMatch(text, /preview-paywall|class="controls"/);
        assert.doesNotMatch(chapterText(text), /(…|\.\.\.)$/);
        if (xml) assert.deepEqual(xmlErrors(text), [], `${ch.path}`);
        assert.ok(chapterText(text).length > 300, 'real text, not just markup');
        checked++;
      }
    }
  }
  assert.ok(checked >= 100);
});

test('a sample never ends in an ellipsis, keeps open HTML void elements open, and a small document stays whole', () => {
  const para = (s: string) => `<p>${s}</p>\n`;
  const doc = `<html><head><link rel="stylesheet" href="x.css"></head><body><div id="sbo-rt-content"><section>\n${para('a'.repeat(1500))}<p>More<br>text the café’s menu…</p>\n${para('b'.repeat(3000))}</section></div></body></html>\n`;
  const sample = sampleOf(doc).toString('utf8');
  assert.ok(sample.length <= SAMPLE_BYTES);
  assert.doesNotMatch(sample, /…/, 'the cut moved back before the ellipsis');
  assert.match(sample, /<\/section><\/div><\/body><\/html>\n$/);
  assert.doesNotMatch(sample, /<\/link>|<\/br>/);
  const small = '<?xml version="1.0"?>\n<html><body><p>short</p></body></html>\n';
  assert.equal(sampleOf(small).toString('utf8'), small);
  assert.equal(sampleOf(Buffer.from(doc), 500).length <= 500, true);
});
