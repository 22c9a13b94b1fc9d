// What only the PostgreSQL backend has to show (issue 14): claimers on several connections never
// share a job, NOTIFY wakes an idle worker long before its poll, the LISTEN connection comes back,
// migrations run once when hosts race and a newer schema is refused, the schema mirrors SQLite's,
// and an unreachable server is a configuration error naming the host and not the password.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { ManualClock, systemClock } from '../../clock.js';
import { ConfigError, EXIT, exitCodeFor } from '../../errors.js';
import { freshPgStore } from '../../../test/helpers/job-backends.js';
import { pgServer, type PgServer } from '../../../test/helpers/pg.js';
import { freePort } from '../../../test/helpers/web.js';
import type { EnqueueItem } from '../jobs.js';
import { loadMigrations, migrate } from '../migrate.js';
import { openSqliteStore } from '../store.js';
import { clientConfig, connectPool, inTransaction } from './connect.js';
import { describeStore } from './url.js';
import { pgJobStore } from './jobs.js';
import { loadPgMigrations, migratePg, pgSchemaVersion } from './migrate.js';
import { jobWaiter, type JobWaiter } from './wake.js';

const MIN = 60_000;
const book = (n: number): EnqueueItem => ({ kind: 'book', payload: { bookId: `978${String(n).padStart(10, '0')}`, format: 'epub', skills: [] } });

let server: PgServer;
const pools: pg.Pool[] = [];
const waiters: JobWaiter[] = [];
before(async () => {
  server = await pgServer();
});
after(async () => {
  for (const w of waiters) await w.close();
  for (const p of pools) await p.end().catch(() => undefined);
  await server.stop();
});

async function store(clock = new ManualClock()) {
  const { url, pool } = await freshPgStore();
  pools.push(pool);
  return { url, pool, clock, jobs: pgJobStore(pool, { clock }) };
}

async function poolFor(url: string, max = 2): Promise<pg.Pool> {
  const p = await connectPool(url, { max });
  pools.push(p);
  return p;
}

describe('claiming', () => {
  test('claimers on separate connections never get the same job: 200 jobs, each claimed exactly once', async () => {
    const { url, jobs, clock } = await store();
    await jobs.enqueue(Array.from({ length: 200 }, (_, i) => book(i + 1)));
    // Six "hosts", each its own pool and store, claiming 1 to 4 at a time as fast as they can.
    const hosts = await Promise.all(Array.from({ length: 6 }, async () => pgJobStore(await poolFor(url), { clock })));
    const claimed = new Map<number, string>();
    const duplicates: number[] = [];
    await Promise.all(
      hosts.map(async (host, h) => {
        for (let round = 0; round < 400; round++) {
          const got = await host.claim({ owner: `host${h}`, limit: 1 + (h % 4), leaseMs: MIN });
          if (got.length === 0) return;
          for (const j of got) {
            if (claimed.has(j.id)) duplicates.push(j.id);
            claimed.set(j.id, `host${h}`);
            assert.equal(j.attempt, 1);
            assert.equal(await host.complete(j.id, j.leaseToken), true);
          }
        }
      }),
    );
    assert.deepEqual(duplicates, []);
    assert.equal(claimed.size, 200);
    assert.ok(new Set(claimed.values()).size > 1, 'more than one host claimed');
    const r = await pools[0]!.query<{ n: number; attempts: number }>(
      `SELECT count(*) AS n, (SELECT count(*) FROM job_attempts WHERE outcome = 'succeeded') AS attempts FROM jobs WHERE state = 'succeeded' AND attempt = 1`,
    );
    // pools[0] is this test's own store (its database), opened first.
    assert.deepEqual(r.rows[0], { n: 200, attempts: 200 });
  });

  test('a row another transaction holds is skipped, not waited for, by claim and by the reaper', async () => {
    const { pool, jobs, clock } = await store();
    await jobs.enqueue([book(1), book(2)]);
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM jobs WHERE id = 1 FOR UPDATE');
      const [j] = await jobs.claim({ owner: 'w', limit: 2, leaseMs: MIN });
      assert.deepEqual([j!.id], [2], 'the held row is skipped');
      await holder.query('ROLLBACK');
      // Now the running job's lease lapses while its worker is settling it (holding the row).
      clock.advance(MIN + 1);
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM jobs WHERE id = 2 FOR UPDATE');
      assert.equal(await jobs.reap(), 0, 'the reaper leaves a row being settled to its worker');
      await holder.query('ROLLBACK');
      assert.equal(await jobs.reap(), 1);
    } finally {
      holder.release();
    }
  });

  test('two hosts enqueueing the same keys at once: one job per key', async () => {
    const { url, jobs, clock, pool } = await store();
    const other = pgJobStore(await poolFor(url), { clock });
    const items = Array.from({ length: 50 }, (_, i) => book(i + 1));
    const [a, b] = await Promise.all([jobs.enqueue(items), other.enqueue([...items].reverse())]);
    const added = [...a, ...b].filter((r) => r.status === 'added').length;
    assert.equal(added, 50);
    assert.equal((await pool.query<{ n: number }>('SELECT count(*) AS n FROM jobs')).rows[0]!.n, 50);
  });
});

describe('settling', () => {
  test('onGivenUp runs in the transaction that settles the job: if it fails, nothing is settled', async () => {
    const { pool, clock } = await store();
    await pool.query('CREATE TABLE given_up (job bigint, why text)');
    let fail = true;
    const jobs = pgJobStore(pool, {
      clock,
      onGivenUp: async (job, why, c) => {
        await c.query('INSERT INTO given_up VALUES ($1, $2)', [job.id, why]);
        if (fail) throw new Error('the watch could not be updated');
      },
    });
    await jobs.enqueue([book(1)]);
    const [j] = await jobs.claim({ owner: 'w', limit: 1, leaseMs: MIN });
    await assert.rejects(jobs.fail(j!.id, j!.leaseToken, { kind: 'permanent', message: 'no spine' }), /the watch could not be updated/);
    assert.equal((await jobs.get(j!.id))!.state, 'running', 'rolled back with the hook');
    assert.deepEqual((await pool.query('SELECT * FROM given_up')).rows, []);
    assert.deepEqual(await jobs.attempts(j!.id), []);
    fail = false;
    assert.equal(await jobs.fail(j!.id, j!.leaseToken, { kind: 'permanent', message: 'no spine' }), true);
    assert.deepEqual((await pool.query('SELECT job, why FROM given_up')).rows, [{ job: j!.id, why: 'no spine' }]);
  });
});

describe('waking idle workers', () => {
  async function waiterOn(url: string, name: string): Promise<JobWaiter> {
    const w = await jobWaiter(clientConfig(url, { applicationName: name }), { clock: systemClock, reconnectBaseMs: 20, reconnectCapMs: 200 });
    waiters.push(w);
    return w;
  }

  test('an enqueue elsewhere wakes a worker whose poll is a minute away', async () => {
    const { url } = await store();
    const waiter = await waiterOn(url, 'bookd-wake-enqueue');
    const other = pgJobStore(await poolFor(url), { clock: new ManualClock() });
    const events: string[] = [];
    const woke = waiter.wait(60_000).then((why) => events.push(`woke: ${why}`));
    events.push('enqueue');
    await other.enqueue([book(1)]);
    await woke;
    assert.deepEqual(events, ['enqueue', 'woke: notified']);
  });

  test('a released job wakes waiters; a notification before the wait is not lost', async () => {
    const { url, jobs } = await store();
    const waiter = await waiterOn(url, 'bookd-wake-release');
    await jobs.enqueue([book(1)]);
    const since = waiter.seen();
    const [j] = await jobs.claim({ owner: 'w', limit: 1, leaseMs: MIN });
    const woke = waiter.wait(60_000, { since });
    await jobs.requeue(j!.id, j!.leaseToken, { kind: 'shutdown', message: 'stopping' });
    assert.equal(await woke, 'notified');
    // Taken before a claim, the count makes a notification that came in between wake the wait at once.
    const before = waiter.seen();
    const again = waiter.wait(60_000);
    await jobs.retryAllFailed(); // nothing failed: no notification
    await jobs.enqueue([book(2)]);
    assert.equal(await again, 'notified');
    assert.ok(waiter.seen() > before);
    assert.equal(await waiter.wait(60_000, { since: before }), 'notified', 'already seen after `before`');
  });

  test('polling is the fallback, and an abort ends the wait', async () => {
    const { url } = await store();
    const waiter = await waiterOn(url, 'bookd-wake-poll');
    assert.equal(await waiter.wait(10), 'timeout');
    const ac = new AbortController();
    const w = waiter.wait(60_000, { signal: ac.signal });
    ac.abort();
    assert.equal(await w, 'aborted');
  });

  test('the LISTEN connection comes back after the server drops it, and wakes waiters when it does', async () => {
    const { url, pool } = await store();
    const waiter = await waiterOn(url, 'bookd-wake-drop');
    const other = pgJobStore(await poolFor(url), { clock: new ManualClock() });
    const woke = waiter.wait(60_000);
    const killed = await pool.query<{ ok: boolean }>("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'bookd-wake-drop'");
    assert.deepEqual(
      killed.rows.map((r) => r.ok),
      [true],
    );
    assert.equal(await woke, 'reconnected', 'a waiter is woken on reconnect: what was sent meanwhile was lost');
    assert.equal(waiter.listening(), true);
    const next = waiter.wait(60_000);
    await other.enqueue([book(1)]);
    assert.equal(await next, 'notified');
  });
});

describe('migrations', () => {
  test('numbered like SQLite, one for one', () => {
    assert.deepEqual(
      loadPgMigrations().map((m) => m.name),
      loadMigrations().map((m) => m.name),
    );
  });

  test('every table and column of the SQLite schema, and no other', async () => {
    const sqlite = openSqliteStore(':memory:');
    const tables = sqlite.db.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all();
    const want = Object.fromEntries(
      tables.map((t) => [
        t.name,
        sqlite.db
          .prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${t.name}')`)
          .all()
          .map((c) => c.name)
          .sort(),
      ]),
    );
    sqlite.close();
    const { pool } = await store();
    const cols = await pool.query<{ table_name: string; column_name: string }>(
      "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> 'bookd_schema' ORDER BY table_name, column_name",
    );
    const got: Record<string, string[]> = {};
    for (const r of cols.rows) (got[r.table_name] ??= []).push(r.column_name);
    for (const list of Object.values(got)) list.sort();
    assert.deepEqual(got, want);
  });

  test('hosts migrating together: applied once, the others find it done', async () => {
    const url = await server.createDatabase();
    const hosts = await Promise.all(Array.from({ length: 4 }, () => poolFor(url)));
    const results = await Promise.all(hosts.map((p) => migratePg(p, describeStore(url))));
    assert.deepEqual(
      results.filter((r) => r.from === 0 && r.to === 6),
      [{ from: 0, to: 6 }],
      JSON.stringify(results),
    );
    assert.ok(results.every((r) => r.to === 6));
    const rows = await hosts[0]!.query<{ version: number }>('SELECT version FROM bookd_schema ORDER BY version');
    assert.deepEqual(
      rows.rows.map((r) => r.version),
      [1, 2, 3, 4, 5, 6],
    );
  });

  test('a schema newer than this bookd is refused and left untouched', async () => {
    const { url, pool } = await store();
    await pool.query("INSERT INTO bookd_schema (version, name, applied_at) VALUES (7, '0007_future', 0)");
    await assert.rejects(
      migratePg(pool, describeStore(url)),
      (err: unknown) =>
        err instanceof ConfigError && exitCodeFor(err) === EXIT.config && /schema version 7 but this bookd knows only up to 6/.test(err.message),
    );
    assert.equal(await pgSchemaVersion(pool), 7);
  });

  test("a database with tables but no bookd schema is not bookd's", async () => {
    const url = await server.createDatabase();
    const pool = await poolFor(url);
    await pool.query('CREATE TABLE invoices (id integer)');
    await assert.rejects(migratePg(pool, describeStore(url)), (err: unknown) => err instanceof ConfigError && /not a bookd one/.test(err.message));
    assert.equal(await pgSchemaVersion(pool), 0);
  });

  test('an older schema is brought up to date; version 4 fills the refresh columns from stored jars as SQLite does', async () => {
    const url = await server.createDatabase();
    const pool = await poolFor(url);
    assert.deepEqual(await migratePg(pool, describeStore(url), { target: 3 }), { from: 0, to: 3 });
    const jar = JSON.stringify({
      version: 'tough-cookie@6.0.0',
      cookies: [
        { key: 'orm-jwt', value: 'x', expires: '2026-01-01T01:00:00.000Z' },
        { key: 'orm-rt', value: 'y', expires: '2026-02-01T00:00:00.000Z' },
      ],
    });
    const maxAgeJar = JSON.stringify({ cookies: [{ key: 'orm-rt', value: 'z', maxAge: 3600, lastAccessed: '2026-01-01T00:00:00.000Z' }] });
    const insert = 'INSERT INTO sessions (name, jar, jar_saved_at, created_at, updated_at) VALUES ($1, $2, $3, 1, 1)';
    const rows: [string, string, number | null][] = [
      ['a', jar, 1000],
      ['b', maxAgeJar, null],
      ['c', '{"cookies": []}', 5],
      ['d', 'not json', 5],
    ];
    for (const r of rows) await pool.query(insert, r);
    assert.deepEqual(await migratePg(pool, describeStore(url)), { from: 3, to: 6 });
    const got = await pool.query('SELECT name, refresh_cookie, refresh_expires_at, renewed_at FROM sessions ORDER BY name');
    const want = [
      { name: 'a', refresh_cookie: true, refresh_expires_at: Date.parse('2026-02-01T00:00:00.000Z'), renewed_at: 1000 },
      { name: 'b', refresh_cookie: true, refresh_expires_at: Date.parse('2026-01-01T00:00:00.000Z') + 3_600_000, renewed_at: 1 },
      { name: 'c', refresh_cookie: false, refresh_expires_at: null, renewed_at: 5 },
      { name: 'd', refresh_cookie: false, refresh_expires_at: null, renewed_at: null },
    ];
    assert.deepEqual(got.rows, want);
    // The same rows through SQLite's own migration 0004 come out the same.
    const db = new BetterSqlite3(':memory:');
    migrate(db, ':memory:', { target: 3 });
    const put = db.prepare('INSERT INTO sessions (name, jar, jar_saved_at, created_at, updated_at) VALUES (?, ?, ?, 1, 1)');
    for (const r of rows) put.run(...r);
    migrate(db, ':memory:');
    const lite = db
      .prepare<[], { name: string; refresh_cookie: number; refresh_expires_at: number | null; renewed_at: number | null }>(
        'SELECT name, refresh_cookie, refresh_expires_at, renewed_at FROM sessions ORDER BY name',
      )
      .all();
    db.close();
    assert.deepEqual(
      lite.map((r) => ({ ...r, refresh_cookie: r.refresh_cookie === 1 })),
      want,
    );
  });
});

describe('connecting', () => {
  test('a server that is not there: exit 78, one line naming the host, never the password', async () => {
    const port = await freePort();
    const url = `postgresql://bookd:s3cret-pw@127.0.0.1:${port}/bookd`;
    await assert.rejects(connectPool(url, { connectTimeoutMs: 2000 }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(exitCodeFor(err), EXIT.config);
      assert.match(err.message, new RegExp(`^cannot reach the PostgreSQL store at 127\\.0\\.0\\.1:${port}/bookd: `));
      assert.doesNotMatch(err.message, /s3cret/);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  });

  test('a wrong password is refused the same way, without echoing it', async () => {
    const u = new URL(server.adminUrl);
    u.password = 'wrong-pw-123';
    await assert.rejects(
      connectPool(u.toString()),
      (err: unknown) => err instanceof ConfigError && !/wrong-pw-123/.test(err.message) && /127\.0\.0\.1/.test(err.message),
    );
  });

  test('a connection the server ends in the middle of a transaction fails that transaction, not the process; the pool goes on', async () => {
    const { url, pool: admin } = await store();
    const p = await connectPool(url, { max: 1, applicationName: 'bookd-tx-drop' });
    pools.push(p);
    // Between two statements the connection has no query of its own to fail: its end is an
    // 'error' event on the checked-out client, which nobody but inTransaction can be listening to.
    const tx = inTransaction(p, async (c) => {
      await c.query('SELECT 1');
      const ended = new Promise((r) => c.once('end', r));
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bookd-tx-drop'");
      await ended;
      return 'committed';
    });
    await assert.rejects(tx, (err: unknown) => err instanceof Error && !/s3cret|password/i.test(err.message));
    const after = await p.query<{ one: number }>('SELECT 1 AS one');
    assert.equal(after.rows[0]!.one, 1, 'the broken connection was not handed out again');
  });

  test('only postgres:// and postgresql:// URLs', async () => {
    await assert.rejects(connectPool('mysql://u:p@127.0.0.1/x'), (err: unknown) => err instanceof ConfigError && !/:p@/.test(err.message));
  });
});
