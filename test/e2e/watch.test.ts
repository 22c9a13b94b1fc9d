import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, startCli, tempDir, waitFor } from '../helpers/cli.js';
import { addSessions, bookdEnv, cliJson, type LibraryEntry } from '../helpers/library.js';
import { startSimProcess, type SimCatalogue, type SimProcess } from '../helpers/sim.js';

let sim: SimProcess;
let cat: SimCatalogue;
before(async () => {
  sim = await startSimProcess(['--seed', '73', '--books', '10', '--skills', 'Go, Rust']);
  cat = await sim.catalogue();
});
after(async () => {
  await sim.stop();
});

const english = (skill: string) =>
  cat.books.filter((b) => b.format === 'book' && b.flags.length === 0 && b.language.startsWith('en') && b.skills.includes(skill)).map((b) => b.id);

interface WatchJson {
  id: number;
  kind: string;
  target: string;
  every: string;
  last_run_at: string | null;
  next_run_at: string;
  last_found: { skills?: { skill: string; job: number; status: string; added?: number }[] } | null;
  books_added: number | null;
}

test('watch add, list and remove: durations, defaults and bad input', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url);
    const added = await runCli(['watch', 'add', '--skills', 'Go, Rust', '--every', '30s'], { env });
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^added watch #1: skills Go, Rust every 30s/);
    assert.match(added.stderr, /warning: --every 30s is under 1h/);
    const quiet = await runCli(['watch', 'add', '--playlist', 'Reading list'], { env });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '', 'a day is no warning');
    for (const bad of [
      ['watch', 'add', '--skills', 'Go', '--every', '7 days'],
      ['watch', 'add', '--skills', 'Go', '--every', '0s'],
      ['watch', 'add'],
      ['watch', 'add', '--skills', 'Go', '--playlist', 'x'],
      ['watch', 'add', '--playlist', 'x', '--max-books', '2'],
      ['watch', 'remove'],
    ]) {
      const r = await runCli(bad, { env });
      assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
    }
    const list = await cliJson<WatchJson[]>(['watch', 'list'], env);
    assert.deepEqual(
      list.map((w) => [w.id, w.kind, w.target, w.every, w.last_run_at, w.books_added]),
      [
        [1, 'skills', 'Go, Rust', '30s', null, null],
        [2, 'playlist', 'Reading list', '24h', null, null],
      ],
      'nothing the bad commands asked for was added; a playlist runs daily by default',
    );
    const missing = await runCli(['watch', 'remove', '9'], { env });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim().split('\n').length, 1);
    assert.match(missing.stderr, /no watch #9/);
    assert.equal((await runCli(['watch', 'remove', '1'], { env })).code, 0);
    const status = await cliJson<{ watches: WatchJson[] }>(['status'], env);
    assert.deepEqual(
      status.watches.map((w) => w.id),
      [2],
    );
    assert.match(status.watches[0]!.next_run_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match((await runCli(['status'], { env })).stdout, /watches \(bookd watch list\)\n {2}ID +WATCH.*\n {2}#2 +playlist Reading list +24h/);
    assert.match((await runCli(['watch', 'remove', '--all'], { env })).stdout, /removed 1 watch\n/);
  } finally {
    cleanup();
  }
});

test('a running daemon archives a book newly added to a watched skill without any enqueue, fetches nothing twice, and keeps the schedule across a restart', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info' });
    await addSessions(sim, 2, dir, env);
    await sim.resetStats();
    assert.equal((await runCli(['watch', 'add', '--skills', 'Go', '--every', '2s'], { env })).code, 0);
    // Runs once at the start, then not again for an hour: a restart must not make it run sooner.
    assert.equal((await runCli(['watch', 'add', '--skills', 'Rust', '--every', '1h'], { env })).code, 0);
    const archived = async () => new Set((await cliJson<LibraryEntry[]>(['library', 'list'], env)).map((e) => e.id));
    const want = new Set([...english('Go'), ...english('Rust')]);
    assert.ok(english('Go').length > 0 && english('Rust').length > 0);

    const first = await startCli(['run'], { env });
    let go: WatchJson | undefined;
    let rust: WatchJson | undefined;
    let fresh = '';
    let rustRan: string | null = null;
    try {
      await waitFor(
        async () => {
          const a = await archived();
          return [...want].every((id) => a.has(id));
        },
        'both skills archived',
        90_000,
        300,
      );
      fresh = await sim.addBook('Go');
      await waitFor(async () => (await archived()).has(fresh), 'the new Go book archived by the watch alone', 60_000, 300);
      [go, rust] = await cliJson<WatchJson[]>(['watch', 'list'], env);
      assert.ok(go!.last_found?.skills?.[0]?.skill === 'Go');
      rustRan = rust!.last_run_at;
      assert.notEqual(rustRan, null);
      const rustNext = Date.parse(rust!.next_run_at);
      assert.ok(rustNext - Date.parse(rustRan!) >= 0.9 * 3_600_000 && rustNext - Date.parse(rustRan!) <= 1.1 * 3_600_000, 'an hour on, ± 10 %');
    } finally {
      assert.equal((await first.stop('SIGTERM', 30_000)).code, 0, first.stderr());
    }

    // Stopped: the schedule is in the table.
    const stopped = await cliJson<WatchJson[]>(['watch', 'list'], env);
    assert.equal(stopped[1]!.next_run_at, rust!.next_run_at);

    const second = await startCli(['run'], { env });
    try {
      const another = await sim.addBook('Go');
      await waitFor(async () => (await archived()).has(another), 'a Go book added after the restart archived', 60_000, 300);
      const after = await cliJson<WatchJson[]>(['watch', 'list'], env);
      assert.ok(Date.parse(after[0]!.last_run_at!) > Date.parse(go!.last_run_at!), 'the 2 s watch fired after the restart');
      assert.equal(after[1]!.last_run_at, rustRan, 'the hourly watch did not run again at the restart');
      assert.equal(after[1]!.next_run_at, rust!.next_run_at);
    } finally {
      assert.equal((await second.stop('SIGTERM', 30_000)).code, 0, second.stderr());
    }

    const stats = await sim.stats();
    for (const id of [...want, fresh]) assert.equal(stats.downloads[id], 1, `book ${id} downloaded once`);
    const jobs = await cliJson<{ kind: string; payload: { skill?: string } }[]>(['jobs', 'list'], env);
    assert.equal(jobs.filter((j) => j.kind === 'discover' && j.payload.skill === 'Go').length, 1, 'one discover job for the skill, run again and again');
    assert.equal(jobs.filter((j) => j.kind === 'book').length, want.size + 2, 'no book queued twice');
  } finally {
    cleanup();
  }
});

test('a playlist watch queues the playlist’s books through a session of the running daemon, and says so when the playlist is gone', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info' });
    await addSessions(sim, 1, dir, env);
    const playlist = cat.collections[0]!;
    const want = [...new Set(playlist.content.flatMap((ourn) => /^urn:orm:book:(\d{13})$/.exec(ourn)?.[1] ?? []))].sort();
    assert.ok(want.length > 0);
    assert.equal((await runCli(['watch', 'add', '--playlist', playlist.name.toLowerCase(), '--every', '1h'], { env })).code, 0);
    assert.equal((await runCli(['watch', 'add', '--playlist', 'no-such-list', '--every', '1h'], { env })).code, 0);
    await runCli(['pause'], { env });
    const daemon = await startCli(['run'], { env });
    try {
      const [found, gone] = await waitFor(
        async () => {
          const list = await cliJson<(WatchJson & { last_found: { added?: number; error?: string } | null })[]>(['watch', 'list'], env);
          return list.every((w) => w.last_found !== null) ? list : undefined;
        },
        'both playlist watches ran',
        30_000,
        200,
      );
      assert.equal(found!.books_added, want.length);
      assert.match(gone!.last_found?.error ?? '', /no playlist no-such-list/);
      const jobs = await cliJson<{ kind: string; payload: { bookId?: string } }[]>(['jobs', 'list'], env);
      assert.deepEqual(jobs.map((j) => j.payload.bookId).sort(), want);
    } finally {
      assert.equal((await daemon.stop('SIGTERM', 30_000)).code, 0, daemon.stderr());
    }
  } finally {
    cleanup();
  }
});
