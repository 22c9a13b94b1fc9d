/** `bookd store copy` through the built CLI: a dry run, the copy, a second copy refused, a URL that is not PostgreSQL. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { pgServer, type PgServer } from '../helpers/pg.js';
import { openSqliteStore } from '../../src/db/store.js';
import { describeStore } from '../../src/db/pg/url.js';
import type { EnqueueItem } from '../../src/db/jobs.js';

const SECRET = 'SECRET-TOKEN-VALUE-e2e';
const book = (bookId: string, skills: string[]): EnqueueItem => ({ kind: 'book', payload: { bookId, format: 'epub', skills } });

let server: PgServer;
before(async () => {
  server = await pgServer();
});
after(async () => {
  await server.stop();
});

/** A queue with a job in every state, two sessions (one held), a book and a paused queue; returns the row count of each table. */
function populate(dataDir: string, opts: { stopped?: boolean } = {}): Record<string, number> {
  const s = openSqliteStore(join(dataDir, 'bookd.db'));
  try {
    s.jobs.enqueue([book('9780000000001', ['Python']), book('9780000000002', ['Go']), book('9780000000003', ['Go']), book('9780000000004', ['Rust'])]);
    const [a, b, c] = s.jobs.claim({ owner: 'oldhost:42:abc', limit: 3, leaseMs: 120_000 });
    s.jobs.heartbeat(a!.id, a!.leaseToken, 120_000, { phase: 'chapters', done: 1, total: 3 }, 'laptop');
    s.jobs.complete(b!.id, b!.leaseToken, { session: 'laptop' });
    s.jobs.fail(c!.id, c!.leaseToken, { kind: 'permanent', message: 'book not found (404)' });
    s.jobs.cancel(4);
    s.sessions.add({ name: 'laptop', jarJson: `{"cookies":[{"key":"orm-jwt","value":"${SECRET}"}]}` });
    s.sessions.add({ name: 'desk', jarJson: '{}' });
    if (!opts.stopped) s.sessions.hold('desk', 'oldhost:42:abc', Date.now() + 120_000);
    s.books.record({
      id: '9780000000002',
      format: 'epub',
      title: 'Go',
      authors: ['X'],
      skills: ['Go'],
      path: 'Go/Go.epub',
      sha256: 'c'.repeat(64),
      bytes: 10,
      archivedAt: Date.now(),
      mode: 'package',
      gaps: [],
    });
    s.control.pause('moving');
    // A daemon stopped before the move leaves neither its row nor its holds behind.
    if (!opts.stopped) s.control.daemonBeat('oldhost:42:abc', 'claiming');
    const count = (t: string) => s.db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${t}`).get()!.n;
    return Object.fromEntries(['jobs', 'job_attempts', 'sessions', 'books', 'queue_control', 'watches', 'budget'].map((t) => [t, count(t)]));
  } finally {
    s.close();
  }
}

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r;
}

test('store copy: a dry run, then the copy with --json; a second copy into the same database is refused with exit 78; --to http://x is exit 2', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const counts = populate(dir);
  const url = await server.createDatabase();
  const target = describeStore(url);
  const password = decodeURIComponent(new URL(url).password);
  const bookd = (args: string[]) => runCli(['--data-dir', dir, 'store', 'copy', ...args]);

  const dry = ok(await bookd(['--to', url, '--dry-run']));
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  assert.match(dry.stdout, /^TABLE\s+ROWS\s+CHECKSUM$/m);
  assert.match(dry.stdout, new RegExp(`^jobs\\s+${counts.jobs}\\s+[0-9a-f]{16}$`, 'm'));
  assert.match(dry.stdout, new RegExp(`^dry run: ${total} rows would be copied into ${target.replace(/[.]/g, '\\.')} `, 'm'));
  assert.match(dry.stderr, /sessions: 1 hold cleared /);
  for (const out of [dry.stdout, dry.stderr]) {
    assert.ok(!out.includes(SECRET), 'no cookie value');
    assert.ok(!out.includes(password), 'no password');
  }

  const copied = ok(await bookd(['--to', url, '--json']));
  assert.equal(copied.stderr, '');
  const report = JSON.parse(copied.stdout);
  assert.equal(report.target, target);
  assert.equal(report.committed, true);
  assert.equal(report.dry_run, false);
  assert.equal(report.rows, total);
  assert.deepEqual(Object.fromEntries(report.tables.map((x: { name: string; rows: number }) => [x.name, x.rows])), counts);
  assert.ok(report.tables.every((x: { checksum: string }) => /^[0-9a-f]{64}$/.test(x.checksum)));
  assert.ok(!copied.stdout.includes(password));

  const again = await bookd(['--to', url]);
  assert.equal(again.code, 78, again.stderr);
  assert.equal(again.stderr.trim().split('\n').length, 1, `one line: ${again.stderr}`);
  assert.match(again.stderr, new RegExp(`^bookd: ${target.replace(/[.]/g, '\\.')} is not empty: it holds jobs \\(${counts.jobs} rows\\)`));
  assert.ok(!again.stderr.includes(password));

  const http = await bookd(['--to', 'http://user:hunter2@x']);
  assert.equal(http.code, 2, http.stderr);
  assert.match(http.stderr, /^bookd: --to must be a postgres:\/\/ or postgresql:\/\/ URL \(got http:\)\n$/);
  assert.doesNotMatch(http.stderr, /hunter2/);
});

test('after store copy, --store answers status, jobs list and library list exactly as the original SQLite store', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  populate(dir, { stopped: true });
  const url = await server.createDatabase();
  ok(await runCli(['--data-dir', dir, 'store', 'copy', '--to', url]));
  const env = { BOOKD_DATA_DIR: dir };
  for (const args of [
    ['status', '--json'],
    ['jobs', 'list', '--json'],
    ['jobs', 'list', '--state', 'failed', '--json'],
    ['library', 'list', '--json'],
    ['sessions', 'list', '--json'],
  ]) {
    const original = ok(await runCli(args, { env }));
    const copy = ok(await runCli(args, { env: { ...env, BOOKD_STORE: url } }));
    assert.deepEqual(JSON.parse(copy.stdout), JSON.parse(original.stdout), `bookd ${args.join(' ')}`);
  }
  // And the copy is a working queue: a new job gets the next id.
  const added = ok(await runCli(['enqueue', '--book', '9780000000009', '--json'], { env: { ...env, BOOKD_STORE: url } }));
  assert.match(added.stdout, /"id": ?5\b/);
});
