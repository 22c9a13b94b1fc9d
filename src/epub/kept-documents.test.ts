import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bigBook } from '../../test/fixtures/epub/big-book.js';
import { BOOK_ID, chapterModeInput, packageFiles, sampleMeta } from '../../test/fixtures/epub/sample-book.js';
import { buildFromChapters } from './from-chapters.js';
import { buildFromPackage } from './from-package.js';
import type { EpubBuild, Format } from './model.js';

const entries = (b: EpubBuild) => b.entries.map((e) => [e.path, Buffer.from(e.data).toString('latin1')] as const);

/**
 * A document kept parsed from reading its ids to writing it, and one parsed again when written,
 * must come out the same: the budget only trades memory for CPU. Budgets of nothing, everything
 * and part of the book (so kept and re-parsed documents meet in one build, with links between them).
 */
for (const format of ['epub', 'kindle'] as Format[]) {
  test(`kept and re-parsed documents write the same book (${format}, both modes)`, () => {
    const big = bigBook({ chapters: 12, totalBytes: 600_000 });
    const books: [string, (kept: number) => EpubBuild][] = [
      ['sample chapters', (kept) => buildFromChapters(chapterModeInput(format), kept)],
      ['sample package', (kept) => buildFromPackage({ meta: sampleMeta(), bookId: BOOK_ID, files: packageFiles(), format }, kept)],
      ['big chapters', (kept) => buildFromChapters(big.chapterMode(format), kept)],
      ['big package', (kept) => buildFromPackage(big.packageMode(format), kept)],
    ];
    for (const [name, build] of books) {
      const reparsed = build(0);
      for (const kept of [Infinity, big.bytes / 4]) {
        const b = build(kept);
        assert.deepEqual(entries(b), entries(reparsed), `${name}, ${kept} characters kept`);
        assert.deepEqual(b.gaps, reparsed.gaps, name);
      }
    }
  });
}
