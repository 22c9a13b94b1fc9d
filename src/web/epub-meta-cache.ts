import type { BookRecord } from '../db/books.js';
import type { Tuning } from '../config.js';
import { readEpubCover, readEpubMeta, type EpubCover, type EpubMeta } from './epub-meta.js';
import { libraryFile } from './library-path.js';

/**
 * The summary and cover of catalogued books, read from their EPUBs once and remembered per
 * (id, format, sha256) — a rebuilt book has a new sha256 and is read again. Both maps are bounded
 * (least recently used out): entries by count, cover images by their total bytes. A book whose
 * file cannot be read gives undefined and is tried again next time.
 */
export interface EpubMetaCache {
  meta(book: BookRecord): Promise<EpubMeta | undefined>;
  cover(book: BookRecord): Promise<EpubCover | undefined>;
}

export function epubMetaCache(deps: { libraryRoot: string } & Pick<Tuning['opds'], 'metaCacheEntries' | 'coverCacheBytes'>): EpubMetaCache {
  const metas = new Map<string, Promise<EpubMeta | undefined>>();
  const covers = new Map<string, EpubCover>();
  let coverBytes = 0;
  const keyOf = (b: BookRecord) => `${b.id}\n${b.format}\n${b.sha256}`;

  async function load(book: BookRecord): Promise<EpubMeta | undefined> {
    const file = await libraryFile(deps.libraryRoot, book.path);
    if (!file) return undefined;
    try {
      return await readEpubMeta(file);
    } catch {
      return undefined;
    }
  }

  function meta(book: BookRecord): Promise<EpubMeta | undefined> {
    const key = keyOf(book);
    let hit = metas.get(key);
    if (hit) {
      metas.delete(key);
    } else {
      hit = load(book);
      // A failure is not remembered: the file may be there next time.
      void hit.then((m) => {
        if (m === undefined && metas.get(key) === hit) metas.delete(key);
      });
    }
    metas.set(key, hit);
    while (metas.size > deps.metaCacheEntries) metas.delete(metas.keys().next().value!);
    return hit;
  }

  async function cover(book: BookRecord): Promise<EpubCover | undefined> {
    const key = keyOf(book);
    const hit = covers.get(key);
    if (hit) {
      covers.delete(key);
      covers.set(key, hit);
      return hit;
    }
    const m = await meta(book);
    if (!m?.cover) return undefined;
    const file = await libraryFile(deps.libraryRoot, book.path);
    if (!file) return undefined;
    let image: EpubCover;
    try {
      image = await readEpubCover(file, m.cover);
    } catch {
      return undefined;
    }
    if (image.bytes.length <= deps.coverCacheBytes && !covers.has(key)) {
      covers.set(key, image);
      coverBytes += image.bytes.length;
      while (coverBytes > deps.coverCacheBytes) {
        const [oldest, old] = covers.entries().next().value!;
        covers.delete(oldest);
        coverBytes -= old.bytes.length;
      }
    }
    return image;
  }

  return { meta, cover };
}
