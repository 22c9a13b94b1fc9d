import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { epubcheckJava, epubcheckTs, hasJavaEpubcheck } from '../../test/helpers/epubcheck.js';
import { tempDir } from '../../test/helpers/cli.js';
import { generateCatalogue, LISTING_VARIANTS, PACKAGE_LAYOUTS, type SimBook } from './catalogue.js';
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
  // Every layout, and the variants that change the package (a decoy OPF, no container) in each.
  ...PACKAGE_LAYOUTS.flatMap((l) => [
    books.find((b) => b.layout === l && b.variants.length === 0)!,
    books.find((b) => b.layout === l && b.variants.includes('decoy-opf'))!,
    books.find((b) => b.layout === l && b.variants.includes('no-container'))!,
  ]),
  books.find((b) => b.chapters >= 250 && b.layout !== 'oebps-text') ?? books.find((b) => b.chapters >= 250)!,
];

/** One book per layout, as the Java check takes a few seconds each. */
const perLayout = PACKAGE_LAYOUTS.map(
  (l) => books.find((b) => b.layout === l && b.variants.includes('decoy-opf') && b.variants.includes('no-container')) ?? books.find((b) => b.layout === l)!,
);

/** `.html` chapters are XHTML content documents: Java epubcheck notes the extension (HTM-014a), nothing else. */
const onlyHtmlExtension = (r: { warnings: string[] }) => r.warnings.filter((w) => !/HTM-014a/.test(w));

test('generated publisher packages pass epubcheck-ts with no errors or warnings', async () => {
  assert.ok(sample.length >= 26 && sample.every(Boolean));
  for (const layout of PACKAGE_LAYOUTS)
    assert.ok(
      sample.some((b) => b.layout === layout),
      layout,
    );
  for (const variant of LISTING_VARIANTS)
    assert.ok(
      sample.some((b) => b.variants.includes(variant)),
      variant,
    );
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
    const picks = [books.find((b) => b.language === 'ja')!, books.find((b) => b.chapters >= 250)!, ...perLayout];
    const reports: Awaited<ReturnType<typeof epubcheckJava>>[] = [];
    // Two at a time: each is a JVM.
    for (let i = 0; i < picks.length; i += 2) {
      reports.push(
        ...(await Promise.all(
          picks.slice(i, i + 2).map((book) => {
            const file = join(dir, `${book.id}.epub`);
            writeFileSync(file, toEpub(bookContent(catalogue, book.id)!));
            return epubcheckJava(file);
          }),
        )),
      );
    }
    reports.forEach((r, i) => {
      const book = picks[i]!;
      assert.deepEqual(r.errors, [], `${book.id} (${book.layout})`);
      if (book.layout === 'root-html') {
        assert.deepEqual(onlyHtmlExtension(r), [], book.id);
        assert.equal(r.warnings.length, book.chapters, 'one HTM-014a per .html chapter');
      } else {
        assert.deepEqual(r.warnings, [], `${book.id} (${book.layout})`);
      }
    });
  } finally {
    cleanup();
  }
});
