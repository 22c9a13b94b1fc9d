// Several hosts on one PostgreSQL store and one library (issue 14): each daemon runs in a UTS
// namespace of its own with its own host name and data dir, as on another machine, and they
// share the queue, the sessions, the catalogue and the library directory.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CAN_NAME_HOSTS, runCli, startCli, tempDir, waitFor, type Running } from '../helpers/cli.js';
import { addSessions, bookdEnv, cliJson, type LibraryEntry } from '../helpers/library.js';
import { privateServer, type PgServer } from '../helpers/pg.js';
import { startSimProcess, type SimProcess } from '../helpers/sim.js';
import { compareWithSource, sourceCatalogue } from '../helpers/source.js';

const SKIP = CAN_NAME_HOSTS ? false : 'needs root and unshare --uts to give each daemon a host of its own';

interface StatusJson {
  jobs: { queued: number; running: number; succeeded: number; failed: number };
  daemons: { owner: string; host: string; stale: boolean }[];
  sessions: { name: string; held_by: string | null }[];
  budget: { scope: string }[];
}

describe('two hosts on one PostgreSQL store and one library', { skip: SKIP }, () => {
  let pg: PgServer;
  before(async () => {
    pg = await privateServer();
  });
  after(async () => {
    await pg?.stop();
  });

  /** A sim of small books, host environments on one store and one library, four sessions. */
  async function setup(dir: string, seed: number, books: number) {
    const sim = await startSimProcess(['--seed', String(seed), '--books', String(books), '--chapters', '4', '--big-books', '0', '--latency', '2']);
    const url = await pg.createDatabase('bookd_hosts');
    const library = join(dir, 'library');
    const envOf = (host: string) =>
      bookdEnv(join(dir, host), sim.url, {
        BOOKD_STORE: url,
        BOOKD_LIBRARY: library,
        // A vanished host's jobs and sessions come back within seconds rather than two minutes.
        BOOKD_LEASE_SECONDS: '6',
        BOOKD_HOLD_SECONDS: '6',
        BOOKD_RETRY_BASE_MS: '50',
        BOOKD_LOG_LEVEL: 'info',
      });
    const a = envOf('host-a');
    await addSessions(sim, 4, dir, a);
    const cat = await sim.catalogue();
    const wanted = cat.books.filter((b) => b.format === 'book' && b.flags.length === 0).slice(0, 60);
    assert.equal(wanted.length, 60);
    assert.equal((await runCli(['enqueue', '--book', ...wanted.map((b) => b.id)], { env: a })).code, 0);
    return { sim, url, library, envOf, cat, wanted };
  }

  /** Every book once in the catalogue, its file whole (the catalogued sha256) and its text the source's. */
  async function checkLibrary(env: NodeJS.ProcessEnv, library: string, wanted: { id: string }[], source: ReturnType<typeof sourceCatalogue>) {
    const lib = await cliJson<LibraryEntry[]>(['library', 'list'], env);
    assert.deepEqual(lib.map((e) => e.id).sort(), wanted.map((b) => b.id).sort(), 'every book catalogued, each once');
    const problems: string[] = [];
    for (const e of lib) {
      const file = join(library, e.path);
      const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
      if (sha !== e.sha256) problems.push(`${e.id}: the file is not the one catalogued`);
      for (const p of compareWithSource(file, source, e.id)) problems.push(`${e.id}: ${p}`);
    }
    assert.deepEqual(problems, []);
  }

  test('60 books archived exactly once by two hosts; no session used by both; status lists both; kill -9 of one host is taken over after the lease', async () => {
    const { dir, cleanup } = tempDir();
    const daemons: Running[] = [];
    let sim: SimProcess | undefined;
    try {
      const s = await setup(dir, 141, 70);
      sim = s.sim;
      const envA = s.envOf('host-a');
      const envB = s.envOf('host-b');
      // B first, with two lanes, so it holds two of the four sessions; A takes the rest and,
      // without a lane limit, B's too once their holds lapse.
      const b = await startCli(['run', '--workers', '2'], { env: envB, host: 'host-b' });
      daemons.push(b);
      await waitFor(
        async () => (await cliJson<StatusJson>(['status'], envB)).sessions.filter((x) => x.held_by?.startsWith('host-b')).length === 2,
        'host-b holding two sessions',
        30_000,
        100,
      );
      const a = await startCli(['run'], { env: envA, host: 'host-a' });
      daemons.push(a);

      const both = await waitFor(
        async () => {
          const st = await cliJson<StatusJson>(['status'], envA);
          const hosts = new Set(st.daemons.filter((d) => !d.stale).map((d) => d.host));
          return hosts.has('host-a') && hosts.has('host-b') && st.jobs.succeeded >= 1 ? st : undefined;
        },
        'both hosts listed in status while working',
        60_000,
        200,
      );
      const holders = both.sessions.map((x) => x.held_by?.split(/[/:]/)[0]);
      assert.deepEqual(holders.filter((h) => h === 'host-b').length, 2, 'host-b holds two sessions');
      assert.deepEqual(holders.filter((h) => h === 'host-a').length, 2, 'host-a holds the other two');
      assert.deepEqual(both.budget.map((r) => r.scope).sort(), ['host-a', 'host-b'], 'a budget of its own per host (its own address)');

      // Kill -9 host-b in the middle of the run, while it has a book in hand.
      await waitFor(async () => (await cliJson<StatusJson>(['status'], envA)).jobs.succeeded >= 15, '15 books done', 120_000, 200);
      b.child.kill('SIGKILL');
      await b.stop();
      const done = await waitFor(
        async () => {
          const st = await cliJson<StatusJson>(['status'], envA);
          return st.jobs.succeeded === 60 ? st : undefined;
        },
        'all 60 books archived by host-a after host-b died',
        240_000,
        250,
      );
      assert.equal(done.jobs.failed, 0);
      // host-b's sessions were taken over once their holds lapsed.
      await waitFor(
        async () => (await cliJson<StatusJson>(['status'], envA)).sessions.every((x) => /^host-a[/:]/.test(x.held_by ?? '')),
        "host-b's sessions held by host-a",
        30_000,
        200,
      );
      assert.equal((await a.stop('SIGTERM')).code, 0);

      await checkLibrary(envA, s.library, s.wanted, sourceCatalogue(s.cat));
      const stats = await sim.stats();
      assert.equal(stats.staleTokenHits, 0, 'no request carried a superseded token: no jar was shared');
      assert.ok(
        Object.values(stats.maxConcurrency).every((n) => n <= 1),
        `at most one request in flight per session: ${JSON.stringify(stats.maxConcurrency)}`,
      );
      const twice = s.wanted.filter((w) => (stats.downloads[w.id] ?? 0) > 1).map((w) => w.id);
      assert.ok(twice.length <= 2, `only the books host-b had in hand are downloaded again: ${twice.join(', ')}`);
    } finally {
      for (const d of daemons) await d.stop('SIGKILL');
      await sim?.stop();
      cleanup();
    }
  });

  test('PostgreSQL restarted mid-run: both hosts pause, reconnect and finish; nothing lost or doubled', async () => {
    const { dir, cleanup } = tempDir();
    const daemons: Running[] = [];
    let sim: SimProcess | undefined;
    try {
      const s = await setup(dir, 142, 70);
      sim = s.sim;
      const envA = s.envOf('host-a');
      const envB = s.envOf('host-b');
      daemons.push(await startCli(['run', '--workers', '2'], { env: envB, host: 'host-b' }));
      daemons.push(await startCli(['run', '--workers', '2'], { env: envA, host: 'host-a' }));
      await waitFor(async () => (await cliJson<StatusJson>(['status'], envA)).jobs.succeeded >= 10, '10 books done', 120_000, 200);

      await pg.restart!(3_000);
      const done = await waitFor(
        async () => {
          const r = await runCli(['status', '--json'], { env: envA });
          if (r.code !== 0) return undefined;
          const st = JSON.parse(r.stdout) as StatusJson;
          return st.jobs.succeeded === 60 ? st : undefined;
        },
        'all 60 books archived after the restart',
        240_000,
        500,
      );
      assert.equal(done.jobs.failed, 0);
      for (const d of daemons) {
        const end = await d.stop('SIGTERM');
        assert.equal(end.code, 0, `each host stopped cleanly; the end of its log:\n${[...d.lines.slice(-15), d.stderr().slice(-2000)].join('\n')}`);
      }
      const logs = daemons.map((d) => [...d.lines, d.stderr()].join('\n'));
      for (const log of logs) assert.match(log, /cannot be reached|broke|LISTEN/, 'each host noticed the store going away');
      for (const log of logs) assert.doesNotMatch(log, /postgres(ql)?:\/\/[^\s"]*:[^\s"@]+@/, 'no store URL with its password in a log');

      await checkLibrary(envA, s.library, s.wanted, sourceCatalogue(s.cat));
      const stats = await sim.stats();
      assert.equal(stats.staleTokenHits, 0);
      assert.ok(
        Object.values(stats.maxConcurrency).every((n) => n <= 1),
        `at most one request in flight per session, across the restart: ${JSON.stringify(stats.maxConcurrency)}`,
      );
      const twice = s.wanted.filter((w) => (stats.downloads[w.id] ?? 0) > 1).map((w) => w.id);
      assert.deepEqual(twice, [], 'no book downloaded twice: outcomes were recorded once the store was back');
    } finally {
      for (const d of daemons) await d.stop('SIGKILL');
      await sim?.stop();
      cleanup();
    }
  });
});
