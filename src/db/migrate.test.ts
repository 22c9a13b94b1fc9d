import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ManualClock } from '../clock.js';
import { ConfigError } from '../errors.js';
import { loadMigrations, migrate, MIGRATIONS_DIR, type Migration } from './migrate.js';
import { openDb } from './open.js';

function temp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bookd-migrate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const REAL = loadMigrations();

/** The real migrations plus one more, as the next schema change will look. */
const NEXT: Migration[] = [
  ...REAL,
  {
    version: REAL.length + 1,
    name: `${String(REAL.length + 1).padStart(4, '0')}_test_next`,
    sql: "CREATE TABLE test_next (x INTEGER); INSERT INTO test_next VALUES (42); ALTER TABLE jobs ADD COLUMN test_note TEXT DEFAULT 'n';",
  },
];

function version(path: string): number {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

/** A database left at `v` by an older bookd, with a job in it when the schema has jobs. */
function databaseAt(path: string, v: number, migrations: Migration[] = REAL): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  migrate(db, path, { migrations, target: v });
  if (v >= 1) {
    db.prepare(
      'INSERT INTO jobs (kind, dedupe_key, payload, priority, state, run_at, max_attempts, created_at, updated_at) VALUES (\'book\', \'book:9781492056348:epub\', \'{"bookId":"9781492056348","format":"epub","skills":[]}\', 100, \'queued\', 1, 5, 1, 1)',
    ).run();
  }
  db.close();
  assert.equal(version(path), v);
}

test('the migration files are numbered from 0001 without gaps and together make every table', () => {
  assert.ok(REAL.length >= 1);
  REAL.forEach((m, i) => assert.equal(m.version, i + 1));
  const db = openDb(':memory:');
  const tables = db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
    .all()
    .map((r) => (r as { name: string }).name);
  assert.deepEqual(tables, ['books', 'budget', 'daemons', 'job_attempts', 'jobs', 'queue_control', 'sessions', 'watches']);
  assert.ok(MIGRATIONS_DIR.endsWith('/migrations/'));
});

test('loadMigrations refuses gaps and misnamed files', (t) => {
  const dir = temp(t);
  writeFileSync(join(dir, '0001_init.sql'), 'SELECT 1;');
  writeFileSync(join(dir, '0003_later.sql'), 'SELECT 1;');
  assert.throws(() => loadMigrations(dir), /0003_later\.sql is misnamed or out of sequence \(expected 0002_name\.sql\)/);
  rmSync(join(dir, '0003_later.sql'));
  writeFileSync(join(dir, '0002-bad name.sql'), 'SELECT 1;');
  assert.throws(() => loadMigrations(dir), ConfigError);
  assert.throws(() => loadMigrations(join(dir, 'absent')), /cannot be read/);
});

test('an empty file migrates to the latest version without a backup', (t) => {
  const dir = temp(t);
  const path = join(dir, 'bookd.db');
  writeFileSync(path, '');
  const results: unknown[] = [];
  openDb(path, { onMigrated: (r) => results.push(r) }).close();
  assert.equal(version(path), REAL.length);
  assert.deepEqual(results, [{ from: 0, to: REAL.length }]);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.includes('.bak-')),
    [],
  );
});

test('every earlier version migrates to the latest, keeping its data and a backup of it', (t) => {
  const dir = temp(t);
  // Every earlier version of the real schema, and of the schema with one more migration.
  for (const migrations of [REAL, NEXT]) {
    const latest = migrations.length;
    for (let v = 0; v < latest; v++) {
      const path = join(dir, `${latest}-from-${v}`, 'bookd.db');
      databaseAt(path, v, migrations);
      const clock = new ManualClock(Date.UTC(2026, 2, 4, 5, 6, 7, 89));
      const db = openDb(path, { migrations, clock });
      assert.equal(db.pragma('user_version', { simple: true }), latest, `from ${v} to ${latest}`);
      const jobs = (db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
      db.close();
      const backups = readdirSync(join(path, '..')).filter((n) => n.includes('.bak-'));
      if (v === 0) {
        assert.deepEqual(backups, [], 'nothing to back up in an empty file');
        continue;
      }
      assert.equal(jobs, 1, 'the job survived');
      assert.deepEqual(backups, [`bookd.db.bak-v${v}-20260304T050607.089Z`]);
      const backup = join(path, '..', backups[0]!);
      assert.equal(version(backup), v, 'the backup is the old schema');
      assert.equal(statSync(backup).mode & 0o777, 0o600);
    }
  }
  const db = new BetterSqlite3(join(dir, `${NEXT.length}-from-1`, 'bookd.db'), { readonly: true });
  assert.deepEqual(db.prepare('SELECT x FROM test_next').all(), [{ x: 42 }]);
  assert.deepEqual(db.prepare('SELECT test_note FROM jobs').all(), [{ test_note: 'n' }]);
  db.close();
});

test('a failing migration changes nothing: the file stays at its version with its data', (t) => {
  const dir = temp(t);
  const path = join(dir, 'bookd.db');
  databaseAt(path, REAL.length);
  const broken: Migration[] = [...REAL, { version: REAL.length + 1, name: 'broken', sql: 'CREATE TABLE half (x); INSERT INTO no_such_table VALUES (1);' }];
  assert.throws(
    () => openDb(path, { migrations: broken }),
    (err: unknown) => err instanceof ConfigError && new RegExp(`migration broken failed .*left at schema version ${REAL.length}`).test(err.message),
  );
  assert.equal(version(path), REAL.length);
  const db = new BetterSqlite3(path, { readonly: true });
  assert.equal(db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'half'").get(), undefined);
  assert.equal((db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n, 1);
  db.close();
  // The backup taken before the attempt is a usable copy.
  const [backup] = readdirSync(dir).filter((n) => n.includes('.bak-'));
  const copy = join(dir, 'restored.db');
  copyFileSync(join(dir, backup!), copy);
  openDb(copy).close();
});

test('migrating twice, or when another process already did, is a no-op', (t) => {
  const dir = temp(t);
  const path = join(dir, 'bookd.db');
  openDb(path).close();
  const db = new BetterSqlite3(path);
  assert.deepEqual(migrate(db, path), { from: REAL.length, to: REAL.length });
  db.close();
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.includes('.bak-')),
    [],
  );
});

test('schema 3 keeps every session of schema 2, holds and all, and lets a session be parked as partial', (t) => {
  const path = join(temp(t), 'v2.db');
  databaseAt(path, 2);
  const v2 = new BetterSqlite3(path);
  v2.prepare("INSERT INTO sessions (name, state, jar, created_at, updated_at, holder, held_until) VALUES ('s1', 'cooling', '{}', 1, 2, 'h:1:ab', 99)").run();
  v2.close();
  const db = openDb(path);
  const row = db.prepare("SELECT name, state, jar, holder, held_until, user_agent FROM sessions WHERE name = 's1'").get();
  assert.deepEqual({ ...(row as object) }, { name: 's1', state: 'cooling', jar: '{}', holder: 'h:1:ab', held_until: 99, user_agent: null });
  db.prepare("UPDATE sessions SET state = 'partial' WHERE name = 's1'").run();
  assert.throws(() => db.prepare("UPDATE sessions SET state = 'bogus' WHERE name = 's1'").run(), /CHECK constraint/);
  db.close();
});

test('schema 4 fills the orm-rt columns of every schema 3 session from its stored jar, and renewed_at from its last save', (t) => {
  const path = join(temp(t), 'v3.db');
  databaseAt(path, 3);
  const v3 = new BetterSqlite3(path);
  const jar = (cookies: object[]) => JSON.stringify({ version: 'tough-cookie@6.0.0', cookies });
  const insert = v3.prepare('INSERT INTO sessions (name, jar, jar_saved_at, created_at, updated_at) VALUES (?, ?, ?, 1, 2)');
  insert.run(
    'max-age',
    jar([
      { key: 'orm-jwt', value: 'j' },
      { key: 'orm-rt', value: 'r', creation: '2026-08-01T00:00:00.000Z', lastAccessed: '2026-09-01T00:00:00.000Z', maxAge: 1209600 },
    ]),
    77,
  );
  insert.run('expires', jar([{ key: 'orm-rt', value: 'r', expires: '2026-10-01T12:00:00.000Z' }]), null);
  insert.run('forever', jar([{ key: 'orm-rt', value: 'r' }]), null);
  insert.run('none', jar([{ key: 'orm-jwt', value: 'j' }]), null);
  insert.run('unreadable', '{not json', null);
  v3.close();
  const db = openDb(path);
  const rows = db.prepare('SELECT name, refresh_cookie, refresh_expires_at, renewed_at FROM sessions ORDER BY name').all();
  assert.deepEqual(
    rows.map((r) => ({ ...(r as object) })),
    [
      { name: 'expires', refresh_cookie: 1, refresh_expires_at: Date.parse('2026-10-01T12:00:00.000Z'), renewed_at: 1 },
      { name: 'forever', refresh_cookie: 1, refresh_expires_at: null, renewed_at: 1 },
      { name: 'max-age', refresh_cookie: 1, refresh_expires_at: Date.parse('2026-09-01T00:00:00.000Z') + 1_209_600_000, renewed_at: 77 },
      { name: 'none', refresh_cookie: 0, refresh_expires_at: null, renewed_at: 1 },
      { name: 'unreadable', refresh_cookie: 0, refresh_expires_at: null, renewed_at: null },
    ],
  );
  assert.throws(() => db.prepare("UPDATE sessions SET refresh_cookie = 2 WHERE name = 'none'").run(), /CHECK constraint/);
  db.close();
});

test('schema 5 keeps every job and session of schema 4 and adds an empty watches table that checks its kind', (t) => {
  const path = join(temp(t), 'v4.db');
  databaseAt(path, 4);
  const v4 = new BetterSqlite3(path);
  v4.prepare("INSERT INTO sessions (name, jar, created_at, updated_at) VALUES ('s1', '{}', 1, 2)").run();
  v4.close();
  const db = openDb(path);
  assert.equal((db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n, 1);
  assert.equal((db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n, 1);
  assert.deepEqual(db.prepare('SELECT * FROM watches').all(), []);
  const insert = db.prepare('INSERT INTO watches (kind, target, period_ms, next_run_at, created_at) VALUES (?, ?, ?, 5, 5)');
  insert.run('skills', 'Python', 1000);
  assert.deepEqual(
    { ...(db.prepare('SELECT kind, target, options, last_run_at, last_found FROM watches').get() as object) },
    { kind: 'skills', target: 'Python', options: '{}', last_run_at: null, last_found: null },
  );
  assert.throws(() => insert.run('book', 'x', 1000), /CHECK constraint/);
  assert.throws(() => insert.run('playlist', 'x', 0), /CHECK constraint/);
  db.close();
});

test('schema 6 keeps every book and watch of schema 5 as revision 1 with no pages, date or previous file, and no failed runs', (t) => {
  const path = join(temp(t), 'v5.db');
  databaseAt(path, 5);
  const v5 = new BetterSqlite3(path);
  v5.prepare(
    "INSERT INTO books (id, format, title, path, sha256, bytes, archived_at, mode) VALUES ('9781492056348', 'epub', 'Fluent Python', 'Python/f.epub', 'aa', 10, 1, 'package')",
  ).run();
  v5.prepare("INSERT INTO watches (kind, target, period_ms, next_run_at, created_at) VALUES ('skills', 'Python', 1000, 5, 5)").run();
  v5.close();
  const db = openDb(path);
  assert.equal((db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n, 1);
  assert.deepEqual(
    { ...(db.prepare('SELECT title, sha256, virtual_pages, issued, revision, previous_sha256 FROM books').get() as object) },
    { title: 'Fluent Python', sha256: 'aa', virtual_pages: null, issued: null, revision: 1, previous_sha256: null },
  );
  assert.deepEqual({ ...(db.prepare('SELECT target, next_run_at, failures FROM watches').get() as object) }, { target: 'Python', next_run_at: 5, failures: 0 });
  assert.throws(() => db.prepare('UPDATE books SET revision = 0').run(), /CHECK constraint/);
  assert.throws(() => db.prepare('UPDATE books SET virtual_pages = -1').run(), /CHECK constraint/);
  assert.throws(() => db.prepare('UPDATE watches SET failures = -1').run(), /CHECK constraint/);
  db.close();
});
