/** The database file as the CLI meets it: fresh, from a newer bookd, damaged, or not a database. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { runCli, tempDir } from '../helpers/cli.js';
import { openSqliteStore } from '../../src/db/store.js';
import { loadMigrations } from '../../src/db/migrate.js';

const LATEST = loadMigrations().length;

async function refused(dataDir: string, pattern: RegExp): Promise<void> {
  const path = join(dataDir, 'bookd.db');
  const before = readFileSync(path);
  const names = readdirSync(dataDir).sort();
  for (const args of [['status'], ['enqueue', '--book', '9781492056348'], ['jobs', 'list']]) {
    const r = await runCli(['--data-dir', dataDir, ...args]);
    assert.equal(r.code, 78, `${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(r.stdout, '');
  }
  assert.ok(readFileSync(path).equals(before), 'byte-for-byte unchanged');
  assert.deepEqual(readdirSync(dataDir).sort(), names, 'nothing created next to it');
}

test('a fresh data dir gets a 0700 directory and a 0600 database at the latest schema', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const data = join(dir, 'a', 'b');
  const r = await runCli(['--data-dir', data, 'enqueue', '--book', '9781492056348']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(data).mode & 0o777, 0o700);
  assert.equal(statSync(join(data, 'bookd.db')).mode & 0o777, 0o600);
  const db = new BetterSqlite3(join(data, 'bookd.db'), { readonly: true });
  assert.equal(db.pragma('user_version', { simple: true }), LATEST);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
});

test('BOOKD_DATA_DIR is honoured like --data-dir', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const r = await runCli(['enqueue', '--book', '9781492056348'], { env: { BOOKD_DATA_DIR: dir } });
  assert.equal(r.code, 0, r.stderr);
  const store = openSqliteStore(join(dir, 'bookd.db'));
  assert.equal(store.views.counts().queued, 1);
  store.close();
});

test('a database written by a newer bookd: exit 78, a clear message, the file untouched', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const store = openSqliteStore(join(dir, 'bookd.db'));
  store.jobs.enqueue([{ kind: 'book', payload: { bookId: '9781492056348', format: 'epub', skills: [] } }]);
  store.db.pragma(`user_version = ${LATEST + 3}`);
  store.close();
  await refused(
    dir,
    new RegExp(
      `^bookd: .*bookd\\.db has schema version ${LATEST + 3} but this bookd knows only up to ${LATEST}; it was written by a newer bookd: upgrade bookd`,
    ),
  );
});

test('a file that is not a database: exit 78, a clear message, the file untouched', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  writeFileSync(join(dir, 'bookd.db'), '{"cookies": "this is a JSON file someone put here"}\n');
  await refused(dir, /^bookd: .*bookd\.db is not a SQLite database; bookd left it untouched: move it aside/);
});

test('a damaged database: exit 78, a clear message, the file untouched', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'bookd.db');
  const store = openSqliteStore(path);
  store.jobs.enqueue(
    Array.from({ length: 2000 }, (_, i) => ({
      kind: 'book' as const,
      payload: { bookId: String(9780000000000 + i), format: 'epub' as const, skills: ['Go'] },
    })),
  );
  store.close();
  const bytes = readFileSync(path);
  const pageSize = bytes.readUInt16BE(16);
  const mid = Math.floor(bytes.length / pageSize / 2) * pageSize;
  bytes.fill(0, mid, mid + pageSize);
  writeFileSync(path, bytes);
  await refused(dir, /^bookd: .*bookd\.db is damaged \(SQLite: .*\); bookd left it untouched: restore the newest .*bak-\* backup or move the file aside/);
});

test('a data dir that is a file is a configuration error', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  mkdirSync(join(dir, 'x'));
  writeFileSync(join(dir, 'x', 'data'), '');
  const r = await runCli(['--data-dir', join(dir, 'x', 'data'), 'status']);
  assert.equal(r.code, 78);
  assert.match(r.stderr, /cannot create the data directory .* \(EEXIST: it or a parent is a file\); choose another --data-dir/);
});
