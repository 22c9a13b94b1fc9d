import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { epubcheckJava, epubcheckTs, hasJavaEpubcheck } from '../../test/helpers/epubcheck.js';
import { tempDir } from '../../test/helpers/cli.js';
import { generateCatalogue, type SimBook } from './catalogue.js';
import { bookContent } from './package.js';
import { toEpub } from './zip.js';

const catalogue = generateCatalogue({ seed: 1, poison: true, hostile: true });
const books = catalogue.books.filter((b) => b.format === 'book');

/** A spread of ordinary books plus the ones most likely to break: foreign, big, odd ids, poison. */
const sample: SimBook[] = [
  ...books.filter((b) => b.flags.length === 0 && b.index % 37 === 0),
  books.find((b) => b.language === 'ja')!,
  books.find((b) => b.language === 'de' || b.language === 'fr')!,
  books.find((b) => b.id !== b.isbn)!,
  books.find((b) => b.title.includes('"') && b.title.includes(':'))!,
  books.find((b) => b.chapters >= 250)!,
  books.find((b) => b.flags[0] === 'poison-chapter')!,
  books.find((b) => b.flags[0] === 'poison-image')!,
];

test('generated publisher packages pass epubcheck-ts with no errors or warnings', async () => {
  assert.ok(sample.length >= 14 && sample.every(Boolean));
  for (const book of sample) {
    const report = await epubcheckTs(toEpub(bookContent(catalogue, book.id)!));
    assert.deepEqual(report, { errors: [], warnings: [] }, `${book.id} "${book.title}"`);
  }
});

test('a benchmark-sized book (30 chapters, MBs of text and images) passes epubcheck-ts', async () => {
  const big = generateCatalogue({ seed: 2, books: 2, chapters: 30, chapterKb: 60, images: 3, imageKb: 30 });
  const epub = toEpub(bookContent(big, big.books[0]!.id)!);
  assert.ok(epub.length > 2_000_000);
  assert.deepEqual(await epubcheckTs(epub), { errors: [], warnings: [] });
});

test('the same packages pass the reference Java epubcheck', { skip: !hasJavaEpubcheck() && 'Java epubcheck is not installed' }, async () => {
  const { dir, cleanup } = tempDir('bookd-sim-epubcheck-');
  try {
    const picks = [books.find((b) => b.language === 'ja')!, books.find((b) => b.chapters >= 250)!];
    const reports = await Promise.all(
      picks.map((book) => {
        const file = join(dir, `${book.id}.epub`);
        writeFileSync(file, toEpub(bookContent(catalogue, book.id)!));
        return epubcheckJava(file);
      }),
    );
    reports.forEach((r, i) => assert.deepEqual(r, { errors: [], warnings: [] }, picks[i]!.id));
  } finally {
    cleanup();
  }
});
