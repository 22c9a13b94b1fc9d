import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseXml, xmlText } from '../epub/xml.js';
import { atomDate, el, xmlDocument } from './atom.js';

const HOSTILE = 'Tom & Jerry\'s <script>alert("x")</script> ]]> \u0000\u0001\u0008\u000b\u001f\ufffe\ud800 end 😀\ttab';
const CLEAN = 'Tom & Jerry\'s <script>alert("x")</script> ]]>  end 😀\ttab';

test('text and attributes are escaped and lose what XML 1.0 forbids; the document parses back to the same text', () => {
  const doc = xmlDocument(el('feed', { title: HOSTILE, skip: undefined }, el('title', {}, HOSTILE), undefined, false, el('empty')));
  assert.doesNotMatch(doc, /<script>/);
  assert.doesNotMatch(doc, /[\u0000-\u0008\u000b\u001f]/);
  assert.doesNotMatch(doc, /skip=/);
  const parsed = parseXml(doc);
  assert.ok(parsed, doc);
  const root = parsed.documentElement!;
  assert.equal(root.getAttribute('title'), CLEAN);
  const title = root.getElementsByTagName('title')[0]!;
  assert.equal(title.textContent, CLEAN);
  assert.equal(xmlText(root.getElementsByTagName('empty')[0]), '');
  assert.match(doc, /<empty\/>/);
});

test('Xml children go in as markup, strings only as text', () => {
  assert.equal(el('a', {}, el('b', {}, 'x'), '<b>').xml, '<a><b>x</b>&lt;b&gt;</a>');
  assert.equal(el('a', { n: 3 }).xml, '<a n="3"/>');
});

test('Atom dates are RFC 3339 without milliseconds', () => {
  assert.equal(atomDate(Date.UTC(2026, 11, 2, 18, 30, 5, 123)), '2026-12-02T18:30:05Z');
});
