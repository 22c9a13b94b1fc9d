import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BookRecord } from '../db/books.js';
import { downloadPath, searchLibrary } from './library-search.js';

const book = (id: string, title: string, authors: string[], skills: string[], archivedAt: number): BookRecord => ({
  id,
  format: 'epub',
  title,
  authors,
  skills,
  path: `${title}.epub`,
  sha256: 'x',
  bytes: 1,
  archivedAt,
  mode: 'package',
  gaps: [],
});

const books = [
  book('1', 'Learning Go', ['Jon Bodner'], ['Go'], 1),
  book('2', 'Café Kubernetes', ['Ana Núñez'], ['Cloud', 'Kubernetes'], 3),
  book('3', 'Go in Production', ['Ana Lee'], ['Go', 'Operations'], 2),
];

test('every word must match the title, an author, a skill or the id; accents and case do not matter; newest first', () => {
  assert.deepEqual(
    searchLibrary(books, 'go').map((b) => b.id),
    ['3', '1'],
  );
  assert.deepEqual(
    searchLibrary(books, 'ANA cafe').map((b) => b.id),
    ['2'],
  );
  assert.deepEqual(
    searchLibrary(books, 'nunez').map((b) => b.id),
    ['2'],
  );
  assert.deepEqual(
    searchLibrary(books, '  ').map((b) => b.id),
    ['2', '3', '1'],
  );
  assert.deepEqual(searchLibrary(books, 'rust'), []);
});

test('a download path escapes the id', () => {
  assert.equal(downloadPath({ id: 'a/b', format: 'epub' }), '/library/a%2Fb/epub');
});
