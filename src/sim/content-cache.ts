import type { Catalogue, SimBook } from './catalogue.js';
import { buildContent, type BookContent } from './package.js';

export interface CachedBook {
  content: BookContent;
  /** What counts toward a full download, per API. */
  need: { chapters: ReadonlySet<string>; files: ReadonlySet<string> };
  /** Rendered answers (rewritten files, chapter pages), keyed by whatever varies them. */
  rendered: Map<string, Buffer>;
  /** Bytes held: the package (estimated, as files are made lazily) plus rendered answers. */
  size: number;
}

/** Enough for every default-sized book of a 300-book catalogue, or ~30 benchmark-sized ones. */
export const CACHE_BYTES = 256 * 1024 * 1024;

/**
 * Books are generated on first use and kept within a byte budget, least recently used first out:
 * a few hundred books of several MB each must never sit in memory at once, yet the books clients
 * are busy with must stay (regenerating one per request would make the simulator the bottleneck).
 */
export class ContentCache {
  private readonly books = new Map<string, CachedBook>();
  private bytes = 0;

  constructor(
    private readonly catalogue: Catalogue,
    private readonly budget = CACHE_BYTES,
  ) {}

  get(book: SimBook): CachedBook {
    const hit = this.books.get(book.id);
    if (hit) {
      this.books.delete(book.id);
      this.books.set(book.id, hit);
      return hit;
    }
    const content = buildContent(this.catalogue, book);
    const entry: CachedBook = {
      content,
      need: { chapters: new Set(content.chapters.map((c) => c.path)), files: new Set(content.plan.required) },
      rendered: new Map(),
      size: content.plan.estimatedBytes,
    };
    this.books.set(book.id, entry);
    this.bytes += entry.size;
    this.evict();
    return entry;
  }

  /** Drops a book's content (it has changed: `growBook`); the next request makes it again. */
  forget(id: string): void {
    const old = this.books.get(id);
    if (!old) return;
    this.books.delete(id);
    this.bytes -= old.size;
  }

  private evict(): void {
    for (const [id, old] of this.books) {
      if (this.bytes <= this.budget || this.books.size <= 1) return;
      this.books.delete(id);
      this.bytes -= old.size;
    }
  }

  /** A rendered answer, computed once per book while the book stays cached. */
  rendered(entry: CachedBook, key: string, make: () => string | Buffer): Buffer {
    let hit = entry.rendered.get(key);
    if (!hit) {
      const made = make();
      hit = Buffer.isBuffer(made) ? made : Buffer.from(made, 'utf8');
      entry.rendered.set(key, hit);
      if (this.books.get(entry.content.book.id) === entry) {
        entry.size += hit.length;
        this.bytes += hit.length;
        this.evict();
      }
    }
    return hit;
  }
}
