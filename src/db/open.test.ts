import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ConfigError } from '../errors.js';
import { loadMigrations } from './migrate.js';
import { openDb } from './open.js';
import { openSqliteStore } from './store.js';

function temp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bookd-open-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const LATEST = loadMigrations().length;

/** A real bookd database with enough rows to span many pages. */
function makeDb(path: string): void {
  const store = openSqliteStore(path);
  store.jobs.enqueue(
    Array.from({ length: 3000 }, (_, i) => ({
      kind: 'book' as const,
      payload: { bookId: String(9780000000000 + i), format: 'epub' as const, skills: ['Python'] },
    })),
  );
  store.close();
}

function assertRefused(path: string, pattern: RegExp): void {
  const before = readFileSync(path);
  const siblings = readdirSync(join(path, '..')).sort();
  assert.throws(
    () => openDb(path),
    (err: unknown) => err instanceof ConfigError && pattern.test(err.message) && err.message.includes(path),
  );
  assert.ok(readFileSync(path).equals(before), 'the file is byte-for-byte unchanged');
  assert.deepEqual(readdirSync(join(path, '..')).sort(), siblings, 'no -wal, -shm or backup left behind');
}

test('a new database gets a 0700 directory, a 0600 file, WAL and the durability pragmas', (t) => {
  const dir = temp(t);
  const path = join(dir, 'nested', 'data', 'bookd.db');
  const db = openDb(path);
  t.after(() => db.close());
  assert.equal(statSync(join(dir, 'nested')).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, 'nested', 'data')).mode & 0o777, 0o700);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('synchronous', { simple: true }), 2, 'FULL');
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  assert.ok((db.pragma('busy_timeout', { simple: true }) as number) >= 5000);
  assert.equal(db.pragma('user_version', { simple: true }), LATEST);
  assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600, 'the WAL holds cookie jars too');
});

test('a non-SQLite file is refused with a clear message and left untouched', (t) => {
  const dir = temp(t);
  const text = join(dir, 'bookd.db');
  writeFileSync(text, 'these are my notes, not a database\n'.repeat(20));
  assertRefused(text, /is not a SQLite database; bookd left it untouched/);
  const tiny = join(dir, 'tiny', 'bookd.db');
  openDb(join(dir, 'tiny', 'other.db')).close();
  writeFileSync(tiny, 'SQLite format 3\0');
  assertRefused(tiny, /is not a SQLite database/);
});

test('a corrupted database is refused with a clear message and left untouched', (t) => {
  const dir = temp(t);
  const path = join(dir, 'bookd.db');
  makeDb(path);
  const bytes = readFileSync(path);
  const pageSize = bytes.readUInt16BE(16);
  // Scribble over a b-tree page in the middle of the file.
  const page = Math.floor(bytes.length / pageSize / 2);
  bytes.fill(0xa5, page * pageSize + 8, page * pageSize + 200);
  writeFileSync(path, bytes);
  assertRefused(path, /is damaged \(SQLite: .*\); bookd left it untouched: restore the newest .*\.bak-\* backup/);

  const cut = join(dir, 'cut', 'bookd.db');
  makeDb(cut);
  truncateSync(cut, Math.floor(statSync(cut).size / 2));
  assertRefused(cut, /is damaged/);

  const header = join(dir, 'header', 'bookd.db');
  makeDb(header);
  const h = readFileSync(header);
  h.writeUInt16BE(1000, 16); // not a power of two: no valid page size
  writeFileSync(header, h);
  assertRefused(header, /is damaged/);
});

test('a database from a newer bookd is refused and left untouched', (t) => {
  const dir = temp(t);
  const path = join(dir, 'bookd.db');
  makeDb(path);
  const db = new BetterSqlite3(path);
  db.pragma(`user_version = ${LATEST + 1}`);
  db.close();
  assertRefused(path, new RegExp(`schema version ${LATEST + 1} but this bookd knows only up to ${LATEST}.*upgrade bookd`));
});

test("another program's SQLite database is refused, not migrated", (t) => {
  const dir = temp(t);
  const path = join(dir, 'bookd.db');
  const db = new BetterSqlite3(path);
  db.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine')");
  db.close();
  assertRefused(path, /is a SQLite database but not a bookd one/);
});

test('a network filesystem is refused unless overridden', (t) => {
  const dir = temp(t);
  const mountTable = `/dev/vda / ext4 rw 0 0\nserver:/export ${dir} nfs4 rw 0 0\n`;
  const path = join(dir, 'data', 'bookd.db');
  assert.throws(
    () => openDb(path, { mountTable, env: {} }),
    (err: unknown) => err instanceof ConfigError && /network filesystem \(nfs4\).*BOOKD_ALLOW_NETWORK_FS=1/.test(err.message),
  );
  assert.equal(existsSync(join(dir, 'data')), false, 'nothing was created there');
  openDb(path, { mountTable, env: { BOOKD_ALLOW_NETWORK_FS: '1' } }).close();
  assert.equal(existsSync(path), true);
});

test('readonly opens an existing database without writing, and refuses a missing one', (t) => {
  const dir = temp(t);
  const path = join(dir, 'bookd.db');
  assert.throws(() => openDb(path, { readonly: true }), /no database at/);
  assert.equal(existsSync(path), false);
  makeDb(path);
  const db = openDb(path, { readonly: true });
  t.after(() => db.close());
  assert.equal((db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n, 3000);
  assert.throws(() => db.prepare('DELETE FROM jobs').run(), /readonly/);
});

test('a data directory that cannot be created is a configuration error', (t) => {
  const dir = temp(t);
  writeFileSync(join(dir, 'file'), 'x');
  assert.throws(
    () => openDb(join(dir, 'file', 'data', 'bookd.db')),
    (err: unknown) => err instanceof ConfigError && /cannot create the data directory .*ENOTDIR/.test(err.message),
  );
});
