import type { BookRecord } from '../db/books.js';

/** Where the daemon's HTTP surface serves a catalogued book's file and its cover. */
export function downloadPath(book: Pick<BookRecord, 'id' | 'format'>): string {
  return `/library/${encodeURIComponent(book.id)}/${book.format}`;
}

export function coverPath(book: Pick<BookRecord, 'id' | 'format'>): string {
  return `/library/${encodeURIComponent(book.id)}/${book.format}/cover`;
}

/**
 * The catalogue entries whose title, any author or any skill contains every word of `q`
 * (case- and accent-insensitive), newest first. An empty query is the whole library.
 */
export function searchLibrary(books: readonly BookRecord[], q: string | undefined): BookRecord[] {
  const words = fold(q ?? '')
    .split(/\s+/)
    .filter(Boolean);
  const hits = words.length === 0 ? [...books] : books.filter((b) => matches(b, words));
  return hits.sort((a, b) => b.archivedAt - a.archivedAt || a.id.localeCompare(b.id));
}

function matches(book: BookRecord, words: string[]): boolean {
  const hay = fold([book.title, ...book.authors, ...book.skills, book.id].join('\n'));
  return words.every((w) => hay.includes(w));
}

function fold(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}
