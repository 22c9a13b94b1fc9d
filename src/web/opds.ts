import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock, type Clock } from '../clock.js';
import type { BookRecord } from '../db/books.js';
import type { Store } from '../db/store.js';
import type { EpubMetaCache } from './epub-meta-cache.js';
import { sendError } from './library-files.js';
import { searchLibrary } from './library-search.js';
import {
  ACQUISITION_TYPE,
  acquisitionFeed,
  NAVIGATION_TYPE,
  navigationFeed,
  OPDS_ROOT,
  OPDS_SEARCH_DESCRIPTION,
  OPDS_SEARCH_TEMPLATE,
  OPENSEARCH_TYPE,
  openSearchDescription,
  type FeedBook,
  type FeedHead,
} from './opds-feed.js';
import type { Route } from './route.js';
import { el } from './atom.js';

export interface OpdsDeps {
  books: Store['books'];
  meta: EpubMetaCache;
  /** Entries per acquisition page (`tuning.opds.pageSize`). */
  pageSize: number;
  clock?: Clock;
}

const titleOrder = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

/** The catalogue rows grouped per book (an EPUB and its Kindle variant are one entry), in the order given. */
function byBook(records: BookRecord[]): BookRecord[][] {
  const groups = new Map<string, BookRecord[]>();
  for (const r of records) {
    const g = groups.get(r.id);
    if (g) g.push(r);
    else groups.set(r.id, [r]);
  }
  for (const g of groups.values()) g.sort((a, b) => (a.format === 'epub' ? -1 : b.format === 'epub' ? 1 : 0));
  return [...groups.values()];
}

const byTitle = (a: BookRecord[], b: BookRecord[]) => titleOrder.compare(a[0]!.title, b[0]!.title) || a[0]!.id.localeCompare(b[0]!.id);

function skillsOf(records: BookRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const g of byBook(records)) for (const s of new Set(g.flatMap((r) => r.skills))) counts.set(s, (counts.get(s) ?? 0) + 1);
  return new Map([...counts].sort(([a], [b]) => titleOrder.compare(a, b)));
}

function send(req: IncomingMessage, res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'private, no-cache',
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** `/opds/skills/<skill>` with the skill as one path segment. */
export const skillFeedPath = (skill: string) => `${OPDS_ROOT}/skills/${encodeURIComponent(skill)}`;

/**
 * The library as an OPDS 1.2 catalog (README.md, "Reading on an e-reader (OPDS)"): `/opds` (the
 * navigation root), `/opds/newest`, `/opds/all`, `/opds/skills` and `/opds/skills/:skill`,
 * `/opds/search?q=` and its OpenSearch description `/opds/search.xml`. Acquisition feeds are paged.
 */
export function opdsRoutes(deps: OpdsDeps): Route {
  const clock = deps.clock ?? systemClock;
  return async (req, res, url) => {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path !== OPDS_ROOT && !path.startsWith(`${OPDS_ROOT}/`)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(req, res, 405, `${req.method ?? 'This method'} is not allowed here; use GET.`, { allow: 'GET, HEAD' });
      return true;
    }
    const records = await deps.books.list();
    // A loop, not Math.max(...): a spread of a large library's rows would overflow the stack.
    const updated = records.length ? records.reduce((max, r) => Math.max(max, r.archivedAt), 0) : clock.now();
    const sub = path.slice(OPDS_ROOT.length);

    if (sub === '') {
      const h: FeedHead = { id: 'urn:bookd:opds', title: 'bookd library', self: OPDS_ROOT, updated };
      const total = byBook(records).length;
      send(
        req,
        res,
        NAVIGATION_TYPE,
        navigationFeed(
          h,
          [
            {
              id: 'urn:bookd:opds:newest',
              title: 'Newest',
              href: `${OPDS_ROOT}/newest`,
              content: 'The books archived last, newest first.',
              rel: 'http://opds-spec.org/sort/new',
              type: ACQUISITION_TYPE,
            },
            {
              id: 'urn:bookd:opds:skills',
              title: 'By skill',
              href: `${OPDS_ROOT}/skills`,
              content: 'The books of each skill.',
              rel: 'subsection',
              type: NAVIGATION_TYPE,
            },
            {
              id: 'urn:bookd:opds:all',
              title: 'All books',
              href: `${OPDS_ROOT}/all`,
              content: `All ${total} books, by title.`,
              rel: 'subsection',
              type: ACQUISITION_TYPE,
            },
          ],
          [
            el('link', { rel: 'http://opds-spec.org/sort/new', href: `${OPDS_ROOT}/newest`, type: ACQUISITION_TYPE }),
            el('link', { rel: 'search', href: OPDS_SEARCH_TEMPLATE, type: ACQUISITION_TYPE }),
          ],
        ),
      );
      return true;
    }
    if (path === OPDS_SEARCH_DESCRIPTION) {
      send(req, res, OPENSEARCH_TYPE, openSearchDescription());
      return true;
    }
    if (sub === '/skills') {
      const entries = [...skillsOf(records)].map(([skill, n]) => ({
        id: `urn:bookd:opds:skill:${skill}`,
        title: skill,
        href: skillFeedPath(skill),
        content: n === 1 ? '1 book' : `${n} books`,
        rel: 'subsection',
        type: ACQUISITION_TYPE,
      }));
      send(
        req,
        res,
        NAVIGATION_TYPE,
        navigationFeed({ id: 'urn:bookd:opds:skills', title: 'By skill', self: `${OPDS_ROOT}/skills`, updated, up: OPDS_ROOT }, entries),
      );
      return true;
    }

    let feed: { id: string; title: string; books: BookRecord[][]; query?: Record<string, string> } | undefined;
    if (sub === '/newest') {
      feed = { id: 'urn:bookd:opds:newest', title: 'Newest', books: byBook(searchLibrary(records, '')) };
    } else if (sub === '/all') {
      feed = { id: 'urn:bookd:opds:all', title: 'All books', books: byBook(records).sort(byTitle) };
    } else if (sub === '/search') {
      const q = url.searchParams.get('q') ?? '';
      feed = { id: `urn:bookd:opds:search:${q}`, title: q.trim() ? `Search: ${q}` : 'All books', books: byBook(searchLibrary(records, q)), query: { q } };
    } else if (sub.startsWith('/skills/') && !sub.slice('/skills/'.length).includes('/')) {
      let skill: string;
      try {
        skill = decodeURIComponent(sub.slice('/skills/'.length));
      } catch {
        sendError(req, res, 400, 'The skill in the path is not valid percent-encoding.');
        return true;
      }
      const books = byBook(records)
        .filter((g) => g.some((r) => r.skills.includes(skill)))
        .sort(byTitle);
      if (books.length === 0) {
        sendError(req, res, 404, `No book in the library has the skill "${skill}".`);
        return true;
      }
      feed = { id: `urn:bookd:opds:skill:${skill}`, title: skill, books };
    }
    if (!feed) {
      sendError(req, res, 404, 'No such OPDS feed; start at /opds.');
      return true;
    }

    const rawPage = url.searchParams.get('page') ?? '1';
    const page = /^\d{1,9}$/.test(rawPage) ? Number(rawPage) : 0;
    const pages = Math.max(1, Math.ceil(feed.books.length / deps.pageSize));
    if (page < 1) {
      sendError(req, res, 400, `page must be a whole number from 1, got "${rawPage}".`);
      return true;
    }
    if (page > pages) {
      sendError(req, res, 404, `This feed has ${pages} page${pages === 1 ? '' : 's'}; page ${page} is past the end.`);
      return true;
    }
    const feedPath = `${OPDS_ROOT}${sub}`;
    const hrefOf = (n: number) => {
      const params = new URLSearchParams(feed.query);
      if (n > 1) params.set('page', String(n));
      const qs = params.toString();
      return qs ? `${feedPath}?${qs}` : feedPath;
    };
    const slice = feed.books.slice((page - 1) * deps.pageSize, page * deps.pageSize);
    const withMeta: FeedBook[] = await Promise.all(slice.map(async (records) => ({ records, meta: await deps.meta.meta(records[0]!) })));
    const up = sub.startsWith('/skills/') ? `${OPDS_ROOT}/skills` : OPDS_ROOT;
    send(
      req,
      res,
      ACQUISITION_TYPE,
      acquisitionFeed({ id: feed.id, title: feed.title, self: hrefOf(page), updated, up }, withMeta, {
        page,
        pages,
        total: feed.books.length,
        pageSize: deps.pageSize,
        hrefOf,
      }),
    );
    return true;
  };
}
