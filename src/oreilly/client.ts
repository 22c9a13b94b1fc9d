import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { systemClock, type Clock } from '../clock.js';
import { BookdError } from '../errors.js';
import { classifyResponse, parseJson, type Expect } from './classify.js';
import { bookReferer, browserHeaders, fileKind, type RequestKind } from './headers.js';
import { MAX_DOCUMENT_BYTES, MAX_FILE_BYTES, header, type HttpResponse, type HttpSession } from './http.js';
import { assertNotSample } from './sample.js';
import { arr, num, obj, str, strs, type Json } from './shape.js';
import type { ChapterItem, EpubInfo, FileItem, Playlist, SearchHit, SpineItem, TocNode, TopicPage } from './types.js';

async function writeWhole(file: string, body: Buffer): Promise<{ bytes: number; sha256: string }> {
  await writeFile(file, body, { mode: 0o644 });
  return { bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
}

/** Typed calls for docs/SERVICE.md §2. Each takes a session the caller holds exclusively. */

const MAX_LIST_PAGES = 2000;
/** With limit=100 the topic listing refuses pages past this one (docs/SERVICE.md §2): never ask for more. */
export const TOPIC_PAGE_CAP = 10;
/** The largest page of the files listing the live service accepts. */
export const FILES_PAGE = 300;

const bookUrn = (id: string) => `urn:orm:book:${id}`;
export const epubPath = (id: string) => `/api/v2/epubs/${bookUrn(id)}/`;
/** Full-resolution cover art; the bare `/library/cover/{id}/` is a thumbnail (docs/SERVICE.md §2). */
export const coverPath = (id: string) => `/library/cover/${id}/600/`;

/** A file's URL in the files API, for listings that leave `url` out. */
export function filesUrl(id: string, fullPath: string): string {
  return `${epubPath(id)}files/${fullPath.split('/').map(encodeURIComponent).join('/')}`;
}

const FILES_API = /\/api\/v2\/epubs\/[^/]+\/files\//;

/**
 * Every GET of the files API carries `download=false` (other parameters kept): without it the
 * live service answers (X)HTML files with a ~2 KB sample (docs/SERVICE.md §2, one file).
 */
export function withDownloadFalse(url: string, base: string): string {
  const u = new URL(url, `${base}/`);
  if (!FILES_API.test(u.pathname)) return url;
  u.searchParams.set('download', 'false');
  return u.origin === new URL(base).origin ? u.pathname + u.search : u.href;
}

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
  return pathFromRef(str(item.reference_id), id) || pathFromFilesUrl(str(item.content_url)) || decodePath(str(item.ourn).split(':').pop() ?? '') || '';
}

/** An ourn's path part may be percent-encoded (`OEBPS%2ftext%2fch01.xhtml`). */
function decodePath(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
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

interface GetOptions {
  kind: RequestKind;
  /** The book the request is for: its reader page is the Referer. */
  bookId?: string | undefined;
  maxBytes?: number;
  signal?: AbortSignal | undefined;
  toFile?: string;
}

export interface FileOptions {
  signal?: AbortSignal | undefined;
  bookId?: string | undefined;
  /** The listing's `file_size`: an (X)HTML file far short of it is a sample (docs/SERVICE.md §3). */
  fileSize?: number | undefined;
  /** The listing's media type, for the Accept and the sample check. */
  mediaType?: string | undefined;
  maxBytes?: number;
}

export class OreillyClient {
  constructor(
    private readonly clock: Clock = systemClock,
    private readonly observe: Observe = () => {},
  ) {}

  private async get(session: HttpSession, url: string, expect: Expect, opts: GetOptions): Promise<HttpResponse> {
    const referer = opts.bookId ? bookReferer(session.baseUrl, opts.bookId) : `${session.baseUrl}/`;
    try {
      const res = await session.request({
        url,
        headers: browserHeaders(opts.kind, { referer }),
        maxBytes: opts.maxBytes ?? MAX_DOCUMENT_BYTES,
        signal: opts.signal,
        ...(opts.toFile !== undefined && { toFile: opts.toFile }),
      });
      classifyResponse(res, expect, this.clock.now());
      this.observe('ok');
      return res;
    } catch (err) {
      if (err instanceof BookdError) this.observe(err.kind);
      throw err;
    }
  }

  private async getJson(session: HttpSession, url: string, signal?: AbortSignal, bookId?: string): Promise<Json> {
    return obj(parseJson(await this.get(session, url, 'json', { kind: 'json', signal, bookId })));
  }

  /** Follows `next` links of a paginated listing, iteratively, refusing loops. */
  private async *pages(session: HttpSession, first: string, signal?: AbortSignal, bookId?: string): AsyncGenerator<Json> {
    const seen = new Set<string>();
    let url: string | undefined = first;
    for (let n = 0; url && n < MAX_LIST_PAGES; n++) {
      if (seen.has(url)) throw new BookdError('permanent', `the listing at ${first} loops back to ${url}`);
      seen.add(url);
      const page = await this.getJson(session, url, signal, bookId);
      yield page;
      url = str(page.next) || undefined;
    }
  }

  async epub(session: HttpSession, id: string, signal?: AbortSignal): Promise<EpubInfo> {
    const j = await this.getJson(session, epubPath(id), signal, id);
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
    const j = await this.getJson(session, `/api/v2/search/?query=${encodeURIComponent(id)}&formats=book&limit=1`, signal, id);
    const hits = arr(j.results).map((r) => toHit(obj(r)));
    return hits.find((h) => h.archiveId === id || h.isbn === id) ?? undefined;
  }

  async chapters(session: HttpSession, id: string, signal?: AbortSignal): Promise<ChapterItem[]> {
    const out: ChapterItem[] = [];
    for await (const page of this.pages(session, `/api/v2/epub-chapters/?epub_identifier=${bookUrn(id)}`, signal, id)) {
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

  /**
   * A chapter page (`content_url`, followed as given; a files-API URL gets `download=false`).
   * With the chapter file's `file_size` known from the listing, a page far short of it is a sample.
   */
  async chapterHtml(
    session: HttpSession,
    url: string,
    opts: { signal?: AbortSignal | undefined; bookId?: string | undefined; fileSize?: number | undefined } = {},
  ): Promise<string> {
    const res = await this.get(session, withDownloadFalse(url, session.baseUrl), 'html', { kind: 'html', signal: opts.signal, bookId: opts.bookId });
    assertNotSample(res.body, opts.fileSize, res.url);
    return res.body.toString('utf8');
  }

  async toc(session: HttpSession, id: string, signal?: AbortSignal): Promise<TocNode[]> {
    const res = await this.get(session, `${epubPath(id)}table-of-contents/`, 'json', { kind: 'json', signal, bookId: id });
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
    for await (const page of this.pages(session, `${epubPath(id)}files/?limit=${FILES_PAGE}&offset=0`, signal, id)) {
      for (const raw of arr(page.results)) {
        const f = obj(raw);
        const fullPath = str(f.full_path);
        const size = num(f.file_size);
        out.push({
          url: str(f.url) || (fullPath ? filesUrl(id, fullPath) : ''),
          fullPath,
          mediaType: str(f.media_type),
          kind: str(f.kind),
          ...(size > 0 ? { fileSize: size } : {}),
        });
      }
    }
    return out;
  }

  /** The reading order (docs/SERVICE.md §2, spine): file paths, first to last. */
  async spine(session: HttpSession, id: string, signal?: AbortSignal): Promise<SpineItem[]> {
    const out: SpineItem[] = [];
    for await (const page of this.pages(session, `${epubPath(id)}spine/?limit=100`, signal, id)) {
      for (const raw of arr(page.results)) {
        const item = obj(raw);
        out.push({ title: str(item.title), path: chapterPath(item, id) });
      }
    }
    return out;
  }

  /**
   * One file's bytes and the media type the server claimed, asked for as a reader asks
   * (`download=false`, the Accept of its kind). An (X)HTML file far short of its listed size is
   * a sample and throws `throttled`; it is never handed on.
   */
  async file(session: HttpSession, url: string, opts: FileOptions = {}): Promise<{ data: Buffer; mediaType: string }> {
    const path = pathFromFilesUrl(url) || url;
    const kind = fileKind(opts.mediaType ?? '', path);
    const res = await this.get(session, withDownloadFalse(url, session.baseUrl), 'file', {
      kind,
      signal: opts.signal,
      bookId: opts.bookId,
      maxBytes: opts.maxBytes ?? MAX_FILE_BYTES,
    });
    if (kind === 'html') assertNotSample(res.body, opts.fileSize, res.url);
    return { data: res.body, mediaType: (header(res, 'content-type') ?? '').split(';')[0]!.trim() };
  }

  /**
   * One file, as `file` asks for it, written to `toFile` as it arrives instead of held in memory
   * (images, fonts, stylesheets: a book in flight keeps none of their bytes). The size still
   * catches a sample.
   */
  async fileTo(session: HttpSession, url: string, toFile: string, opts: FileOptions = {}): Promise<{ bytes: number; sha256: string; mediaType: string }> {
    const path = pathFromFilesUrl(url) || url;
    const kind = fileKind(opts.mediaType ?? '', path);
    const res = await this.get(session, withDownloadFalse(url, session.baseUrl), 'file', {
      kind,
      signal: opts.signal,
      bookId: opts.bookId,
      maxBytes: opts.maxBytes ?? MAX_FILE_BYTES,
      toFile,
    });
    // A session that does not stream (HttpSession leaves it to the implementation) gave the body.
    const saved = res.saved ?? (await writeWhole(toFile, res.body));
    if (kind === 'html') assertNotSample(saved.bytes, opts.fileSize, res.url);
    return { ...saved, mediaType: (header(res, 'content-type') ?? '').split(';')[0]!.trim() };
  }

  /**
   * One page of a skill's listing. Past the page cap the service answers 403: that is the end of
   * what it will show, reported as `capped`, not an error.
   */
  async topicPage(session: HttpSession, skill: string, page: number, signal?: AbortSignal): Promise<TopicPage> {
    // Page 11 and beyond answer 403: stop after page 10 without asking for more.
    if (page > TOPIC_PAGE_CAP) return { results: [], total: 0, more: false, capped: true };
    const url = `/api/v2/search/?query=*&topics=${encodeURIComponent(skill)}&formats=book&limit=100&page=${page}`;
    const j = await this.getJson(session, url, signal);
    const results = arr(j.results, 1000).map((r) => toHit(obj(r)));
    const more = results.length > 0 && !!str(j.next);
    return { results, total: num(j.total), more: more && page < TOPIC_PAGE_CAP, capped: more && page >= TOPIC_PAGE_CAP };
  }

  async playlists(session: HttpSession, signal?: AbortSignal): Promise<Playlist[]> {
    const res = await this.get(session, '/api/v2/collections/', 'json', { kind: 'json', signal });
    const parsed = parseJson<unknown>(res);
    return arr(Array.isArray(parsed) ? parsed : obj(parsed).results).map((raw) => {
      const c = obj(raw);
      return {
        uuid: str(c.uuid),
        name: str(c.name) || str(c.slug),
        bookIds: arr(c.content)
          .map((x) => /urn:orm:book:(\d{13})/.exec(str(obj(x).ourn))?.[1] ?? '')
          .filter(Boolean),
      };
    });
  }
}
