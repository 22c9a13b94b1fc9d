import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BookRecord } from '../db/books.js';
import { parseXml } from '../epub/xml.js';
import { linkOf, parseFeed } from '../../test/helpers/feed.js';
import { acquisitionFeed, navigationFeed, openSearchDescription, ACQUISITION_TYPE, NAVIGATION_TYPE, type FeedBook } from './opds-feed.js';

const HOSTILE = 'C++ & <Rust> "quoted" \'single\' \u0001\u0007\u001b[31m ]]> Ünïcödé 😀';
const CLEAN = 'C++ & <Rust> "quoted" \'single\' [31m ]]> Ünïcödé 😀';

const record = (over: Partial<BookRecord> = {}): BookRecord => ({
  id: '9781',
  format: 'epub',
  title: HOSTILE,
  authors: [`Ann <a href="x">${HOSTILE}`, 'Bob & Co'],
  skills: ['C++', `Sk<i>ll\u0002`],
  path: 'C++/x.epub',
  sha256: 'ab'.repeat(32),
  bytes: 2_500_000,
  archivedAt: Date.UTC(2026, 10, 1),
  mode: 'package',
  gaps: [],
  ...over,
});

const book: FeedBook = {
  records: [record(), record({ format: 'kindle', path: 'C++/x.kindle.epub', archivedAt: Date.UTC(2026, 10, 2) })],
  meta: {
    description: `A summary with <b>markup</b> & ${HOSTILE}`,
    identifier: 'urn:isbn:9781',
    language: 'en',
    cover: { entry: 'OEBPS/c.jpg', mediaType: 'image/jpeg' },
  },
};

const paging = (page: number, pages: number) => ({
  page,
  pages,
  total: pages * 2,
  pageSize: 2,
  hrefOf: (n: number) => (n === 1 ? '/opds/all' : `/opds/all?page=${n}`),
});

test('a book with hostile text gives a feed a strict parser reads back to the same text', async () => {
  const xml = acquisitionFeed({ id: 'urn:x', title: HOSTILE, self: '/opds/all', updated: Date.UTC(2026, 10, 3) }, [book], paging(1, 1));
  const feed = await parseFeed(xml, 'http://reader.example:8080/opds/all');
  assert.equal(feed.title, CLEAN);
  assert.equal(feed.entries.length, 1);
  const e = feed.entries[0]!;
  assert.equal(e.title, CLEAN);
  assert.deepEqual(e.authors, [`Ann <a href="x">${CLEAN}`, 'Bob & Co']);
  assert.equal(e.summary, `A summary with <b>markup</b> & ${CLEAN}`);
  assert.equal(e.identifier, 'urn:isbn:9781');
  assert.deepEqual(e.categories, ['C++', 'Sk<i>ll']);
  assert.equal(e.id, 'urn:orm:book:9781');
  const acq = e.links.filter((l) => l.rel === 'http://opds-spec.org/acquisition');
  assert.deepEqual(
    acq.map((l) => [l.href, l.type]),
    [
      ['http://reader.example:8080/library/9781/epub', 'application/epub+zip'],
      ['http://reader.example:8080/library/9781/kindle', 'application/epub+zip'],
    ],
    'links are paths from the server root, resolved against whatever host the reader used',
  );
  assert.equal(linkOf(e.links, 'http://opds-spec.org/image')?.href, 'http://reader.example:8080/library/9781/epub/cover');
  assert.equal(linkOf(e.links, 'http://opds-spec.org/image/thumbnail')?.type, 'image/jpeg');
  assert.equal(linkOf(feed.links, 'self')?.type, ACQUISITION_TYPE);
  assert.equal(linkOf(feed.links, 'start')?.type, NAVIGATION_TYPE);
  assert.equal(linkOf(feed.links, 'next'), undefined, 'one page: no paging links');
  assert.doesNotMatch(xml, /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
});

test('a middle page links to the first, last, previous and next pages', async () => {
  const feed = await parseFeed(
    acquisitionFeed({ id: 'urn:x', title: 'All', self: '/opds/all?page=2', updated: 0 }, [book], paging(2, 3)),
    'http://h/opds/all?page=2',
  );
  assert.deepEqual(
    ['first', 'previous', 'next', 'last'].map((rel) => linkOf(feed.links, rel)?.href),
    ['http://h/opds/all', 'http://h/opds/all', 'http://h/opds/all?page=3', 'http://h/opds/all?page=3'],
  );
  const last = await parseFeed(
    acquisitionFeed({ id: 'urn:x', title: 'All', self: '/opds/all?page=3', updated: 0 }, [], paging(3, 3)),
    'http://h/opds/all?page=3',
  );
  assert.equal(linkOf(last.links, 'next'), undefined);
  assert.equal(linkOf(last.links, 'previous')?.href, 'http://h/opds/all?page=2');
});

test('a book without a readable EPUB still has its download links, and no cover link', async () => {
  const feed = await parseFeed(
    acquisitionFeed({ id: 'urn:x', title: 'All', self: '/opds/all', updated: 0 }, [{ records: [record()], meta: undefined }], paging(1, 1)),
    'http://h/opds/all',
  );
  const e = feed.entries[0]!;
  assert.equal(linkOf(e.links, 'http://opds-spec.org/image'), undefined);
  assert.equal(linkOf(e.links, 'http://opds-spec.org/acquisition')?.href, 'http://h/library/9781/epub');
  assert.equal(e.summary, undefined);
});

test('a navigation feed parses; its entries link on with their kind', async () => {
  const xml = navigationFeed({ id: 'urn:n', title: 'Lib', self: '/opds', updated: 0 }, [
    { id: 'urn:n:1', title: HOSTILE, href: '/opds/skills/C%2B%2B', content: '2 books', rel: 'subsection', type: ACQUISITION_TYPE },
  ]);
  const feed = await parseFeed(xml, 'http://h/opds');
  assert.equal(feed.entries[0]!.title, CLEAN);
  assert.deepEqual(feed.entries[0]!.links, [{ rel: 'subsection', href: 'http://h/opds/skills/C%2B%2B', type: ACQUISITION_TYPE }]);
});

test('the OpenSearch description names the search template', () => {
  const doc = parseXml(openSearchDescription());
  assert.ok(doc);
  const root = doc.documentElement!;
  assert.equal(root.localName, 'OpenSearchDescription');
  assert.equal(root.namespaceURI, 'http://a9.com/-/spec/opensearch/1.1/');
  const urls = Array.from(root.getElementsByTagName('Url'));
  assert.ok(urls.some((u) => u.getAttribute('type') === ACQUISITION_TYPE && u.getAttribute('template') === '/opds/search?q={searchTerms}'));
});
