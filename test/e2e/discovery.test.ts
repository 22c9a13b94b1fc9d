import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, tempDir } from '../helpers/cli.js';
import { addSessions, bookdEnv, cliJson, type LibraryEntry } from '../helpers/library.js';
import { startSimProcess, type SimCatalogue, type SimProcess } from '../helpers/sim.js';

let sim: SimProcess;
let cat: SimCatalogue;
before(async () => {
  sim = await startSimProcess(['--seed', '61', '--books', '40', '--skills', 'Go, Rust, SQL']);
  cat = await sim.catalogue();
});
after(async () => {
  await sim.stop();
});

const english = (skill: string) =>
  cat.books.filter((b) => b.format === 'book' && b.flags.length === 0 && b.language.startsWith('en') && b.skills.includes(skill));

interface StatusJson {
  jobs: Record<'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled', number>;
}

test('enqueue --skills --dry-run runs the discovery now and lists its books, changing nothing', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url);
    await addSessions(sim, 1, dir, env);
    const r = await runCli(['enqueue', '--skills', 'Go', '--dry-run'], { env });
    assert.equal(r.code, 0, r.stderr);
    const go = english('Go');
    assert.match(r.stdout, new RegExp(`Go: \\d+ listed, ${go.length} new books found`));
    for (const b of go) assert.match(r.stdout, new RegExp(`would add +book ${b.id} epub`));
    assert.match(r.stdout, /nothing was changed/);
    const status = await cliJson<StatusJson>(['status'], env);
    assert.deepEqual(status.jobs, { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 });
  } finally {
    cleanup();
  }
});

test('--max-books and --exclude-skill shape what a discovery queues', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url);
    await addSessions(sim, 2, dir, env);
    assert.equal((await runCli(['enqueue', '--skills', 'Go', '--exclude-skill', 'Rust'], { env })).code, 0);
    assert.equal((await runCli(['enqueue', '--skills', 'SQL', '--max-books', '2'], { env })).code, 0);
    const run = await runCli(['run', '--until-empty'], { env, timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    const lib = await cliJson<LibraryEntry[]>(['library', 'list'], env);
    const ids = new Set(lib.map((e) => e.id));
    const goOnly = english('Go').filter((b) => !b.skills.includes('Rust'));
    for (const b of goOnly) assert.ok(ids.has(b.id), `${b.id} archived`);
    for (const b of english('Go').filter((x) => x.skills.includes('Rust'))) assert.ok(!ids.has(b.id) || b.skills.includes('SQL'), `${b.id} excluded for Rust`);
    const sqlOnly = lib.filter((e) => e.skills.includes('SQL'));
    assert.ok(sqlOnly.length <= 2 + goOnly.filter((b) => b.skills.includes('SQL')).length, 'at most 2 books from SQL discovery');
  } finally {
    cleanup();
  }
});

test('enqueue --playlist queues the books of a playlist named by uuid or name', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url);
    await addSessions(sim, 1, dir, env);
    const playlist = cat.collections[0]!;
    const want = playlist.content.flatMap((ourn) => /^urn:orm:book:(\d{13})$/.exec(ourn)?.[1] ?? []);
    const r = await runCli(['enqueue', '--playlist', playlist.name.toUpperCase()], { env });
    assert.equal(r.code, 0, r.stderr);
    const jobs = await cliJson<{ payload: { bookId: string } }[]>(['jobs', 'list'], env);
    assert.deepEqual(jobs.map((j) => j.payload.bookId).sort(), [...new Set(want)].sort());
    const bad = await runCli(['enqueue', '--playlist', 'no-such-list'], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no such playlist; yours are: /);
  } finally {
    cleanup();
  }
});

test('a book archived under one skill and discovered under another is linked there, not downloaded again', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url);
    await addSessions(sim, 2, dir, env);
    await sim.resetStats();
    await runCli(['enqueue', '--skills', 'Go'], { env });
    assert.equal((await runCli(['run', '--until-empty'], { env, timeoutMs: 120_000 })).code, 0);
    await runCli(['enqueue', '--skills', 'Rust'], { env });
    const second = await runCli(['run', '--until-empty'], { env: { ...env, BOOKD_LOG_LEVEL: 'info' }, timeoutMs: 120_000 });
    assert.equal(second.code, 0, second.stderr);
    const both = english('Go').filter((b) => b.skills.includes('Rust'));
    assert.ok(both.length > 0, 'the catalogue has books in both skills');
    assert.match(second.stdout, new RegExp(`${both.length} already archived \\(${both.length} linked into Rust/\\)`));
    const lib = await cliJson<LibraryEntry[]>(['library', 'list'], env);
    const stats = await sim.stats();
    for (const b of both) {
      const entry = lib.find((e) => e.id === b.id)!;
      assert.deepEqual([...entry.skills].sort(), ['Go', 'Rust']);
      const name = entry.path.split('/').pop()!;
      assert.ok(existsSync(join(dir, 'data', 'library', 'Rust', name)), `${name} linked into Rust/`);
      assert.equal(stats.downloads[b.id], 1, `${b.id} downloaded once`);
    }
  } finally {
    cleanup();
  }
});
