import type { BookRecord } from '../db/books.js';
import { atomDate, el, xmlDocument, type Xml } from './atom.js';
import type { EpubMeta } from './epub-meta.js';
import { bookMediaType, thumbnailPath } from './library-files.js';
import { coverPath, downloadPath } from './library-search.js';

/**
 * The OPDS 1.2 catalog documents: Atom feeds of two kinds —
 * navigation (links to other feeds) and acquisition (books with links to their files) — and the
 * OpenSearch description a reader fills in to search. Pure functions of what they are given;
 * every link is an absolute path, so the catalog works under whatever host name reaches it.
 */
export const NAVIGATION_TYPE = 'application/atom+xml;profile=opds-catalog;kind=navigation';
export const ACQUISITION_TYPE = 'application/atom+xml;profile=opds-catalog;kind=acquisition';
export const OPENSEARCH_TYPE = 'application/opensearchdescription+xml';

export const OPDS_ROOT = '/opds';
export const OPDS_SEARCH_DESCRIPTION = '/opds/search.xml';
export const OPDS_SEARCH_TEMPLATE = '/opds/search?q={searchTerms}';

const NS = {
  xmlns: 'http://www.w3.org/2005/Atom',
  'xmlns:dc': 'http://purl.org/dc/terms/',
  'xmlns:opds': 'http://opds-spec.org/2010/catalog',
  'xmlns:opensearch': 'http://a9.com/-/spec/opensearch/1.1/',
};

/** One book of a feed: its catalogue rows (one per format, the EPUB first) and what its EPUB says. */
export interface FeedBook {
  records: BookRecord[];
  meta: EpubMeta | undefined;
}

export interface NavigationEntry {
  id: string;
  title: string;
  href: string;
  content: string;
  /** `subsection`, or `http://opds-spec.org/sort/new` for the newest books. */
  rel: string;
  type: string;
}

export interface FeedHead {
  /** The feed's stable id (a URN). */
  id: string;
  title: string;
  /** This feed's own path (with its query). */
  self: string;
  updated: number;
  /** The feed one level up, when there is one. */
  up?: string;
}

export interface Paging {
  page: number;
  pages: number;
  total: number;
  pageSize: number;
  /** The path of page `n` of this feed. */
  hrefOf(n: number): string;
}

const link = (rel: string, href: string, type: string, title?: string): Xml => el('link', { rel, href, type, title });

function head(h: FeedHead, selfType: string): Xml[] {
  return [
    el('id', {}, h.id),
    el('title', {}, h.title),
    el('updated', {}, atomDate(h.updated)),
    el('author', {}, el('name', {}, 'bookd')),
    link('self', h.self, selfType),
    link('start', OPDS_ROOT, NAVIGATION_TYPE, 'Library'),
    h.up === undefined ? undefined : link('up', h.up, NAVIGATION_TYPE),
    link('search', OPDS_SEARCH_DESCRIPTION, OPENSEARCH_TYPE, 'Search the library'),
  ].filter((x): x is Xml => x !== undefined);
}

export function navigationFeed(h: FeedHead, entries: NavigationEntry[], extraLinks: Xml[] = []): string {
  const items = entries.map((e) =>
    el(
      'entry',
      {},
      el('title', {}, e.title),
      el('id', {}, e.id),
      el('updated', {}, atomDate(h.updated)),
      el('content', { type: 'text' }, e.content),
      link(e.rel, e.href, e.type),
    ),
  );
  return xmlDocument(el('feed', NS, ...head(h, NAVIGATION_TYPE), ...extraLinks, ...items));
}

export function acquisitionFeed(h: FeedHead, books: FeedBook[], paging: Paging): string {
  const pageLinks: Xml[] = [];
  if (paging.pages > 1) {
    pageLinks.push(link('first', paging.hrefOf(1), ACQUISITION_TYPE), link('last', paging.hrefOf(paging.pages), ACQUISITION_TYPE));
    if (paging.page > 1) pageLinks.push(link('previous', paging.hrefOf(paging.page - 1), ACQUISITION_TYPE));
    if (paging.page < paging.pages) pageLinks.push(link('next', paging.hrefOf(paging.page + 1), ACQUISITION_TYPE));
  }
  const counts = [
    el('opensearch:totalResults', {}, String(paging.total)),
    el('opensearch:itemsPerPage', {}, String(paging.pageSize)),
    el('opensearch:startIndex', {}, String((paging.page - 1) * paging.pageSize + 1)),
  ];
  return xmlDocument(el('feed', NS, ...head(h, ACQUISITION_TYPE), ...pageLinks, ...counts, ...books.map(bookEntry)));
}

function size(bytes: number): string {
  return bytes < 1_000_000 ? `${Math.max(1, Math.round(bytes / 1000))} KB` : `${(bytes / 1_000_000).toFixed(1)} MB`;
}

const FORMAT_TITLE: Record<BookRecord['format'], string> = { epub: 'EPUB', kindle: 'EPUB for e-readers (long lines wrap)' };

/** One book: title, authors, summary, skills, cover and thumbnail, and a download link per format. */
export function bookEntry(book: FeedBook): Xml {
  const first = book.records[0]!;
  const meta = book.meta ?? {};
  const updated = Math.max(...book.records.map((r) => r.archivedAt));
  const skills = [...new Set(book.records.flatMap((r) => r.skills))];
  const facts = book.records.map((r) => `${FORMAT_TITLE[r.format]}, ${size(r.bytes)}`).join('; ');
  const coverOf = book.meta?.cover ? first : undefined;
  return el(
    'entry',
    {},
    el('title', {}, first.title),
    el('id', {}, `urn:orm:book:${first.id}`),
    el('updated', {}, atomDate(updated)),
    ...first.authors.map((a) => el('author', {}, el('name', {}, a))),
    el('dc:identifier', {}, meta.identifier ?? `urn:orm:book:${first.id}`),
    meta.language === undefined ? undefined : el('dc:language', {}, meta.language),
    el('dc:issued', {}, atomDate(first.archivedAt).slice(0, 10)),
    ...skills.map((s) => el('category', { term: s, label: s })),
    meta.description === undefined ? undefined : el('summary', { type: 'text' }, meta.description),
    el('content', { type: 'text' }, skills.length ? `${facts}. Skills: ${skills.join(', ')}.` : `${facts}.`),
    coverOf && link('http://opds-spec.org/image', coverPath(coverOf), meta.cover!.mediaType),
    coverOf && link('http://opds-spec.org/image/thumbnail', thumbnailPath(coverOf), meta.cover!.mediaType),
    ...book.records.map((r) =>
      el('link', {
        rel: 'http://opds-spec.org/acquisition',
        href: downloadPath(r),
        type: bookMediaType(r.path),
        title: FORMAT_TITLE[r.format],
        length: r.bytes,
      }),
    ),
  );
}

/** What a reader fetches to learn how to search (OpenSearch 1.1); the template returns an acquisition feed. */
export function openSearchDescription(): string {
  return xmlDocument(
    el(
      'OpenSearchDescription',
      { xmlns: 'http://a9.com/-/spec/opensearch/1.1/' },
      el('ShortName', {}, 'bookd'),
      el('Description', {}, 'Search the bookd library by title, author or skill'),
      el('InputEncoding', {}, 'UTF-8'),
      el('OutputEncoding', {}, 'UTF-8'),
      el('Url', { type: ACQUISITION_TYPE, template: OPDS_SEARCH_TEMPLATE }),
      el('Url', { type: 'application/atom+xml', template: OPDS_SEARCH_TEMPLATE }),
    ),
  );
}
