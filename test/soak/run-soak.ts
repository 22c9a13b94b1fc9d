import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, killNow, runCli, tempDir } from '../helpers/cli.js';
import { epubcheckTs } from '../helpers/epubcheck.js';
import { addSessions, bookdEnv, cliJson, type LibraryEntry } from '../helpers/library.js';
import { walk } from '../helpers/files.js';
import { startSimProcess } from '../helpers/sim.js';
import { compareWithSource, sourceCatalogue } from '../helpers/source.js';

export interface SoakOptions {
  books: number;
  sessions: number;
  kills: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  books: number;
  kills: { after: string; at: number }[];
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The kill -9 soak: a daemon archiving `books` books through `sessions` sessions against
 * a server that rotates the token on every response is killed with SIGKILL `kills` times at
 * random moments (some aimed at the moment an EPUB is being written) and restarted each time.
 * Then it must hold that every book is archived exactly once, valid and complete, the library has
 * no stray files, every session still works and no job is stuck.
 */
export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => {});
  const seed = opts.seed ?? 41;
  const sim = await startSimProcess([
    '--seed',
    String(seed),
    '--books',
    String(Math.ceil(opts.books * 1.25)),
    '--chapters',
    '6',
    '--rotate',
    'every',
    '--grace',
    '0',
    '--latency',
    '2',
    '--jitter',
    '4',
  ]);
  const { dir, cleanup } = tempDir('bookd-soak-');
  const started = Date.now();
  const kills: SoakResult['kills'] = [];
  /** The daemon of the round in progress: killed in `finally` too, so a failed round never leaves it running. */
  let child: ChildProcess | undefined;
  let random = seed;
  const rand = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  try {
    const cat = await sim.catalogue();
    const books = cat.books.filter((b) => b.format === 'book' && b.flags.length === 0 && b.chapters < 50).slice(0, opts.books);
    assert.equal(books.length, opts.books, 'enough books in the sim catalogue');
    const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_SESSION_INTERVAL_MS: '3', BOOKD_LOG_LEVEL: 'warn' });
    await addSessions(sim, opts.sessions, dir, env);
    const list = join(dir, 'books.txt');
    writeFileSync(list, books.map((b) => b.id).join('\n'));
    assert.equal((await runCli(['enqueue', '--from-file', list], { env })).code, 0);
    const staging = join(dir, 'data', 'library', '.staging');

    for (let k = 0; k < opts.kills; k++) {
      child = spawn(process.execPath, [CLI, 'run'], { env: { ...process.env, ...env }, stdio: 'ignore' });
      const aimAtWrite = k % 3 === 2;
      let after = 'random';
      if (aimAtWrite) {
        // Kill while this process writes an EPUB into staging (debris of the last kill does not count).
        const spawnedAt = Date.now();
        const writing = () => {
          try {
            return readdirSync(staging, { recursive: true, encoding: 'utf8' }).some(
              (n) => n.endsWith('.epub.tmp') && (statSync(join(staging, n), { throwIfNoEntry: false })?.mtimeMs ?? 0) > spawnedAt,
            );
          } catch (err) {
            // The daemon removes a book's staging folder once the book is placed: one may vanish
            // between the listing and the look inside it (CI met it). Not writing, this time round.
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
            throw err;
          }
        };
        const deadline = spawnedAt + 10_000;
        while (Date.now() < deadline && !writing()) await sleep(1);
        after = writing() ? 'mid-write' : 'random';
      } else {
        await sleep(150 + rand() * 1500);
      }
      await killNow(child);
      kills.push({ after, at: Date.now() - started });
      const s = await cliJson<{ jobs: Record<string, number> }>(['status'], env);
      log(`kill ${k + 1}/${opts.kills} (${after}): ${s.jobs.succeeded} done, ${s.jobs.queued} queued, ${s.jobs.running} running`);
    }

    const final = await runCli(['run', '--until-empty'], { env, timeoutMs: 600_000 });
    assert.equal(final.code, 0, `the last run finishes: ${final.stderr}`);
    const status = await cliJson<{ jobs: Record<string, number>; sessions: { name: string; state: string }[] }>(['status'], env);
    assert.equal(status.jobs.running, 0, 'no job stuck in running');
    assert.equal(status.jobs.queued, 0);
    assert.equal(status.jobs.failed, 0, 'no job failed');
    assert.deepEqual(
      status.sessions.map((s) => s.state),
      Array(opts.sessions).fill('ok'),
      'no session needs re-import',
    );

    const lib = await cliJson<LibraryEntry[]>(['library', 'list'], env);
    const ids = new Set(books.map((b) => b.id));
    assert.deepEqual(lib.map((e) => e.id).sort(), [...ids].sort(), 'every book archived, nothing else');
    const stats = await sim.stats();
    for (const e of lib) assert.equal(stats.downloads[e.id], 1, `book ${e.id} downloaded exactly once (the sim's counter)`);
    const source = sourceCatalogue(cat);
    const root = join(dir, 'data', 'library');
    for (const e of lib) {
      const file = join(root, e.path);
      assert.deepEqual((await epubcheckTs(file)).errors, [], `${e.path} valid`);
      assert.deepEqual(compareWithSource(file, source, e.id), [], `${e.path} complete`);
    }
    const stray = walk(root).filter((f) => !f.endsWith('.epub'));
    assert.deepEqual(stray, [], 'no stray files in the library');
    assert.equal(walk(root).length, lib.length, 'one file per catalogued book');
    assert.equal((await runCli(['library', 'verify'], { env })).code, 0);
    return { books: lib.length, kills, seconds: (Date.now() - started) / 1000 };
  } finally {
    if (child) await killNow(child);
    await sim.stop();
    cleanup();
  }
}
