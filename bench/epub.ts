/**
 * What building an EPUB costs:
 *   node --import tsx bench/epub.ts [--books 10] [--chapters 40] [--mb 5] [--dir DIR]
 * Builds a book of the given size (half text, half incompressible images) N times in each mode and
 * format, writes each to disk, and prints CPU seconds per book, the resident-set peak after each
 * batch and what stays allocated after a full GC. Goals: well under 1 s of CPU for a 5 MB,
 * 40-chapter book; the peak levels off (V8 sizes its heap to the allocation rate) and the retained
 * memory is the same after every batch (nothing is kept between books).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildFromChapters } from '../src/epub/from-chapters.js';
import { buildFromPackage } from '../src/epub/from-package.js';
import type { Format } from '../src/epub/model.js';
import { writeEpub } from '../src/epub/zip.js';
import { bigBook } from '../test/fixtures/epub/big-book.js';

const { values } = parseArgs({
  options: {
    books: { type: 'string', default: '10' },
    chapters: { type: 'string', default: '40' },
    mb: { type: 'string', default: '5' },
    dir: { type: 'string' },
  },
});
const books = Number(values.books);
const chapters = Number(values.chapters);
const totalBytes = Math.round(Number(values.mb) * 1024 * 1024);
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'bookd-bench-epub-'));
const book = bigBook({ chapters, totalBytes });

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
const peakMb = () => process.resourceUsage().maxRSS / 1024;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** What stays allocated once garbage is collected: flat from batch to batch when nothing leaks. */
const retainedMb = () => {
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 1048576;
};

const rows: string[][] = [];
for (const mode of ['chapters', 'package'] as const) {
  for (const format of ['epub', 'kindle'] as Format[]) {
    let cpu = 0;
    let worst = 0;
    let out = 0;
    const peakBefore = peakMb();
    for (let i = 0; i < books; i++) {
      // Inputs are made outside the measurement: fetching is the downloader's cost, not ours.
      const input = mode === 'chapters' ? book.chapterMode(format) : book.packageMode(format);
      const start = process.cpuUsage();
      const build =
        mode === 'chapters' ? buildFromChapters(input as ReturnType<typeof book.chapterMode>) : buildFromPackage(input as ReturnType<typeof book.packageMode>);
      const written = await writeEpub(build, join(dir, `book-${mode}-${format}.epub`));
      const used = cpuSeconds(process.cpuUsage(start));
      cpu += used;
      worst = Math.max(worst, used);
      out = written.bytes;
    }
    rows.push([
      mode,
      format,
      String(books),
      (cpu / books).toFixed(3),
      worst.toFixed(3),
      (out / 1048576).toFixed(2),
      peakBefore.toFixed(0),
      peakMb().toFixed(0),
      retainedMb().toFixed(1),
    ]);
  }
}

const head = ['mode', 'format', 'books', 'cpu s/book', 'worst s', 'epub MB', 'peak RSS before MB', 'peak RSS after MB', 'retained after GC MB'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
console.log(
  `bookd EPUB benchmark: node ${process.version}, ${cpus().length} CPUs, ${chapters} chapters, ${(book.bytes / 1048576).toFixed(2)} MB of input per book`,
);
console.log(line(head));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
if (values.dir === undefined) rmSync(dir, { recursive: true, force: true });
