import type { BookRecord } from '../../src/db/books.js';

/** A catalogue row for store tests: Fluent Python as epub, with `over` applied. */
export const bookRecord = (over: Partial<BookRecord> = {}): BookRecord => ({
  id: '9781492056348',
  format: 'epub',
  title: 'Fluent Python, 2nd Edition',
  authors: ['Luciano Ramalho'],
  skills: ['Python'],
  path: 'Python/Fluent Python, 2nd Edition - 9781492056348.epub',
  sha256: 'a'.repeat(64),
  bytes: 12345,
  archivedAt: 1_767_225_600_000,
  mode: 'package',
  gaps: [],
  revision: 1,
  ...over,
});
