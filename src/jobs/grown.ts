import type { BookRecord } from '../db/books.js';

/** What a listing (or the book's metadata) says of a book now. */
export interface Listed {
  /** The listing's `issued`, or the metadata's `publication_date`. */
  issued?: string | undefined;
  /** The metadata's `virtual_pages` (the topic listing does not carry it, docs/SERVICE.md §2). */
  virtualPages?: number | undefined;
}

const time = (s: string | undefined): number | undefined => {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : undefined;
};

/**
 * Whether a catalogued book has grown beyond what was archived: more pages, or a later date.
 * Only what both sides know counts: a row of an older bookd (no pages, no date) never looks grown,
 * so an upgrade does not fetch the whole library again, and a listing without a field says nothing.
 */
export function hasGrown(archived: Pick<BookRecord, 'issued' | 'virtualPages'>, now: Listed): boolean {
  if (archived.virtualPages !== undefined && now.virtualPages !== undefined && now.virtualPages > archived.virtualPages) return true;
  const was = time(archived.issued);
  const is = time(now.issued);
  return was !== undefined && is !== undefined && is > was;
}
