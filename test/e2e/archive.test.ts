import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, startCli, tempDir, waitFor } from '../helpers/cli.js';
import { epubcheckJava, epubcheckTs, hasJavaEpubcheck } from '../helpers/epubcheck.js';
import { addSessions, bookdEnv, cliJson, type LibraryEntry } from '../helpers/library.js';
import { walk } from '../helpers/files.js';
import { startSimProcess, type SimCatalogue, type SimProcess } from '../helpers/sim.js';
import { compareWithSource, sourceCatalogue } from '../helpers/source.js';
import type { Catalogue } from '../../src/sim/index.js';

interface JobJson {
  id: number;
  state: string;
  last_error?: { message: string } | null;
}

describe('every book of a catalogue, in both modes and both formats', () => {
  let sim: SimProcess;
  let cat: SimCatalogue;
  let source: Catalogue;
  before(async () => {
    sim = await startSimProcess(['--seed', '31', '--books', '50', '--big-books', '1', '--big-chapters', '260', '--rotate', 'every']);
    cat = await sim.catalogue();
    source = sourceCatalogue(cat);
  });
  after(async () => {
    await sim.stop();
  });

  for (const mode of ['package', 'chapters'] as const) {
    test(`${mode} mode: 0 epubcheck errors, chapter text equal to the source, images byte-identical`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_BUILD_MODE: mode });
        await addSessions(sim, 4, dir, env);
        const books = cat.books.filter((b) => b.format === 'book' && b.flags.length === 0);
        assert.ok(books.length >= 50, `${books.length} books`);
        assert.ok(
          books.some((b) => b.chapters >= 250),
          'a book with hundreds of chapters',
        );
        assert.ok(
          books.some((b) => /[^\x00-\x7f]/.test(b.title)),
          'non-ASCII titles',
        );
        assert.ok(
          books.some((b) => !b.language.startsWith('en')),
          'other languages',
        );
        const list = join(dir, 'books.txt');
        writeFileSync(list, `# every book of the sim catalogue\n${books.map((b) => b.id).join('\n')}\n`);
        assert.equal((await runCli(['enqueue', '--from-file', list, '--format', 'both'], { env })).code, 0);
        const run = await runCli(['run', '--until-empty'], { env, timeoutMs: 300_000 });
        assert.equal(run.code, 0, run.stderr);

        const lib = await cliJson<(LibraryEntry & { mode: string })[]>(['library', 'list'], env);
        assert.equal(lib.length, books.length * 2, 'an epub and a kindle file per book');
        assert.ok(
          lib.every((e) => e.mode === mode),
          `every book built in ${mode} mode`,
        );
        const root = join(dir, 'data', 'library');
        const problems: string[] = [];
        for (const entry of lib) {
          const file = join(root, entry.path);
          const report = await epubcheckTs(file);
          if (report.errors.length) problems.push(`${entry.path}: ${report.errors.slice(0, 3).join(' | ')}`);
          if (entry.format === 'epub') for (const p of compareWithSource(file, source, entry.id)) problems.push(`${entry.id}: ${p}`);
        }
        assert.deepEqual(problems, []);
        if (hasJavaEpubcheck()) {
          // Java epubcheck takes ~2 s a file: the tricky books, in both formats.
          const tricky = [
            books.find((b) => b.chapters >= 250)!,
            books.find((b) => /[^\x00-\x7f]/.test(b.title))!,
            books.find((b) => !b.language.startsWith('en'))!,
            books.find((b) => b.id !== b.isbn)!,
            books[0]!,
          ];
          for (const b of tricky) {
            for (const entry of lib.filter((e) => e.id === b.id)) {
              const report = await epubcheckJava(join(root, entry.path));
              assert.deepEqual(report.errors, [], `Java epubcheck on ${entry.path}`);
            }
          }
        }
        const stray = walk(root).filter((f) => !f.endsWith('.epub'));
        assert.deepEqual(stray, [], 'nothing but EPUBs in the library (staging emptied)');
      } finally {
        cleanup();
      }
    });
  }
});

describe('failures while archiving', () => {
  let sim: SimProcess;
  let cat: SimCatalogue;
  before(async () => {
    sim = await startSimProcess([
      '--seed',
      '33',
      '--books',
      '8',
      '--big-books',
      '1',
      '--big-chapters',
      '150',
      '--poison',
      '--rotate',
      'off',
      '--stale-mode',
      'preview',
      '--latency',
      '3',
    ]);
    cat = await sim.catalogue();
  });
  after(async () => {
    await sim.stop();
  });

  test('one book queued twice (epub, and both formats) and worked at once by two sessions: every file whole, its catalogue hash right', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const env = bookdEnv(join(dir, 'data'), sim.url);
      await addSessions(sim, 2, dir, env);
      const book = cat.books.find((b) => b.format === 'book' && b.flags.length === 0 && b.chapters < 100)!;
      assert.equal((await runCli(['enqueue', '--book', book.id], { env })).code, 0);
      assert.equal((await runCli(['enqueue', '--book', book.id, '--format', 'both'], { env })).code, 0);
      const run = await runCli(['run', '--until-empty'], { env, timeoutMs: 120_000 });
      assert.equal(run.code, 0, run.stderr);
      const lib = await cliJson<LibraryEntry[]>(['library', 'list'], env);
      assert.deepEqual(lib.map((e) => e.format).sort(), ['epub', 'kindle']);
      const verify = await runCli(['library', 'verify'], { env });
      assert.equal(verify.code, 0, verify.stdout);
      for (const e of lib) assert.deepEqual((await epubcheckTs(join(dir, 'data', 'library', e.path))).errors, [], e.path);
      assert.deepEqual(walk(join(dir, 'data', 'library', '.staging')), [], 'no staging debris');
      const jobs = await cliJson<{ state: string; attempt: number }[]>(['jobs', 'list'], env);
      assert.deepEqual(
        jobs.map((j) => [j.state, j.attempt]),
        [
          ['succeeded', 1],
          ['succeeded', 1],
        ],
        'neither job was disturbed by the other',
      );
    } finally {
      cleanup();
    }
  });

  test('poison books: unknown id fails with the server message, an always-500 chapter fails naming it, a missing image is a recorded gap', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_RETRY_BASE_MS: '10' });
      await addSessions(sim, 2, dir, env);
      const poison = (flag: string) => cat.books.find((b) => b.flags.includes(flag as never))!;
      const missing = poison('poison-missing');
      const chapter = poison('poison-chapter');
      const image = poison('poison-image');
      for (const b of [missing, chapter, image]) await runCli(['enqueue', '--book', b.id], { env });
      const run = await runCli(['run', '--until-empty'], { env, timeoutMs: 120_000 });
      assert.equal(run.code, 1, 'failed books make run --until-empty exit 1');
      const jobs = await cliJson<(JobJson & { subject?: string; payload?: { bookId: string } })[]>(['jobs', 'list'], env);
      const byBook = (id: string) => jobs.find((j) => JSON.stringify(j).includes(id))!;
      assert.equal(byBook(missing.id).state, 'failed');
      assert.match(JSON.stringify(byBook(missing.id)), /does not exist or was withdrawn.*Not found/);
      assert.equal(byBook(chapter.id).state, 'failed');
      assert.match(JSON.stringify(byBook(chapter.id)), /ch02\.xhtml.*server error 50\d/);
      assert.equal(byBook(image.id).state, 'succeeded');
      const lib = await cliJson<LibraryEntry[]>(['library', 'list'], env);
      assert.deepEqual(
        lib.map((e) => e.id),
        [image.id],
      );
      assert.ok(
        lib[0]!.gaps!.some((g) => /images\/b\/figure\.png/.test(g)),
        `gap recorded: ${JSON.stringify(lib[0]!.gaps)}`,
      );
      const human = await runCli(['library', 'list'], { env });
      assert.match(human.stdout, /gap/i, 'library list shows the gap');
      const report = await epubcheckTs(join(dir, 'data', 'library', lib[0]!.path));
      assert.deepEqual(report.errors, []);
    } finally {
      cleanup();
    }
  });

  test('previews without a paywall marker, staged by a session gone stale, are caught by their length and fetched again', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info', BOOKD_BUILD_MODE: 'package' });
      const book = cat.books.find((b) => b.flags.length === 0 && b.format === 'book' && b.chapters >= 150)!;
      const [doomed] = await sim.mint(1);
      writeFileSync(join(dir, 'doomed.json'), JSON.stringify({ ...doomed, 'orm-rt': 'not-a-refresh-token' }));
      assert.equal((await runCli(['sessions', 'add', 'doomed', '--cookies', join(dir, 'doomed.json')], { env })).code, 0);
      await sim.control({ latencyMs: 60, staleMode: 'silent-preview' });
      await runCli(['enqueue', '--book', book.id], { env });
      const daemon = await startCli(['run'], { env });
      try {
        await waitFor(
          async () => {
            const s = await cliJson<{ running: { progress: { phase?: string; done?: number } | null }[] }>(['status'], env);
            const p = s.running[0]?.progress;
            return p?.phase === 'files' && (p.done ?? 0) >= 3;
          },
          'the book part-way through its files',
          30_000,
          50,
        );
        await addSessions(sim, 1, dir, env, 'good');
        await sim.resetStats();
        await sim.control({ advanceClockMs: 2 * 3600_000, latencyMs: 3 });
        daemon.child.kill('SIGHUP');
        await waitFor(async () => (await cliJson<{ jobs: { succeeded: number } }>(['status'], env)).jobs.succeeded === 1, 'the book archived', 60_000, 100);
      } finally {
        assert.equal((await daemon.stop('SIGTERM')).code, 0);
      }
      assert.ok((await sim.stats()).previewsServed >= 1, 'the server sent silent previews to the stale session');
      const lib = await cliJson<LibraryEntry[]>(['library', 'list'], env);
      assert.equal(lib.length, 1);
      const problems = compareWithSource(join(dir, 'data', 'library', lib[0]!.path), sourceCatalogue(cat), book.id);
      assert.deepEqual(problems, [], 'the final EPUB is complete');
    } finally {
      await sim.control({ latencyMs: 3, staleMode: 'preview' });
      cleanup();
    }
  });

  test('a session that goes stale mid-book never produces a file; another session finishes the book', async () => {
    const { dir, cleanup } = tempDir();
    try {
      // Chapter mode: every request half-way through a book is a chapter page, which a stale token
      // gets as a 200 preview, the failure this test is about.
      const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info', BOOKD_BUILD_MODE: 'chapters' });
      const book = cat.books.find((b) => b.flags.length === 0 && b.format === 'book' && b.chapters >= 150)!;
      // Session "doomed" has a refresh token the server will not take: once its login lapses it cannot recover.
      const [doomed] = await sim.mint(1);
      writeFileSync(join(dir, 'doomed.json'), JSON.stringify({ ...doomed, 'orm-rt': 'not-a-refresh-token' }));
      assert.equal((await runCli(['sessions', 'add', 'doomed', '--cookies', join(dir, 'doomed.json')], { env })).code, 0);
      await sim.control({ latencyMs: 60 });
      await runCli(['enqueue', '--book', book.id], { env });
      const daemon = await startCli(['run'], { env });
      try {
        await waitFor(
          async () => {
            const s = await cliJson<{ running: { progress: { phase?: string; done?: number } | null }[] }>(['status'], env);
            const p = s.running[0]?.progress;
            return p?.phase === 'chapters' && (p.done ?? 0) >= 3;
          },
          'the book half-way through its chapters',
          30_000,
          50,
        );
        await addSessions(sim, 1, dir, env, 'good');
        await sim.resetStats();
        await sim.control({ advanceClockMs: 2 * 3600_000, latencyMs: 3 });
        daemon.child.kill('SIGHUP');
        await waitFor(async () => (await cliJson<{ jobs: { succeeded: number } }>(['status'], env)).jobs.succeeded === 1, 'the book archived', 60_000, 100);
      } finally {
        assert.equal((await daemon.stop('SIGTERM')).code, 0);
      }
      const stats = await sim.stats();
      assert.ok(stats.previewsServed >= 1, 'the server sent a preview to the stale session');
      const sessions = await cliJson<{ name: string; state: string }[]>(['sessions', 'list'], env);
      assert.equal(sessions.find((s) => s.name === 'doomed')!.state, 'expired');
      const show = await runCli(['jobs', 'show', '1'], { env });
      assert.match(show.stdout, /released/);
      assert.match(show.stdout, /preview|not accepted/);
      const lib = await cliJson<LibraryEntry[]>(['library', 'list'], env);
      assert.equal(lib.length, 1);
      const problems = compareWithSource(join(dir, 'data', 'library', lib[0]!.path), sourceCatalogue(cat), book.id);
      assert.deepEqual(problems, [], 'the final EPUB is complete');
    } finally {
      await sim.control({ latencyMs: 3 });
      cleanup();
    }
  });
});
