import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { writeTransactions } from './write-lock.js';

function twoConnections(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'bookd-lock-'));
  const path = join(dir, 'x.db');
  const a = new BetterSqlite3(path, { timeout: 5000 });
  a.pragma('journal_mode = WAL');
  a.exec('CREATE TABLE t (x INTEGER)');
  const b = new BetterSqlite3(path, { timeout: 5000 });
  t.after(() => {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { a, b };
}

test('a write transaction commits when fn returns and rolls back when it throws', (t) => {
  const { a } = twoConnections(t);
  const tx = writeTransactions(a, { timeoutMs: 1000 });
  const insert = a.prepare('INSERT INTO t VALUES (?)');
  assert.equal(tx((x: number) => insert.run(x).changes)(1), 1);
  assert.throws(
    () =>
      tx(() => {
        insert.run(2);
        throw new Error('no');
      })(),
    /no/,
  );
  assert.equal(a.inTransaction, false);
  assert.deepEqual(a.prepare('SELECT x FROM t').all(), [{ x: 1 }]);
});

test('waiting for the lock ends with SQLITE_BUSY at the deadline, and the busy timeout is restored', (t) => {
  const { a, b } = twoConnections(t);
  const tx = writeTransactions(b, { timeoutMs: 40 });
  const insert = b.prepare('INSERT INTO t VALUES (?)');
  a.exec('BEGIN IMMEDIATE');
  const started = performance.now();
  assert.throws(
    () => tx(() => insert.run(1))(),
    (err: unknown) => (err as { code?: string }).code === 'SQLITE_BUSY',
  );
  assert.ok(performance.now() - started >= 40);
  assert.equal(b.inTransaction, false);
  assert.equal(b.pragma('busy_timeout', { simple: true }), 40);
  a.exec('COMMIT');
  tx(() => insert.run(2))();
  assert.deepEqual(a.prepare('SELECT x FROM t').all(), [{ x: 2 }]);
});
