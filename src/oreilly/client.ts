import { systemClock, type Clock } from '../clock.js';
import { BookdError } from '../errors.js';
import { classifyResponse, parseJson, type Expect } from './classify.js';
import { MAX_DOCUMENT_BYTES, MAX_FILE_BYTES, header, type HttpResponse, type HttpSession } from './http.js';
import { arr, num, obj, str, strs, type Json } from './shape.js';
import type { ChapterItem, EpubInfo, FileItem, Playlist, SearchHit, TocNode, TopicPage } from './types.js';

/** Typed calls for OREILLY_API.md §2. Each takes a session the caller holds exclusively. */

const MAX_LIST_PAGES = 2000;
/** With limit=100 the topic listing refuses pages past this one (OREILLY_API.md §2). */
export const TOPIC_PAGE_CAP = 10;

const bookUrn = (id: string) => `urn:orm:book:${id}`;
export const epubPath = (id: string) => `/api/v2/epubs/${bookUrn(id)}/`;


function pathFromRef(ref: string, id: string): string {
  const marker = `${id}-/`;
  const at = ref.indexOf(marker);
  return at >= 0 ? ref.slice(at + marker.length) : '';
}

function pathFromFilesUrl(url: string): string {
  const m = /\/files\/(.+?)(?:[?#].*)?$/.exec(url);
  if (!m) return '';
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1]!;
  }
}

export function chapterPath(item: Json, id: string): string {
  return (
    pathFromRef(str(item.reference_id), id) ||
    pathFromFilesUrl(str(item.content_url)) ||
    str(item.ourn).split(':').pop() ||
    ''
  );
}

function toHit(r: Json): SearchHit {
  return {
    archiveId: str(r.archive_id) || str(r.isbn),
    isbn: str(r.isbn),
    title: str(r.title),
    authors: strs(r.authors),
    publishers: strs(r.publishers),
    coverUrl: str(r.cover_url),
    issued: str(r.issued),
    topics: [...strs(r.topics), ...strs(r.subjects)].map((t) => t).filter((t, i, all) => all.indexOf(t) === i),
    language: str(r.language),
    format: str(r.format) || str(r.content_format),
    webUrl: str(r.web_url),
  };
}

/** Called once per request with its outcome class ('ok' or an error kind), for metrics. */
export type Observe = (outcome: string) => void;

export class OreillyClient {
  constructor(
    private readonly clock: Clock = systemClock,
    private readonly observe: Observe = () => {},
  ) {}

  private async get(session: HttpSession, url: string, expect: Expect, maxBytes = MAX_DOCUMENT_BYTES, signal?: AbortSignal): Promise<HttpResponse> {
    const accept = expect === 'json' ? 'application/json' : expect === 'html' ? 'text/html,application/xhtml+xml' : '*/*';
    try {
      const res = await session.request({ url, headers: { accept }, maxBytes, signal });
      classifyResponse(res, expect, this.clock.now());
      this.observe('ok');
      return res;
    } catch (err) {
      if (err instanceof BookdError) this.observe(err.kind);
      throw err;
    }
  }

  private async getJson(session: HttpSession, url: string, signal?: AbortSignal): Promise<Json> {
    return obj(parseJson(await this.get(session, url, 'json', MAX_DOCUMENT_BYTES, signal)));
  }

  /** Follows `next` links of a paginated listing, iteratively, refusing loops. */
  private async *pages(session: HttpSession, first: string, signal?: AbortSignal): AsyncGenerator<Json> {
    const seen = new Set<string>();
    let url: string | undefined = first;
    for (let n = 0; url && n < MAX_LIST_PAGES; n++) {
      if (seen.has(url)) throw new BookdError('permanent', `the listing at ${first} loops back to ${url}`);
      seen.add(url);
      const page = await this.getJson(session, url, signal);
      yield page;
      url = str(page.next) || undefined;
    }
  }

  async epub(session: HttpSession, id: string, signal?: AbortSignal): Promise<EpubInfo> {
    const j = await this.getJson(session, epubPath(id), signal);
    const desc = obj(j.descriptions);
    return {
      ourn: str(j.ourn),
      identifier: str(j.identifier) || id,
      isbn: str(j.isbn),
      title: str(j.title),
      description: str(desc['text/plain'], 20_000) || str(j.description, 20_000),
      language: str(j.language) || 'en',
      publicationDate: str(j.publication_date),
      virtualPages: num(j.virtual_pages),
      tags: strs(j.tags),
      contentFormat: str(j.content_format),
    };
  }

  /** The search record of one book (authors, publishers, cover, topics), if search knows it. */
  async searchBook(session: HttpSession, id: string, signal?: AbortSignal): Promise<SearchHit | undefined> {
    const j = await this.getJson(session, `/api/v2/search/?query=${encodeURIComponent(id)}&formats=book&limit=1`, signal);
    const hits = arr(j.results).map((r) => toHit(obj(r)));
    return hits.find((h) => h.archiveId === id || h.isbn === id) ?? undefined;
  }

  async chapters(session: HttpSession, id: string, signal?: AbortSignal): Promise<ChapterItem[]> {
    const out: ChapterItem[] = [];
    for await (const page of this.pages(session, `/api/v2/epub-chapters/?epub_identifier=${bookUrn(id)}`, signal)) {
      for (const raw of arr(page.results)) {
        const c = obj(raw);
        const assets = obj(c.related_assets);
        out.push({
          ourn: str(c.ourn),
          title: str(c.title),
          path: chapterPath(c, id),
          contentUrl: str(c.content_url),
          images: strs(assets.images, 10_000),
          stylesheets: strs(assets.stylesheets, 1000),
          virtualPages: num(c.virtual_pages),
        });
      }
    }
    return out;
  }

  async chapterHtml(session: HttpSession, url: string, signal?: AbortSignal): Promise<string> {
    return (await this.get(session, url, 'html', MAX_DOCUMENT_BYTES, signal)).body.toString('utf8');
  }

  async toc(session: HttpSession, id: string, signal?: AbortSignal): Promise<TocNode[]> {
    const res = await this.get(session, `${epubPath(id)}table-of-contents/`, 'json', MAX_DOCUMENT_BYTES, signal);
    const parsed = parseJson<unknown>(res);
    const convert = (items: unknown[], depth: number): TocNode[] =>
      depth > 32
        ? []
        : items.map((raw) => {
            const n = obj(raw);
            const href = str(n.href) || str(n.url);
            const hrefPath = pathFromFilesUrl(href) || href.split('#')[0] || '';
            return {
              title: str(n.title) || str(n.label),
              path: pathFromRef(str(n.reference_id), id) || hrefPath,
              fragment: str(n.fragment) || href.split('#')[1] || '',
              children: convert(arr(n.children), depth + 1),
            };
          });
    return convert(Array.isArray(parsed) ? parsed : arr(obj(parsed).results), 0);
  }

  async files(session: HttpSession, id: string, signal?: AbortSignal): Promise<FileItem[]> {
    const out: FileItem[] = [];
    for await (const page of this.pages(session, `${epubPath(id)}files/?limit=200&offset=0`, signal)) {
      for (const raw of arr(page.results)) {
        const f = obj(raw);
        out.push({ url: str(f.url), fullPath: str(f.full_path), mediaType: str(f.media_type), kind: str(f.kind) });
      }
    }
    return out;
  }

  /** One file's bytes and the media type the server claimed. */
  async file(session: HttpSession, url: string, signal?: AbortSignal, maxBytes = MAX_FILE_BYTES): Promise<{ data: Buffer; mediaType: string }> {
    const res = await this.get(session, url, 'file', maxBytes, signal);
    return { data: res.body, mediaType: (header(res, 'content-type') ?? '').split(';')[0]!.trim() };
  }

  /**
   * One page of a skill's listing. Past the page cap the service answers 403: that is the end of
   * what it will show, reported as `capped`, not an error.
   */
  async topicPage(session: HttpSession, skill: string, page: number, signal?: AbortSignal): Promise<TopicPage> {
    const url = `/api/v2/search/?query=*&topics=${encodeURIComponent(skill)}&formats=book&limit=100&page=${page}`;
    let j: Json;
    try {
      j = await this.getJson(session, url, signal);
    } catch (err) {
      if (err instanceof BookdError && err.status === 403 && err.kind === 'auth' && page > TOPIC_PAGE_CAP) {
        return { results: [], total: 0, more: false, capped: true };
      }
      throw err;
    }
    const results = arr(j.results, 1000).map((r) => toHit(obj(r)));
    return { results, total: num(j.total), more: results.length > 0 && !!str(j.next), capped: false };
  }

  async playlists(session: HttpSession, signal?: AbortSignal): Promise<Playlist[]> {
    const res = await this.get(session, '/api/v2/collections/', 'json', MAX_DOCUMENT_BYTES, signal);
    const parsed = parseJson<unknown>(res);
    return arr(Array.isArray(parsed) ? parsed : obj(parsed).results).map((raw) => {
      const c = obj(raw);
      return {
        uuid: str(c.uuid),
        name: str(c.name) || str(c.slug),
        bookIds: arr(c.content).map((x) => /urn:orm:book:(\d{13})/.exec(str(obj(x).ourn))?.[1] ?? '').filter(Boolean),
      };
    });
  }
}
