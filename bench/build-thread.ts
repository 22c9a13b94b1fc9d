/**
 * What the EPUB build thread costs, as the daemon runs it: the same staged book (files on disk,
 * as a download leaves them) built N times in a row through ThreadBuilder, for each pair of heap
 * limits asked for.
 *
 *   node --import tsx bench/build-thread.ts [--books 8] [--chapters 30] [--mb 4] [--limits 16/48,4/0,0/0]
 *
 * A limit pair is young/old generation MB for the thread (0: V8's own). For each it prints the
 * process's resident peak over the RSS before the thread started, the RSS once the builds are done
 * (the thread still running, as between books in the daemon), CPU seconds per book over every
 * thread (the first, cold book left out) and how many books were built again without the cap.
 * Each pair runs in a process of its own.
 * Builds run from the TypeScript sources here, so the thread's start-up (tsx compiling it) is
 * dearer than the daemon's; the first book is left out of the CPU figure for that reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_TUNING } from '../src/config.js';
import { ThreadBuilder, type BookSource } from '../src/epub/builder.js';
import { bigBook } from '../test/fixtures/epub/big-book.js';

const { values } = parseArgs({
  options: {
    books: { type: 'string', default: '8' },
    chapters: { type: 'string', default: '30' },
    mb: { type: 'string', default: '4' },
    row: { type: 'boolean', default: false },
    limits: { type: 'string', default: `${DEFAULT_TUNING.threads.youngGenerationMb}/${DEFAULT_TUNING.threads.buildOldGenerationMb},4/0,0/0` },
  },
});
const books = Math.max(2, Number(values.books));
const pairs = values.limits.split(',');

// Each pair in a process of its own: a thread's C allocations stay with the process after the
// thread is gone, and would be reused by the next pair's thread.
if (pairs.length > 1) {
  const rows = pairs.map((pair) => {
    const args = [...process.execArgv, process.argv[1]!, '--books', values.books, '--chapters', values.chapters, '--mb', values.mb, '--limits', pair, '--row'];
    return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }).trim().split('\n').pop()!) as string[];
  });
  print(rows);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'bookd-bench-build-'));

// Staged as the downloader leaves a book: every chapter and asset in a file of its own.
const { format: _format, ...input } = bigBook({ chapters: Number(values.chapters), totalBytes: Math.round(Number(values.mb) * 2 ** 20) }).chapterMode('epub');
const chapters = input.chapters.map((c, i) => {
  const file = join(dir, `chapter-${i}.html`);
  writeFileSync(file, c.html);
  return { ...c, html: '', file };
});
const assets = input.assets.map((a, i) => {
  const file = join(dir, `asset-${i}.bin`);
  writeFileSync(file, a.data!);
  return { ...a, data: null, file };
});
const source: BookSource = { mode: 'chapters', input: { ...input, chapters, assets } };

const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

const rows: string[][] = [];
for (const pair of pairs) {
  const [young, old] = pair.split('/').map(Number) as [number, number];
  const builder = new ThreadBuilder(1, {
    ...DEFAULT_TUNING.threads,
    youngGenerationMb: young > 0 ? young : undefined,
    buildOldGenerationMb: old > 0 ? old : undefined,
  });
  const before = rssMb();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 5);
  await builder.write(source, 'epub', join(dir, 'book.epub'));
  const start = process.cpuUsage();
  for (let i = 1; i < books; i++) await builder.write(source, 'epub', join(dir, 'book.epub'));
  const cpu = cpuSeconds(process.cpuUsage(start)) / (books - 1);
  clearInterval(sampler);
  const after = rssMb();
  rows.push([pair, String(books), (peak - before).toFixed(0), (after - before).toFixed(0), cpu.toFixed(3), String(builder.rebuilt)]);
  await builder.close();
}
rmSync(dir, { recursive: true, force: true });
if (values.row) console.log(JSON.stringify(rows[0]));
else print(rows);

function print(rows: string[][]): void {
  const head = ['young/old MB', 'books', 'peak RSS over start MB', 'RSS after MB', 'cpu s/book', 'rebuilt'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(`bookd build-thread benchmark: node ${process.version}, ${cpus().length} CPUs, ${values.chapters} chapters, ${values.mb} MB per book`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
