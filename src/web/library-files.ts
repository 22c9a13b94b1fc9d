import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ArchivedFormat, BookRecord } from '../db/books.js';
import type { Store } from '../db/store.js';
import { byteRange } from './byte-range.js';
import { attachment } from './content-disposition.js';
import type { EpubMetaCache } from './epub-meta-cache.js';
import { libraryFile } from './library-path.js';
import { coverPath } from './library-search.js';
import type { Route } from './route.js';

const FORMATS: readonly ArchivedFormat[] = ['epub', 'kindle'];

/**
 * The media type of a library file by its extension. Both formats bookd writes are EPUBs (the
 * Kindle variant is `….kindle.epub`, src/library/names.ts); the others are for files an operator
 * catalogued by hand.
 */
export function bookMediaType(path: string): string {
  switch (posix.extname(path).toLowerCase()) {
    case '.epub':
      return 'application/epub+zip';
    case '.mobi':
    case '.azw3':
      return 'application/x-mobipocket-ebook';
    default:
      return 'application/octet-stream';
  }
}

/** A small cover for lists (`GET …/cover` is the full one). */
export function thumbnailPath(book: Pick<BookRecord, 'id' | 'format'>): string {
  return `${coverPath(book)}?size=thumbnail`;
}

/** A refusal: JSON `{error}` (the API's shape) for clients that ask for JSON, plain text for the rest. */
export function sendError(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const json = (req.headers.accept ?? '').includes('application/json');
  const body = json ? `${JSON.stringify({ error: message })}\n` : `${message}\n`;
  res.writeHead(status, {
    'content-type': json ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** `/library/:id/:format` and `/library/:id/:format/cover`, decoded; undefined for any other path. */
function parse(pathname: string): { id: string; format: string; cover: boolean } | undefined {
  const parts = pathname.split('/');
  if (parts[1] !== 'library' || parts.length < 4 || parts.length > 5) return undefined;
  if (parts.length === 5 && parts[4] !== 'cover') return undefined;
  try {
    return { id: decodeURIComponent(parts[2]!), format: decodeURIComponent(parts[3]!), cover: parts.length === 5 };
  } catch {
    return { id: '', format: '', cover: false };
  }
}

function matches(req: IncomingMessage, etag: string): boolean {
  const header = req.headers['if-none-match'];
  return header !== undefined && header.split(',').some((t) => t.trim() === etag || t.trim() === '*');
}

/**
 * The catalogued books' files and covers. `GET|HEAD /library/:id/:format` streams the file as an
 * attachment under its own name (one byte range when asked, for readers that resume a download);
 * `…/cover` is the cover image from inside the EPUB, or a grey
 * placeholder SVG when it has none (`?size=thumbnail` answers the same image: resizing would need
 * an image library, and e-readers scale covers themselves). Only files inside the library are
 * served (src/web/library-path.ts); a book whose file is not there is 404.
 */
export function libraryFileRoutes(deps: { books: Store['books']; libraryRoot: string; meta: EpubMetaCache }): Route {
  return async (req, res, url) => {
    const target = parse(url.pathname);
    if (!target) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(req, res, 405, `${req.method ?? 'This method'} is not allowed here; use GET.`, { allow: 'GET, HEAD' });
      return true;
    }
    const format = FORMATS.find((f) => f === target.format);
    const book = format && target.id !== '' ? await deps.books.get(target.id, format) : undefined;
    if (!book) {
      sendError(req, res, 404, 'No such book in the library.');
      return true;
    }
    if (target.cover) await sendCover(req, res, book, deps);
    else await sendFile(req, res, book, deps.libraryRoot);
    return true;
  };
}

async function sendFile(req: IncomingMessage, res: ServerResponse, book: BookRecord, libraryRoot: string): Promise<void> {
  const file = await libraryFile(libraryRoot, book.path);
  if (!file) {
    sendError(req, res, 404, 'The book is catalogued but its file is not in the library.');
    return;
  }
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) {
    sendError(req, res, 404, 'The book is catalogued but its file cannot be read.');
    return;
  }
  let owned = true;
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) {
      sendError(req, res, 404, 'The book is catalogued but its file is not in the library.');
      return;
    }
    const etag = `"${book.sha256}"`;
    const headers = {
      'content-type': bookMediaType(book.path),
      'content-disposition': attachment(posix.basename(book.path)),
      etag,
      'cache-control': 'private, no-cache',
      'x-content-type-options': 'nosniff',
      'last-modified': new Date(book.archivedAt).toUTCString(),
    };
    if (matches(req, etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    // A reader resuming a download asks for the rest; If-Range makes sure it is the rest of this file.
    const ifRange = req.headers['if-range'];
    const range = ifRange === undefined || ifRange === etag ? byteRange(req.headers.range, stat.size) : undefined;
    if (range === 'unsatisfiable') {
      sendError(req, res, 416, 'The range asked for is past the end of the file.', { 'content-range': `bytes */${stat.size}` });
      return;
    }
    const { start, end } = range ?? { start: 0, end: stat.size - 1 };
    res.writeHead(range ? 206 : 200, {
      ...headers,
      'accept-ranges': 'bytes',
      'content-length': end - start + 1,
      ...(range && { 'content-range': `bytes ${start}-${end}/${stat.size}` }),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    owned = false;
    // The stream closes the handle when it ends or fails; a client that goes away ends it too.
    await pipeline(createReadStream('', { fd: fh, start, end: Math.max(end, 0) }), res).catch(() => {
      res.destroy();
    });
  } finally {
    if (owned) await fh.close();
  }
}

/** What a list shows for a book whose EPUB has no cover image (the page's `<img>` must not break). */
const PLACEHOLDER = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 60 80" width="60" height="80"><rect width="60" height="80" fill="#e4e4e4"/>' +
    '<text x="30" y="44" font-family="sans-serif" font-size="9" text-anchor="middle" fill="#777">no cover</text></svg>\n',
);

async function sendCover(req: IncomingMessage, res: ServerResponse, book: BookRecord, deps: { libraryRoot: string; meta: EpubMetaCache }): Promise<void> {
  if (!(await libraryFile(deps.libraryRoot, book.path))) {
    sendError(req, res, 404, 'The book is catalogued but its file is not in the library.');
    return;
  }
  const found = await deps.meta.cover(book);
  const cover = found ?? { bytes: PLACEHOLDER, mediaType: 'image/svg+xml' };
  const etag = found ? `"${book.sha256}-cover"` : '"placeholder-cover"';
  const headers = {
    'content-type': cover.mediaType,
    etag,
    'cache-control': found ? 'private, max-age=86400' : 'private, no-cache',
    'x-content-type-options': 'nosniff',
    // An SVG cover is a document: it must not run script in the page's origin.
    'content-security-policy': "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox",
  };
  if (matches(req, etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': cover.bytes.length });
  res.end(req.method === 'HEAD' ? undefined : cover.bytes);
}
