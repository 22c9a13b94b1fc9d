import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, relative, resolve } from 'node:path';
import { unzipSync } from 'fflate';
import type { ArchivedFormat, BookRecord } from '../db/books.js';
import type { Store } from '../db/store.js';
import type { Route } from './route.js';
import { sendJson, sendText } from './respond.js';

/*
 * A minimal version of the library's file routes (GET /library/:id/:format and its /cover), made
 * on the web page's branch so its download links can be tested; the OPDS work owns the full one.
 */

const CONTENT_TYPE: Record<ArchivedFormat, string> = { epub: 'application/epub+zip', kindle: 'application/x-mobipocket-ebook' };
const IMAGE_TYPE: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp' };
/** Covers are looked for only in files up to this size (the whole file is read to find one). */
const MAX_COVER_SCAN_BYTES = 200 * 1_048_576;

/** RFC 6266: an ASCII fallback name and the exact name in UTF-8. */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** The book's file, only when it resolves (symbolic links followed) inside the library. */
async function insideLibrary(root: string, book: BookRecord): Promise<string | undefined> {
  try {
    const realRoot = await realpath(root);
    const full = await realpath(resolve(root, book.path));
    const rel = relative(realRoot, full);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
    return (await stat(full)).isFile() ? full : undefined;
  } catch {
    return undefined;
  }
}

const PLACEHOLDER =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 60 80" width="60" height="80"><rect width="60" height="80" fill="#e4e4e4"/>' +
  '<text x="30" y="44" font-family="sans-serif" font-size="9" text-anchor="middle" fill="#777">no cover</text></svg>\n';

function coverOf(zip: Uint8Array): { type: string; data: Uint8Array } | undefined {
  const files = unzipSync(zip, { filter: (f) => /cover/i.test(f.name) && /\.(jpe?g|png|gif|webp)$/i.test(f.name) });
  const name = Object.keys(files).sort((a, b) => a.length - b.length)[0];
  if (!name) return undefined;
  return { type: IMAGE_TYPE[name.split('.').pop()!.toLowerCase()]!, data: files[name]! };
}

export function libraryFileRoutes(deps: { store: Store; library: string }): Route {
  return async (req, res, url) => {
    const m = /^\/library\/([^/]+)\/(epub|kindle)(\/cover)?$/.exec(url.pathname);
    if (!m || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    let id: string;
    try {
      id = decodeURIComponent(m[1]!);
    } catch {
      sendJson(res, 400, { error: 'the book id is not valid percent-encoding' });
      return true;
    }
    const book = deps.store.books.get(id, m[2] as ArchivedFormat);
    const file = book && (await insideLibrary(deps.library, book));
    if (!book || !file) {
      sendJson(res, 404, { error: `no ${m[2]} file of book ${id} in the library` });
      return true;
    }
    if (m[3]) {
      const st = await stat(file);
      const cover = book.format === 'epub' && st.size <= MAX_COVER_SCAN_BYTES ? coverOf(await readFile(file)) : undefined;
      if (cover) {
        res.writeHead(200, { 'content-type': cover.type, 'content-length': cover.data.length });
        res.end(cover.data);
      } else sendText(res, 200, PLACEHOLDER, 'image/svg+xml');
      return true;
    }
    const st = await stat(file);
    res.writeHead(200, { 'content-type': CONTENT_TYPE[book.format], 'content-length': st.size, 'content-disposition': contentDisposition(basename(file)) });
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    await new Promise<void>((done) => {
      const stream = createReadStream(file);
      stream.on('error', () => {
        res.destroy();
        done();
      });
      stream.on('end', () => done());
      stream.pipe(res);
    });
    return true;
  };
}
