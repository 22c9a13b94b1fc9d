import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, startCli, tempDir, waitFor } from '../helpers/cli.js';
import { epubcheckTs } from '../helpers/epubcheck.js';
import { addSessions, bookdEnv, cliJson, type LibraryEntry } from '../helpers/library.js';
import { startSimProcess, type SimCatalogueBook, type SimProcess } from '../helpers/sim.js';

interface StatusJson {
  jobs: Record<'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled', number>;
  sessions: { name: string; state: string }[];
  paused: boolean;
}

const SKILLS = ['Go', 'Rust', 'SQL', 'Linux'];

/** The books discovery of these skills must find: English books (not videos), no special flags. */
function expectedBooks(books: SimCatalogueBook[], skills: string[]): SimCatalogueBook[] {
  return books.filter((b) => b.format === 'book' && b.language.startsWith('en') && b.flags.length === 0 && b.skills.some((s) => skills.includes(s)));
}

describe('the daemon end to end', () => {
  let sim: SimProcess;
  let books: SimCatalogueBook[];
  before(async () => {
    sim = await startSimProcess(['--seed', '21', '--books', '36', '--skills', SKILLS.join(', '), '--rotate', 'every', '--latency', '2']);
    books = (await sim.catalogue()).books;
  });
  after(async () => {
    await sim.stop();
  });

  test('two skills enqueued, one run: every discovered book archived once, valid, in its skill folders', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const env = bookdEnv(join(dir, 'data'), sim.url);
      await addSessions(sim, 3, dir, env);
      await sim.resetStats();
      const enq = await runCli(['enqueue', '--skills', 'Go, Rust'], { env });
      assert.equal(enq.code, 0, enq.stderr);
      // More workers than sessions: most of them wait at any moment, each on the daemon's signals.
      const run = await runCli(['run', '--until-empty', '--workers', '16'], { env, timeoutMs: 120_000 });
      assert.equal(run.code, 0, run.stderr + run.stdout);
      assert.doesNotMatch(run.stderr, /MaxListenersExceeded/, 'waiting workers are not mistaken for a listener leak');

      const want = expectedBooks(books, ['Go', 'Rust']);
      const lib = await cliJson<LibraryEntry[]>(['library', 'list'], env);
      assert.deepEqual(lib.map((b) => b.id).sort(), want.map((b) => b.id).sort(), 'the catalogue holds exactly the discovered books');
      const stats = await sim.stats();
      const sessions = await cliJson<{ name: string; requests: number; booksDone: number }[]>(['sessions', 'list'], env);
      assert.equal(
        sessions.reduce((n, s) => n + s.requests, 0),
        stats.requests.total,
        'the sessions counted every request the server saw',
      );
      assert.equal(
        sessions.reduce((n, s) => n + s.booksDone, 0),
        want.length,
      );
      const libraryRoot = join(dir, 'data', 'library');
      for (const b of want) {
        assert.equal(stats.downloads[b.id], 1, `book ${b.id} was downloaded exactly once`);
        const entry = lib.find((e) => e.id === b.id)!;
        const skills = b.skills.filter((s) => s === 'Go' || s === 'Rust');
        assert.deepEqual([...entry.skills].sort(), [...skills].sort(), `skills of ${b.id}`);
        const name = entry.path.split('/').pop()!;
        for (const skill of skills) assert.ok(existsSync(join(libraryRoot, skill, name)), `${name} is in ${skill}/`);
      }
      for (const entry of lib.slice(0, 6)) {
        const report = await epubcheckTs(join(libraryRoot, entry.path));
        assert.deepEqual(report.errors, [], `${entry.path} passes epubcheck`);
      }
      const status = await cliJson<StatusJson>(['status'], env);
      assert.equal(status.jobs.succeeded, lib.length + 2, 'book jobs plus two discovery jobs succeeded');
      assert.equal(status.jobs.failed + status.jobs.queued + status.jobs.running, 0);
      assert.deepEqual(
        status.sessions.map((s) => s.state),
        ['ok', 'ok', 'ok'],
      );
      const verify = await runCli(['library', 'verify'], { env });
      assert.equal(verify.code, 0, verify.stdout);
      // Months later: the same skill again finds nothing new.
      await runCli(['enqueue', '--skills', 'Go'], { env });
      const again = await runCli(['run', '--until-empty'], { env, timeoutMs: 60_000 });
      assert.equal(again.code, 0, again.stderr);
      const after = await cliJson<StatusJson>(['status'], env);
      assert.equal(after.jobs.succeeded, lib.length + 2, 'nothing new was queued');
    } finally {
      cleanup();
    }
  });

  test('SIGTERM drains within the grace period; a restart finishes the rest; two daemons never do the same work', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info' });
      await addSessions(sim, 4, dir, env);
      await sim.control({ latencyMs: 15 });
      await sim.resetStats();
      await runCli(['enqueue', '--skills', 'SQL, Linux'], { env });
      const first = await startCli(['run', '--grace', '20'], { env });
      await waitFor(async () => (await cliJson<StatusJson>(['status'], env)).jobs.succeeded >= 4, 'a few books archived', 60_000, 200);
      const stopped = Date.now();
      const exit = await first.stop('SIGTERM', 30_000);
      assert.equal(exit.code, 0, `clean exit, stderr: ${first.stderr()}`);
      assert.ok(Date.now() - stopped < 25_000, 'within the grace period');
      const mid = await cliJson<StatusJson>(['status'], env);
      assert.equal(mid.jobs.running, 0, 'nothing left running');
      assert.ok(mid.jobs.queued > 0, 'work remains for the restart');
      const logs = [first.firstLine, ...first.lines].join('\n');
      assert.match(logs, /stopping: finishing running jobs/);

      // The rest, by two daemons at once on the same data dir.
      await sim.control({ latencyMs: 2 });
      const [a, b] = await Promise.all([
        runCli(['run', '--until-empty'], { env, timeoutMs: 120_000 }),
        runCli(['run', '--until-empty'], { env, timeoutMs: 120_000 }),
      ]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      const want = expectedBooks(books, ['SQL', 'Linux']);
      const lib = await cliJson<LibraryEntry[]>(['library', 'list'], env);
      assert.deepEqual(lib.map((x) => x.id).sort(), want.map((x) => x.id).sort());
      const stats = await sim.stats();
      for (const w of want) assert.equal(stats.downloads[w.id], 1, `book ${w.id} downloaded once across three daemons`);
      const status = await cliJson<StatusJson>(['status'], env);
      assert.equal(status.jobs.failed, 0);
      assert.equal(status.jobs.succeeded, want.length + 2);
    } finally {
      await sim.control({ latencyMs: 2 });
      cleanup();
    }
  });

  test('a running daemon picks up new jobs without a restart, and honours pause and resume', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info' });
      await addSessions(sim, 2, dir, env);
      const daemon = await startCli(['run'], { env });
      const debris = join(dir, 'data', 'library', '.staging', 'book-9999999999999');
      try {
        // A second daemon starting beside a live one leaves staging alone: the live one may be
        // writing a book queued after the newcomer read the queue.
        // Its first line is the start line, logged before it announces itself: wait for "ready".
        await waitFor(() => [daemon.firstLine, ...daemon.lines].some((l) => l.includes('daemon ready')), 'the daemon ready', 10_000, 50);
        assert.ok(existsSync(join(dir, 'data', 'library', '.staging')), 'the daemon made its staging folder');
        mkdirSync(debris);
        const beside = await runCli(['run', '--until-empty'], { env, timeoutMs: 60_000 });
        assert.equal(beside.code, 0, beside.stderr);
        assert.ok(existsSync(debris), 'staging is left alone while another daemon runs');
        const [one, two] = expectedBooks(books, SKILLS);
        await runCli(['enqueue', '--book', one!.id], { env });
        await waitFor(async () => (await cliJson<StatusJson>(['status'], env)).jobs.succeeded === 1, 'the new book archived', 15_000, 100);
        assert.equal((await runCli(['pause', '--reason', 'testing'], { env })).code, 0);
        await runCli(['enqueue', '--book', two!.id], { env });
        await waitFor(async () => /paused by the operator/.test(daemon.lines.join('\n')), 'the daemon notices the pause', 10_000, 100);
        const paused = await cliJson<StatusJson>(['status'], env);
        assert.equal(paused.paused, true);
        assert.equal(paused.jobs.queued, 1, 'nothing is claimed while paused');
        assert.equal((await runCli(['resume'], { env })).code, 0);
        await waitFor(async () => (await cliJson<StatusJson>(['status'], env)).jobs.succeeded === 2, 'the book archived after resume', 15_000, 100);
      } finally {
        assert.equal((await daemon.stop('SIGTERM')).code, 0);
      }
      const alone = await runCli(['run', '--until-empty'], { env, timeoutMs: 60_000 });
      assert.equal(alone.code, 0, alone.stderr);
      assert.ok(!existsSync(debris), 'a daemon starting alone clears the debris of books nobody wants');
    } finally {
      cleanup();
    }
  });

  test('an unknown skill fails its discovery with a clear reason and queues nothing', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const env = bookdEnv(join(dir, 'data'), sim.url);
      await addSessions(sim, 1, dir, env);
      await runCli(['enqueue', '--skills', 'Pyhton'], { env });
      const run = await runCli(['run', '--until-empty'], { env, timeoutMs: 60_000 });
      assert.equal(run.code, 1, 'a failed job makes run --until-empty exit 1');
      const status = await cliJson<StatusJson>(['status'], env);
      assert.deepEqual(status.jobs, { queued: 0, running: 0, succeeded: 0, failed: 1, cancelled: 0 });
      const jobs = await runCli(['jobs', 'list', '--state', 'failed'], { env });
      assert.match(jobs.stdout, /Pyhton/);
      const show = await runCli(['jobs', 'show', '1'], { env });
      assert.match(show.stdout, /the listing has no books for skill "Pyhton": check the spelling/);
    } finally {
      cleanup();
    }
  });
});

describe('the daemon refuses bad configuration at start', () => {
  test('a config file with an unknown key or a wrong type exits 78 naming the key', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const cfg = join(dir, 'config.json');
      writeFileSync(cfg, JSON.stringify({ library: join(dir, 'lib'), workerz: 3 }));
      const r = await runCli(['--config', cfg, 'run', '--until-empty'], { env: { BOOKD_DATA_DIR: join(dir, 'data') } });
      assert.equal(r.code, 78);
      assert.match(r.stderr, /key "workerz": unknown key/);
      writeFileSync(cfg, JSON.stringify({ sessionIntervalMs: 'fast' }));
      const t = await runCli(['--config', cfg, 'run'], { env: { BOOKD_DATA_DIR: join(dir, 'data') } });
      assert.equal(t.code, 78);
      assert.match(t.stderr, /key "sessionIntervalMs": must be a whole number/);
      assert.equal(t.stderr.trim().split('\n').length, 1, 'one line, no stack');
    } finally {
      cleanup();
    }
  });

  test(
    'an unwritable library fails at start, not after an hour',
    { skip: process.getuid?.() === 0 ? 'root writes anywhere; a read-only file stands in for the directory below' : false },
    async () => {
      const { dir, cleanup } = tempDir();
      try {
        const lib = join(dir, 'lib');
        mkdirSync(lib);
        chmodSync(lib, 0o500);
        const r = await runCli(['run', '--until-empty'], { env: { BOOKD_DATA_DIR: join(dir, 'data'), BOOKD_LIBRARY: lib } });
        assert.equal(r.code, 78);
        assert.match(r.stderr, /is not writable/);
      } finally {
        cleanup();
      }
    },
  );

  test('a library path that cannot be a directory fails at start with exit 78', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const lib = join(dir, 'not-a-dir');
      writeFileSync(lib, 'a file where the library should be');
      const r = await runCli(['run', '--until-empty'], { env: { BOOKD_DATA_DIR: join(dir, 'data'), BOOKD_LIBRARY: lib } });
      assert.equal(r.code, 78);
      assert.match(r.stderr, /the library .* is not a directory \(ENOTDIR\)/);
      assert.ok(statSync(lib).isFile(), 'nothing changed');
      assert.deepEqual(readdirSync(dir).sort(), ['data', 'not-a-dir'].filter((n) => existsSync(join(dir, n))).sort());
    } finally {
      cleanup();
    }
  });
});
