import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { unzipSync } from 'fflate';
import { epubcheckTs } from '../helpers/epubcheck.js';
import { runCli, startCli, tempDir, waitFor } from '../helpers/cli.js';
import { addSessions, bookdEnv, cliJson, type LibraryEntry } from '../helpers/library.js';
import { startSimProcess, type SimCatalogue, type SimProcess } from '../helpers/sim.js';

let sim: SimProcess;
let cat: SimCatalogue;
before(async () => {
  sim = await startSimProcess(['--seed', '91', '--books', '8', '--skills', 'Go', '--chapters', '6']);
  cat = await sim.catalogue();
});
after(async () => {
  await sim.stop();
});

type Entry = LibraryEntry & { revision: number; previous_sha256: string | null; virtual_pages: number | null; issued: string | null };
interface JobJson {
  id: number;
  kind: string;
  state: string;
  payload: { bookId?: string; update?: boolean; keepPrevious?: boolean };
}
interface WatchJson {
  last_run_at: string | null;
  next_run_at: string;
  failures: number;
}

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * Reads the file at `path` over and over until stopped. Every read must be a whole EPUB (a zip
 * that opens, with the EPUB mimetype and container); the contents seen are returned, to be
 * checked against the old and the new file's.
 */
function pollWholeFile(path: string) {
  let reads = 0;
  const seen = new Set<string>();
  let failure: string | undefined;
  let stop = false;
  const done = (async () => {
    while (!stop && reads < 100_000) {
      try {
        const data = await readFile(path);
        const files = unzipSync(data);
        assert.equal(Buffer.from(files.mimetype ?? []).toString(), 'application/epub+zip');
        assert.ok(files['META-INF/container.xml'], 'a container');
        seen.add(sha(data));
      } catch (err) {
        failure ??= `read ${reads}: ${err instanceof Error ? err.message : String(err)}`;
      }
      reads++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return { reads, seen, failure };
    },
  };
}

test('a watched skill re-archives a book that grew: the new copy replaces the old whole, with its revision, the previous sha256 and the kept (rev 1); nothing else is fetched again', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info' });
    const library = join(dir, 'data', 'library');
    await addSessions(sim, 2, dir, env);
    await sim.resetStats();
    const want = cat.books
      .filter((b) => b.format === 'book' && b.flags.length === 0 && b.language.startsWith('en') && b.skills.includes('Go'))
      .map((b) => b.id);
    assert.ok(want.length >= 2, 'two books at least: one grows, one stays');
    const added = await runCli(['watch', 'add', '--skills', 'Go', '--every', '2s', '--keep-previous'], { env });
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /keep previous/);

    const books = async () => new Map((await cliJson<Entry[]>(['library', 'list'], env)).map((e) => [e.id, e]));
    const first = await startCli(['run'], { env });
    let before: Map<string, Entry>;
    let grown: Entry;
    let watchBefore: WatchJson;
    let g: { issued: string };
    try {
      before = await waitFor(
        async () => {
          const b = await books();
          return want.every((id) => b.has(id)) ? b : undefined;
        },
        'the skill archived by the watch',
        90_000,
        300,
      );
      grown = before.get(want[0]!)!;
      assert.equal(grown.revision, 1);
      assert.equal(grown.previous_sha256, null);
      assert.ok((grown.virtual_pages ?? 0) > 0, 'the pages are catalogued');
      assert.match(grown.issued ?? '', /^\d{4}-\d\d-\d\d/, 'the date is catalogued');
      // Several runs of the watch see the same listing: nothing is queued again.
      await new Promise((r) => setTimeout(r, 5000));
      assert.deepEqual(
        Object.entries((await sim.stats()).downloads).filter(([, n]) => n !== 1),
        [],
        'every book downloaded once, however many runs',
      );

      // Slow, so the update is caught half-way: the daemon is killed while it downloads.
      await sim.control({ latencyMs: 150 });
      g = await sim.growBook(grown.id, 3);
      assert.ok(Date.parse(g.issued) > Date.parse(grown.issued!));
      const job = await waitFor(
        async () => (await cliJson<JobJson[]>(['jobs', 'list'], env)).find((j) => j.payload.bookId === grown.id && j.state === 'running' && j.payload.update),
        'the grown book queued again as an update and running',
        30_000,
        100,
      );
      assert.equal(job.payload.keepPrevious, true);
      watchBefore = (await cliJson<WatchJson[]>(['watch', 'list'], env))[0]!;
    } finally {
      await first.stop('SIGKILL');
    }
    await sim.control({ latencyMs: 0 });

    // Killed mid-update: the old file and its row are as they were.
    const path = join(library, grown.path);
    const oldSha = grown.sha256;
    assert.equal(sha(readFileSync(path)), oldSha);
    const killed = (await books()).get(grown.id)!;
    assert.deepEqual([killed.sha256, killed.revision, killed.previous_sha256, killed.path], [oldSha, 1, null, grown.path]);

    // The next daemon finishes the update while the file is read over and over.
    const poll = pollWholeFile(path);
    const second = await startCli(['run'], { env });
    let updated: Entry;
    try {
      updated = await waitFor(
        async () => {
          const e = (await books()).get(grown.id);
          return e?.revision === 2 ? e : undefined;
        },
        'the grown book re-archived after the restart',
        60_000,
        200,
      );
      // A few more runs of the watch: the re-archived book is not grown any more.
      await new Promise((r) => setTimeout(r, 5000));
    } finally {
      assert.equal((await second.stop('SIGTERM', 30_000)).code, 0, second.stderr());
    }
    const polled = await poll.stop();
    assert.equal(polled.failure, undefined, polled.failure);
    assert.ok(polled.reads >= 50, `${polled.reads} reads`);
    assert.deepEqual([...polled.seen].sort(), [oldSha, updated.sha256].sort(), 'the reads saw the old file, then the new one, and nothing else');

    assert.equal(updated.path, grown.path, 'the same name');
    assert.notEqual(updated.sha256, oldSha);
    assert.equal(updated.previous_sha256, oldSha);
    assert.ok(updated.virtual_pages! > grown.virtual_pages!, `${updated.virtual_pages} > ${grown.virtual_pages} pages`);
    assert.equal(updated.issued?.slice(0, 10), g.issued);
    assert.equal(sha(readFileSync(path)), updated.sha256);
    assert.deepEqual((await epubcheckTs(path)).errors, [], 'the new copy is a valid EPUB');
    const kept = path.replace(/\.epub$/, ' (rev 1).epub');
    assert.ok(existsSync(kept), `${kept} kept`);
    assert.equal(sha(readFileSync(kept)), oldSha, 'the kept file is the old revision');
    const text = (await runCli(['library', 'list'], { env })).stdout;
    assert.match(text, new RegExp(`${grown.id} .* 2 \\(was ${oldSha.slice(0, 8)}\\)`));

    // Nothing else was fetched again, nor changed.
    const after = await books();
    for (const id of want.slice(1)) {
      assert.deepEqual([after.get(id)!.sha256, after.get(id)!.revision], [before.get(id)!.sha256, 1], id);
    }
    const stats = await sim.stats();
    for (const id of want.slice(1)) assert.equal(stats.downloads[id], 1, `book ${id} downloaded once`);
    assert.equal(stats.downloads[grown.id], 2, 'the grown book downloaded twice: once first, once grown (the killed attempt resumed)');

    // The restart kept the watch: it ran on, on its period.
    const watchAfter = (await cliJson<WatchJson[]>(['watch', 'list'], env))[0]!;
    assert.ok(Date.parse(watchAfter.last_run_at!) > Date.parse(watchBefore.last_run_at!));
    assert.equal(watchAfter.failures, 0);
    const jobs = await cliJson<JobJson[]>(['jobs', 'list'], env);
    assert.equal(jobs.filter((j) => j.kind === 'book').length, want.length, 'one book job per book, the grown one run again');
  } finally {
    cleanup();
  }
});
