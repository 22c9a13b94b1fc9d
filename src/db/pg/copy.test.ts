// `bookd store copy` (issue 14): a SQLite store with jobs in every state, their history, sessions
// with their jars, the catalogue, a paused queue, a watch and the budget reads back the same
// through the PostgreSQL stores; a target holding anything is refused untouched; a dry run leaves
// no trace; new ids come after the copied ones; a row changed on its way in rolls everything back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { ManualClock } from '../../clock.js';
import { ConfigError, EXIT, exitCodeFor } from '../../errors.js';
import { bookRecord } from '../../../test/helpers/book-record.js';
import { pgServer, type PgServer } from '../../../test/helpers/pg.js';
import { pgStores, type StoreBackend } from '../../../test/helpers/store-backends.js';
import type { EnqueueItem } from '../jobs.js';
import { migrate } from '../migrate.js';
import { asStore, openSqliteStore, type SqliteStore } from '../store.js';
import { connectPool } from './connect.js';
import { describeStore } from './url.js';
import { copyStore, CopyMismatchError } from './copy.js';
import { COPIED_TABLES, LEFT_OUT } from './copy-tables.js';
import { migratePg } from './migrate.js';
import { pgQueueControl } from './control.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const OLD_OWNER = 'oldhost:4242:a1b2c3';
const JWT = 'SECRET-JWT-VALUE-1f2e';
const RT = 'SECRET-RT-VALUE-9a8b';
const book = (n: number, skills: string[] = ['Python'], extra: Partial<EnqueueItem> = {}): EnqueueItem =>
  ({ kind: 'book', payload: { bookId: `978${String(n).padStart(10, '0')}`, format: 'epub', skills }, ...extra }) as EnqueueItem;

let server: PgServer;
let dir: string;
const pools: pg.Pool[] = [];
const sqlites: SqliteStore[] = [];
before(async () => {
  server = await pgServer();
  dir = mkdtempSync(join(tmpdir(), 'bookd-copy-'));
});
after(async () => {
  for (const s of sqlites) s.close();
  for (const p of pools) await p.end().catch(() => undefined);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function sqliteAt(clock: ManualClock): { path: string; store: SqliteStore } {
  const path = join(dir, `store-${++n}.db`);
  const store = openSqliteStore(path, clock, { random: () => 0.5, watchRetryBaseMs: MIN });
  sqlites.push(store);
  return { path, store };
}

async function poolFor(url: string): Promise<pg.Pool> {
  const p = await connectPool(url, { max: 4 });
  pools.push(p);
  return p;
}

/** A store as a machine leaves it: every job state and outcome, sessions (one held), books, a paused queue, a watch, budget rows, a daemon. */
function populated(): { path: string; store: SqliteStore; clock: ManualClock } {
  const clock = new ManualClock(Date.UTC(2026, 2, 1));
  const { path, store: s } = sqliteAt(clock);

  // A lease that lapsed: the reaper put the job back (history: lease_expired).
  s.jobs.enqueue([book(10)]);
  const [lapsed] = s.jobs.claim({ owner: OLD_OWNER, limit: 1, leaseMs: 1000 });
  clock.advance(2000);
  assert.equal(s.jobs.reap(), 1);
  assert.equal(s.jobs.get(lapsed!.id)!.state, 'queued');

  const w = s.watches.add({ kind: 'skills', target: 'Python, Go', options: { format: 'epub', maxBooks: 5, excludeSkills: ['R'] }, periodMs: 24 * HOUR });
  s.watches.claim(w.id, 10);

  s.jobs.enqueue([
    book(1, ['Python', 'Data']),
    book(2, ['Go']),
    book(3),
    book(4, ['Go', 'Python']),
    book(5),
    book(6, ['Rust']),
    book(7),
    book(8),
    book(9, ['Python'], { maxAttempts: 1 }),
  ]);
  clock.advance(10);
  const claimed = s.jobs.claim({ owner: OLD_OWNER, limit: 20, leaseMs: 10 * MIN });
  assert.equal(claimed.length, 10);
  const by = (n: number) => claimed.find((j) => j.key === `book:978${String(n).padStart(10, '0')}:epub`)!;
  clock.advance(500);
  // Running, with progress, a session and a checkpoint whose keys are out of order.
  s.jobs.heartbeat(by(1).id, by(1).leaseToken, 10 * MIN, { phase: 'chapters', done: 3, total: 9 }, 'laptop');
  s.jobs.checkpoint(by(1).id, by(1).leaseToken, { z: [1, 2, { b: true, a: null }], a: 'ü' });
  // Running, cancel requested.
  s.jobs.cancel(by(2).id);
  assert.equal(s.jobs.complete(by(3).id, by(3).leaseToken, { session: 'laptop', message: 'archived' }), true);
  assert.equal(s.jobs.fail(by(4).id, by(4).leaseToken, { kind: 'permanent', message: 'book not found (404)', session: 'desk' }), true);
  s.jobs.cancel(by(5).id);
  assert.equal(s.jobs.acknowledgeCancel(by(5).id, by(5).leaseToken), true);
  assert.equal(s.jobs.snooze(by(6).id, by(6).leaseToken, clock.now() + HOUR, 'rate limited', 'desk', 'rate_limited'), true);
  assert.equal(s.jobs.retry(by(7).id, by(7).leaseToken, { kind: 'transient', message: 'socket hang up' }), 'queued');
  assert.equal(s.jobs.requeue(by(8).id, by(8).leaseToken, { kind: 'shutdown', message: 'stopping' }), true);
  assert.equal(s.jobs.retry(by(9).id, by(9).leaseToken, { kind: 'transient', message: 'timed out' }), 'failed');
  assert.equal(s.jobs.complete(by(10).id, by(10).leaseToken), true);
  // A failed job sent back by the operator, a queued one never claimed, a queued one cancelled,
  // and the watch's discovery cancelled (which settles the watch's run).
  s.jobs.retryOne(by(9).id);
  const [queued, cancelled, discover] = s.jobs.enqueue([
    book(20),
    book(21, ['Go']),
    { kind: 'discover', payload: { skill: 'Python', format: 'epub', watch: w.id, maxBooks: 5 }, priority: 500 },
  ]);
  s.jobs.cancel(cancelled!.id);
  s.watches.markRun(w.id, { skills: [{ skill: 'Python', job: discover!.id, status: 'queued' }] });
  s.jobs.cancel(discover!.id);
  assert.equal(s.jobs.get(queued!.id)!.state, 'queued');

  const jar = (jwt: string) =>
    `{"version":"tough-cookie@6.0.0", "cookies":[ {"value":"${jwt}","key":"orm-jwt","expires":"2026-04-01T00:00:00.000Z"},{"key":"orm-rt","value":"${RT}","expires":"2026-06-01T00:00:00.000Z"}],"rejectPublicSuffixes":true}`;
  s.sessions.add({
    name: 'laptop',
    jarJson: jar('first'),
    tokenExpiresAt: Date.UTC(2026, 3, 1),
    loginEmail: 'me@example.com',
    passwordFile: '/etc/bookd/pw',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
  });
  clock.advance(1000);
  assert.equal(s.sessions.saveJar('laptop', jar(JWT), Date.UTC(2026, 3, 2), jar('first')), true);
  s.sessions.recordUse('laptop', { ok: true, requests: 17, bookDone: true });
  s.sessions.add({ name: 'desk', jarJson: '{ "cookies" : [ ] ,\n  "note": "äöü \\" \\\\" }' });
  s.sessions.setState('desk', 'cooling', { cooldownUntil: clock.now() + 10 * MIN, lastError: '429 Too Many Requests' });
  s.sessions.recordUse('desk', { ok: false, requests: 2 });
  s.sessions.recordUse('desk', { ok: true, requests: 1 });
  assert.equal(s.sessions.hold('desk', OLD_OWNER, clock.now() + 2 * MIN), true);

  s.books.record(bookRecord());
  s.books.record(
    bookRecord({
      format: 'kindle',
      skills: ['Python', 'Data'],
      gaps: ['images/fig1.png'],
      virtualPages: 410,
      issued: '2026-01-15',
      revision: 2,
      previousSha256: 'b'.repeat(64),
    }),
  );
  s.books.record(
    bookRecord({ id: '9781098125974', title: 'Ünïcödé — “quotes” \\ back', authors: ['A "B" C', 'Zoë'], path: 'Go/Ünïcödé.epub', mode: 'chapters' }),
  );

  s.control.pause('moving to PostgreSQL');
  s.budget.ensure('oldhost', 2.5, 'started', clock.now());
  s.budget.saveEdge('oldhost', clock.now() + MIN, 2);
  s.budget.saveRate('other-host', 0.75, 'halved after a 429', clock.now());
  s.control.daemonBeat(OLD_OWNER, 'claiming');
  return { path, store: s, clock };
}

type Readable = Pick<StoreBackend, 'jobs' | 'views' | 'control' | 'budget' | 'watches' | 'books'>;

/** Everything a store answers about what it holds, through its read APIs. */
async function answers(s: Readable) {
  const list = await s.views.list();
  return {
    list,
    perJob: await Promise.all(list.map(async (j) => ({ job: await s.jobs.get(j.id), attempts: await s.jobs.attempts(j.id) }))),
    counts: await s.views.counts(),
    bySkill: await s.views.countsBySkill(),
    oldest: await s.views.oldestQueued(),
    running: await s.views.running(),
    failures: await s.views.topFailures(10),
    nextRunAt: await s.jobs.nextRunAt(),
    leaseOwners: (await s.jobs.leaseOwners()).sort(),
    books: await s.books.list(),
    control: await s.control.state(),
    watches: await s.watches.list(),
    budget: await s.budget.list(),
  };
}

/** The sessions rows as the copy should leave them: booleans as booleans, holds cleared. */
function expectedSessions(s: SqliteStore): Record<string, unknown>[] {
  return s.db
    .prepare<[], Record<string, unknown>>('SELECT * FROM sessions ORDER BY name')
    .all()
    .map((r) => ({ ...r, refresh_cookie: r.refresh_cookie === 1, holder: null, held_until: null }));
}

async function tableCount(pool: pg.Pool): Promise<number> {
  return (await pool.query<{ n: number }>('SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()')).rows[0]!.n;
}

const password = () => decodeURIComponent(new URL(server.adminUrl).password);

describe('the tables the copy knows', () => {
  test('every table of the SQLite schema is copied or left out, and each copied column has the type it has in both schemas', async () => {
    const { store } = sqliteAt(new ManualClock());
    const liteTables = store.db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .all()
      .map((t) => t.name);
    assert.deepEqual([...COPIED_TABLES.map((t) => t.name), ...Object.keys(LEFT_OUT)].sort(), liteTables);

    const url = await server.createDatabase();
    const pool = await poolFor(url);
    await migratePg(pool, describeStore(url));
    const cols = await pool.query<{ table_name: string; column_name: string; data_type: string }>(
      'SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema()',
    );
    for (const t of COPIED_TABLES) {
      const pgTypes = Object.fromEntries(cols.rows.filter((r) => r.table_name === t.name).map((r) => [r.column_name, r.data_type]));
      assert.deepEqual(Object.fromEntries(t.columns), pgTypes, `${t.name}: the PostgreSQL columns and types`);
      const lite = Object.fromEntries(
        store.db
          .prepare<[], { name: string; type: string; pk: number }>(`SELECT name, type, pk FROM pragma_table_info('${t.name}')`)
          .all()
          .map((c) => [c.name, c.type]),
      );
      assert.deepEqual(Object.keys(lite).sort(), t.columns.map(([c]) => c).sort(), `${t.name}: the SQLite columns`);
      // Booleans are SQLite integers (0/1) and jsonb is SQLite text: what the conversion expects.
      for (const [c, type] of t.columns) {
        if (type === 'boolean') assert.equal(lite[c], 'INTEGER', `${t.name}.${c}`);
        if (type === 'jsonb') assert.equal(lite[c], 'TEXT', `${t.name}.${c}`);
      }
      const key = store.db
        .prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${t.name}') WHERE pk > 0 ORDER BY pk`)
        .all()
        .map((c) => c.name);
      assert.deepEqual([...t.key], key, `${t.name}: rows are checksummed in primary key order`);
    }
  });
});

describe('copying a store', () => {
  test('jobs in every state with their history, sessions with their jars, books, control, watches and budget read back the same on PostgreSQL', async () => {
    const { path, store: lite, clock } = populated();
    const want = await answers(asStore(lite));
    // The store does have every state, a running job with a lease, holds and the outcomes in its history.
    assert.deepEqual(want.counts, { queued: 5, running: 2, succeeded: 2, failed: 1, cancelled: 3 });
    assert.ok(want.running.every((j) => j.leaseOwner === OLD_OWNER && j.leaseExpiresAt !== undefined));
    const outcomes = new Set(want.perJob.flatMap((j) => j.attempts.map((a) => a.outcome)));
    assert.deepEqual([...outcomes].sort(), ['cancelled', 'failed', 'lease_expired', 'released', 'retry', 'snoozed', 'succeeded']);
    assert.equal(lite.sessions.get('desk')!.holder, OLD_OWNER);
    assert.equal(lite.control.daemons().length, 1);

    const url = await server.createDatabase();
    const lines: string[] = [];
    const report = await copyStore({ sqlitePath: path, url, log: (l) => lines.push(l) });

    const pool = await poolFor(url);
    const target = pgStores(pool, { clock, random: () => 0.5, watchRetryBaseMs: MIN });
    assert.deepEqual(await answers(target), want);
    const sessions = (await pool.query('SELECT * FROM sessions ORDER BY name COLLATE "C"')).rows;
    assert.deepEqual(sessions, expectedSessions(lite));
    assert.equal(sessions.find((r) => r.name === 'laptop')?.jar, lite.sessions.get('laptop')!.jarJson, 'the jar, exactly as text');
    assert.equal(sessions.find((r) => r.name === 'desk')?.jar, lite.sessions.get('desk')!.jarJson);
    assert.deepEqual(await target.control.daemons(), [], "the old machine's daemons are left out");

    const counts = Object.fromEntries(COPIED_TABLES.map((t) => [t.name, lite.db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${t.name}`).get()!.n]));
    assert.deepEqual(
      report.tables.map((t) => [t.name, t.rows]),
      Object.entries(counts),
    );
    assert.ok(report.tables.every((t) => /^[0-9a-f]{64}$/.test(t.checksum)));
    assert.equal(report.committed, true);

    const logged = lines.join('\n');
    assert.match(logged, /sessions: 1 hold cleared /);
    assert.match(logged, /daemons: left out \(1 row\)/);
    assert.match(logged, new RegExp(`copying into ${describeStore(url).replace(/[.]/g, '\\.')} \\(bookd schema version 6 created\\)`));
    for (const secret of [JWT, RT, password(), 'first']) assert.ok(!logged.includes(secret), 'no cookie or password in the log');
  });

  test('ids handed out on PostgreSQL after the copy come after the copied ones (1,203 jobs, several batches)', async () => {
    const clock = new ManualClock();
    const { path, store: lite } = sqliteAt(clock);
    lite.jobs.enqueue(Array.from({ length: 1203 }, (_, i) => book(i + 1, i % 3 === 0 ? ['Go'] : ['Python'])));
    for (const j of lite.jobs.claim({ owner: OLD_OWNER, limit: 700, leaseMs: MIN })) lite.jobs.complete(j.id, j.leaseToken);
    lite.watches.add({ kind: 'playlist', target: 'my list', options: { format: 'both' }, periodMs: HOUR });
    lite.watches.add({ kind: 'skills', target: 'Go', options: { format: 'epub' }, periodMs: HOUR });
    const want = await answers(asStore(lite));
    const url = await server.createDatabase();
    const report = await copyStore({ sqlitePath: path, url });
    assert.equal(report.tables.find((t) => t.name === 'jobs')!.rows, 1203);
    assert.equal(report.tables.find((t) => t.name === 'job_attempts')!.rows, 700);

    const pool = await poolFor(url);
    const target = pgStores(pool, { clock, watchRetryBaseMs: MIN });
    assert.deepEqual(await answers(target), want);
    const [added] = await target.jobs.enqueue([book(5000)]);
    assert.deepEqual([added!.status, added!.id], ['added', 1204]);
    const [claimed] = await target.jobs.claim({ owner: 'newhost:1:abc', limit: 1, leaseMs: MIN });
    assert.equal(await target.jobs.complete(claimed!.id, claimed!.leaseToken), true);
    assert.deepEqual((await pool.query('SELECT max(id) AS id FROM job_attempts')).rows, [{ id: 701 }]);
    const w = await target.watches.add({ kind: 'skills', target: 'Rust', options: { format: 'epub' }, periodMs: HOUR });
    assert.equal(w.id, 3);
  });

  test('a target that holds anything is refused with exit 78, naming host:port/db and not the password, and is left as it was', async () => {
    const { path, store: lite, clock } = populated();
    const url = await server.createDatabase();
    await copyStore({ sqlitePath: path, url });
    const pool = await poolFor(url);
    const target = pgStores(pool, { clock, watchRetryBaseMs: MIN });
    const before = await answers(target);
    lite.jobs.enqueue([book(99)]);

    const refusal = (pattern: RegExp) => (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(exitCodeFor(err), EXIT.config);
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes(password()), 'no password');
      assert.doesNotMatch(err.message, /\n/);
      return true;
    };
    const label = describeStore(url).replace(/[.]/g, '\\.');
    await assert.rejects(copyStore({ sqlitePath: path, url }), refusal(new RegExp(`^${label} is not empty: it holds jobs \\(13 rows\\), job_attempts`)));
    assert.deepEqual(await answers(target), before, 'unchanged');

    // Nothing but a paused queue, or a daemon's row, is something too.
    const paused = await server.createDatabase();
    const p2 = await poolFor(paused);
    await migratePg(p2, describeStore(paused));
    await pgQueueControl(p2, { clock }).pause('not yet');
    await assert.rejects(copyStore({ sqlitePath: path, url: paused }), refusal(/holds a queue control changed from its default;/));
    const daemon = await server.createDatabase();
    const p3 = await poolFor(daemon);
    await migratePg(p3, describeStore(daemon));
    await pgQueueControl(p3, { clock }).daemonBeat('newhost:1:abc');
    await assert.rejects(copyStore({ sqlitePath: path, url: daemon }), refusal(/holds daemons \(1 row\);/));
    assert.equal((await p3.query('SELECT count(*) AS n FROM jobs')).rows[0].n, 0);

    // Another program's database is not bookd's to fill.
    const foreign = await server.createDatabase();
    const p4 = await poolFor(foreign);
    await p4.query('CREATE TABLE invoices (id integer)');
    await assert.rejects(copyStore({ sqlitePath: path, url: foreign }), refusal(/not a bookd one/));
    assert.equal(await tableCount(p4), 1);
  });

  test('an empty bookd schema (a host migrated it and stopped) is a fine target', async () => {
    const { path, store: lite, clock } = populated();
    const url = await server.createDatabase();
    const pool = await poolFor(url);
    await migratePg(pool, describeStore(url));
    const lines: string[] = [];
    await copyStore({ sqlitePath: path, url, log: (l) => lines.push(l) });
    assert.match(lines[0]!, /\(its bookd schema version 6\)$/);
    assert.deepEqual(await answers(pgStores(pool, { clock, watchRetryBaseMs: MIN })), await answers(asStore(lite)));
  });

  test('a dry run copies and verifies, then leaves the target as it was: no schema, sequences untouched', async () => {
    const { path } = populated();
    const url = await server.createDatabase();
    const pool = await poolFor(url);
    const lines: string[] = [];
    const dry = await copyStore({ sqlitePath: path, url, dryRun: true, log: (l) => lines.push(l) });
    assert.equal(dry.committed, false);
    assert.equal(await tableCount(pool), 0, 'not even the schema');
    assert.match(lines.join('\n'), /verified/);
    assert.match(lines.at(-1)!, /^dry run: rolled back; .* is as it was$/);
    const real = await copyStore({ sqlitePath: path, url });
    assert.deepEqual(dry.tables, real.tables, 'the dry run reported what the copy then did');

    // On an existing empty schema a dry run does not move the sequences either (setval is never rolled back).
    const migrated = await server.createDatabase();
    const p2 = await poolFor(migrated);
    await migratePg(p2, describeStore(migrated));
    const seq = async () => (await p2.query<{ last_value: number; is_called: boolean }>('SELECT last_value, is_called FROM jobs_id_seq')).rows;
    const beforeSeq = await seq();
    await copyStore({ sqlitePath: path, url: migrated, dryRun: true });
    assert.deepEqual(await seq(), beforeSeq);
    assert.equal((await p2.query('SELECT count(*) AS n FROM jobs')).rows[0].n, 0);
  });

  test('a row changed on its way in fails the checksum of its table, and everything is rolled back', async () => {
    const { path } = populated();
    const url = await server.createDatabase();
    const pool = await poolFor(url);
    await migratePg(pool, describeStore(url));
    await pool.query(`CREATE FUNCTION tamper() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.title := NEW.title || '!'; RETURN NEW; END $$`);
    await pool.query('CREATE TRIGGER tamper BEFORE INSERT ON books FOR EACH ROW EXECUTE FUNCTION tamper()');
    const seqBefore = (await pool.query('SELECT last_value, is_called FROM jobs_id_seq')).rows;
    await assert.rejects(copyStore({ sqlitePath: path, url }), (err: unknown) => {
      assert.ok(err instanceof CopyMismatchError, String(err));
      assert.equal(err.table, 'books');
      assert.equal(err.source.rows, err.target.rows);
      assert.notEqual(err.source.checksum, err.target.checksum);
      assert.match(err.message, /^the copy of books does not match .*everything was rolled back/);
      return true;
    });
    for (const t of COPIED_TABLES.filter((x) => x.name !== 'queue_control')) {
      assert.equal((await pool.query(`SELECT count(*) AS n FROM ${t.name}`)).rows[0].n, 0, t.name);
    }
    assert.deepEqual((await pool.query('SELECT id, paused FROM queue_control')).rows, [{ id: 1, paused: false }]);
    assert.deepEqual((await pool.query('SELECT last_value, is_called FROM jobs_id_seq')).rows, seqBefore);
  });
});

describe('the source', () => {
  test('a missing store, or one an older bookd left, is refused before the target is touched', async () => {
    const url = await server.createDatabase();
    const pool = await poolFor(url);
    await assert.rejects(
      copyStore({ sqlitePath: join(dir, 'nowhere', 'bookd.db'), url }),
      (err: unknown) => err instanceof ConfigError && /^there is no bookd store at .*nowhere\/bookd\.db to copy; check --data-dir$/.test(err.message),
    );
    const old = join(dir, 'old.db');
    const db = new BetterSqlite3(old);
    migrate(db, old, { target: 5 });
    db.close();
    await assert.rejects(
      copyStore({ sqlitePath: old, url }),
      (err: unknown) =>
        err instanceof ConfigError && /has schema version 5 and needs upgrading to 6; run a command that writes .* once to migrate it/.test(err.message),
    );
    assert.equal(await tableCount(pool), 0);
  });

  test('a URL that is not PostgreSQL is refused', async () => {
    const { path } = sqliteAt(new ManualClock());
    await assert.rejects(copyStore({ sqlitePath: path, url: 'mysql://u:pw@h/x' }), (err: unknown) => err instanceof ConfigError && !/pw/.test(err.message));
  });
});
