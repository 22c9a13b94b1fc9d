/** `status`, `jobs …`, `pause`/`resume` and `library …` through the built CLI. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startCli, tempDir, type CliResult } from '../helpers/cli.js';
import { openSqliteStore, type SqliteStore } from '../../src/db/store.js';
import type { EnqueueItem } from '../../src/db/jobs.js';

function bookd(dataDir: string, args: string[], extra: string[] = []): Promise<CliResult> {
  return runCli(['--data-dir', dataDir, ...extra, ...args]);
}

function withStore<T>(dataDir: string, fn: (store: SqliteStore) => T): T {
  const store = openSqliteStore(join(dataDir, 'bookd.db'));
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r;
}

function fails(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `expected exit ${code}, got ${r.code}: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
}

const book = (bookId: string, skills: string[]): EnqueueItem => ({ kind: 'book', payload: { bookId, format: 'epub', skills } });

/** A queue with one job in every state, a running one with progress, two sessions. */
function populate(dataDir: string): void {
  withStore(dataDir, (s) => {
    s.jobs.enqueue([
      book('9780000000001', ['Python']),
      book('9780000000002', ['Python', 'Go']),
      book('9780000000003', ['Go']),
      book('9780000000004', ['Go']),
      book('9780000000005', ['Rust']),
    ]);
    s.jobs.enqueue([{ kind: 'discover', payload: { skill: 'Python', format: 'epub' }, priority: 500 }]);
    const [a, b, c, d] = s.jobs.claim({ owner: 'host:42', limit: 4, leaseMs: 120_000 });
    s.jobs.heartbeat(a!.id, a!.leaseToken, 120_000, { phase: 'chapters', done: 12, total: 30 }, 'laptop');
    s.jobs.complete(b!.id, b!.leaseToken, { session: 'laptop' });
    s.jobs.fail(c!.id, c!.leaseToken, { kind: 'permanent', message: 'book not found (404)', session: 'desk' });
    s.jobs.cancel(d!.id);
    s.jobs.cancel(5);
    s.sessions.add({ name: 'laptop', jarJson: '{"cookies":[{"key":"orm-jwt","value":"SECRET-TOKEN-VALUE"}]}' });
    s.sessions.add({ name: 'desk', jarJson: '{}' });
    s.sessions.setState('desk', 'cooling', { cooldownUntil: Date.now() + 600_000, lastError: '429 Too Many Requests' });
    s.control.daemonBeat('host:42', 'claiming');
  });
}

test('status shows counts, skills, running jobs with session and progress, failures, sessions; --json has the documented shape', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  populate(dir);
  const human = ok(await bookd(dir, ['status'])).stdout;
  assert.match(human, /^queue\s+claiming$/m);
  assert.match(human, /^jobs\s+queued 1 · running 2 · succeeded 1 · failed 1 · cancelled 1$/m);
  assert.match(human, /^\s+#1\s+book 9780000000001 epub\s+laptop\s+chapters 12\/30\s+1\/5\s+\d+s\s+(2m|1m \d+s) left$/m);
  assert.match(human, /#4\s+book 9780000000004 epub \(cancelling\)/);
  assert.match(human, /^\s+1×\s+permanent: book not found \(404\)$/m);
  assert.match(human, /^\s+Go\s+0\s+1\s+1\s+1\s+0$/m);
  assert.match(human, /^\s+Rust\s+0\s+0\s+0\s+0\s+1$/m);
  assert.match(human, /^\s+desk\s+cooling\s+0\s+0\s+0\s+-\s+cooling until .*; 429 Too Many Requests$/m);
  assert.match(human, /^\s+\S+:\d+\s+seen (now|\d+s ago), up \d+s\s+claiming$/m);
  assert.doesNotMatch(human, /SECRET-TOKEN-VALUE/);

  const json = JSON.parse(ok(await bookd(dir, ['status', '--json'])).stdout);
  assert.deepEqual(json.jobs, { queued: 1, running: 2, succeeded: 1, failed: 1, cancelled: 1 });
  assert.deepEqual(
    json.sessions.map((s: { name: string; state: string }) => [s.name, s.state]),
    [
      ['desk', 'cooling'],
      ['laptop', 'ok'],
    ],
  );
  assert.equal(json.paused, false);
  assert.deepEqual(json.running[0].progress, { phase: 'chapters', done: 12, total: 30 });
  assert.equal(json.running[0].session, 'laptop');
  assert.deepEqual(json.failed, { count: 1, top: [{ kind: 'permanent', message: 'book not found (404)', count: 1 }] });
  assert.deepEqual(
    json.skills.find((k: { skill: string }) => k.skill === 'Python'),
    { skill: 'Python', queued: 0, running: 1, succeeded: 1, failed: 0, cancelled: 0 },
  );
  assert.doesNotMatch(JSON.stringify(json), /SECRET-TOKEN-VALUE|jar/);
});

test('status on a fresh data dir creates the database privately and reports an empty queue', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const data = join(dir, 'state', 'bookd');
  const r = ok(await bookd(data, ['status']));
  assert.match(r.stdout, /queued 0 · running 0/);
  assert.match(r.stdout, /none: add one with bookd sessions add/);
});

test('status --watch redraws until interrupted', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const running = await startCli(['--data-dir', dir, 'status', '--watch', '1', '--json']);
  assert.equal(JSON.parse(running.firstLine).jobs.queued, 0);
  withStore(dir, (s) => s.jobs.enqueue([book('9780000000009', [])]));
  const { waitFor } = await import('../helpers/cli.js');
  await waitFor(() => running.lines.some((l) => JSON.parse(l).jobs.queued === 1), 'a redraw showing the new job', 10_000);
  const exit = await running.stop('SIGINT');
  assert.equal(exit.code, 0);
});

test('jobs list filters by state and skill; jobs show gives the attempt history', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  populate(dir);
  const all = ok(await bookd(dir, ['jobs', 'list'])).stdout;
  assert.match(all, /^ID\s+STATE\s+JOB\s+SKILLS\s+PRI\s+TRIES\s+WHEN\s+LAST ERROR$/m);
  assert.match(all, /^#3\s+failed\s+book 9780000000003 epub\s+Go\s+100\s+1\/5\s+(now|\d+s ago)\s+permanent: book not found \(404\)$/m);
  assert.match(all, /^#6\s+queued\s+discover Python\s+Python\s+500\s+0\/5\s+ready$/m);

  const failed = JSON.parse(ok(await bookd(dir, ['jobs', 'list', '--state', 'failed', '--json'])).stdout);
  assert.deepEqual(
    failed.map((j: { id: number }) => j.id),
    [3],
  );
  assert.deepEqual(failed[0].last_error, { kind: 'permanent', message: 'book not found (404)' });
  const python = JSON.parse(ok(await bookd(dir, ['jobs', 'list', '--skill', 'PYTHON', '--json'])).stdout);
  assert.deepEqual(
    python.map((j: { id: number }) => j.id),
    [1, 2, 6],
  );
  assert.match(ok(await bookd(dir, ['jobs', 'list', '--skill', 'Haskell'])).stdout, /no jobs match/);
  fails(await bookd(dir, ['jobs', 'list', '--state', 'done']), 2, /--state.*done.*queued, running, succeeded, failed, cancelled/);

  const show = ok(await bookd(dir, ['jobs', 'show', '3'])).stdout;
  assert.match(show, /^state\s+failed$/m);
  assert.match(show, /^last error\s+permanent: book not found \(404\)$/m);
  assert.match(show, /^\s+1\s+failed\s+\S+ \S+\s+\S+\s+desk\s+permanent: book not found \(404\)$/m);
  const shown = JSON.parse(ok(await bookd(dir, ['jobs', 'show', '#2', '--json'])).stdout);
  assert.equal(shown.state, 'succeeded');
  assert.deepEqual(
    shown.attempts.map((a: { outcome: string; session: string }) => [a.outcome, a.session]),
    [['succeeded', 'laptop']],
  );
  fails(await bookd(dir, ['jobs', 'show', '99']), 1, /there is no job #99/);
  fails(await bookd(dir, ['jobs', 'show', 'abc']), 2, /expected a job id/);
});

test('jobs retry and cancel move jobs as documented', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  populate(dir);
  fails(await bookd(dir, ['jobs', 'retry']), 2, /needs a job id or --failed/);
  fails(await bookd(dir, ['jobs', 'retry', '3', '--failed']), 2, /not both/);
  fails(await bookd(dir, ['jobs', 'retry', '1']), 1, /job #1 is running; only failed or cancelled jobs can be retried/);
  assert.match(ok(await bookd(dir, ['jobs', 'retry', '5'])).stdout, /^requeued #5 book 9780000000005 epub \(it was cancelled\)$/m);
  assert.match(ok(await bookd(dir, ['jobs', 'retry', '--failed'])).stdout, /^requeued 1 failed job$/m);
  assert.match(ok(await bookd(dir, ['jobs', 'retry', '--failed'])).stdout, /^no failed jobs$/m);
  withStore(dir, (s) => {
    assert.equal(s.jobs.get(3)!.state, 'queued');
    assert.equal(s.jobs.get(3)!.attempt, 0);
  });

  assert.match(ok(await bookd(dir, ['jobs', 'cancel', '6'])).stdout, /^cancelled #6 discover Python$/m);
  assert.match(ok(await bookd(dir, ['jobs', 'cancel', '1'])).stdout, /asked the worker running #1 .* to stop/);
  fails(await bookd(dir, ['jobs', 'cancel', '2']), 1, /job #2 already succeeded; nothing to cancel/);
  fails(await bookd(dir, ['jobs', 'cancel', '42']), 1, /no job #42/);
  withStore(dir, (s) => {
    assert.equal(s.jobs.get(6)!.state, 'cancelled');
    assert.equal(s.jobs.get(1)!.cancelRequested, true);
  });
});

test('pause stops claims until resume, and status says so', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  withStore(dir, (s) => s.jobs.enqueue([book('9780000000001', [])]));
  assert.match(ok(await bookd(dir, ['pause', '--reason', 'moving the library'])).stdout, /^paused since .*: moving the library; running jobs finish/m);
  withStore(dir, (s) => assert.deepEqual(s.jobs.claim({ owner: 'w', limit: 1, leaseMs: 1000 }), []));
  assert.match(ok(await bookd(dir, ['status'])).stdout, /^queue\s+PAUSED since .*: moving the library — bookd resume to continue$/m);
  const json = JSON.parse(ok(await bookd(dir, ['status', '--json'])).stdout);
  assert.equal(json.paused, true);
  assert.equal(json.pause.reason, 'moving the library');
  assert.match(ok(await bookd(dir, ['resume'])).stdout, /^resumed/);
  assert.match(ok(await bookd(dir, ['resume'])).stdout, /was not paused/);
  withStore(dir, (s) => assert.equal(s.jobs.claim({ owner: 'w', limit: 1, leaseMs: 1000 }).length, 1));
});

test('library list prints the catalogue; library verify re-hashes and reports missing or changed files', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const library = join(dir, 'library');
  const files = { a: 'Python/Fluent Python - 9781492056348.epub', b: 'Go/Learning Go - 9781492077206.epub', c: 'Go/Other - 9781098100650.epub' };
  for (const rel of Object.values(files)) {
    mkdirSync(join(library, rel, '..'), { recursive: true });
    writeFileSync(join(library, rel), `epub bytes of ${rel}`);
  }
  withStore(dir, (s) => {
    for (const [i, rel] of Object.values(files).entries()) {
      const bytes = Buffer.from(`epub bytes of ${rel}`);
      s.books.record({
        id: rel.slice(-18, -5),
        format: 'epub',
        title: rel.split('/')[1]!.split(' - ')[0]!,
        authors: ['A. Author'],
        skills: [rel.split('/')[0]!],
        path: rel,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        bytes: bytes.length,
        archivedAt: 1_767_225_600_000 + i,
        mode: 'package',
        gaps: [],
      });
    }
  });
  const lib = ['--library', library];
  const list = JSON.parse(ok(await bookd(dir, ['library', 'list', '--json'], lib)).stdout);
  assert.equal(list.length, 3);
  for (const key of ['id', 'title', 'authors', 'skills', 'path', 'sha256', 'bytes', 'archived_at']) assert.ok(key in list[0], key);
  assert.match(list[0].archived_at, ISO);
  assert.equal(list[0].path, files.c);
  assert.match(ok(await bookd(dir, ['library', 'list'], lib)).stdout, /^3 books, 0\.0 MB$/m);

  assert.match(ok(await bookd(dir, ['library', 'verify'], lib)).stdout, /checked 3 books in .*: 3 ok, 0 missing, 0 changed or misplaced/);
  rmSync(join(library, files.b));
  writeFileSync(join(library, files.a), `epub bytes of ${files.a}`.replace('e', 'E'));
  const bad = await bookd(dir, ['library', 'verify'], lib);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^missing\s+9781492077206 epub\s+Go\/Learning Go - 9781492077206\.epub\s+no such file$/m);
  assert.match(bad.stdout, /^changed\s+9781492056348 epub\s+Python\/Fluent Python - 9781492056348\.epub\s+sha256 /m);
  assert.match(bad.stdout, /1 ok, 1 missing, 1 changed/);
  const json = JSON.parse((await bookd(dir, ['library', 'verify', '--json'], lib)).stdout);
  assert.deepEqual(json.problems.map((p: { problem: string }) => p.problem).sort(), ['changed', 'missing']);
});

test('every command group documents itself in --help', async () => {
  const expectations: [string[], string[]][] = [
    [
      ['status', '--help'],
      ['--json', '--watch'],
    ],
    [
      ['jobs', 'list', '--help'],
      ['--state', '--skill', '--kind', '--limit', '--json'],
    ],
    [
      ['jobs', 'show', '--help'],
      ['<id>', '--json'],
    ],
    [
      ['jobs', 'retry', '--help'],
      ['[id]', '--failed'],
    ],
    [['jobs', 'cancel', '--help'], ['<id>']],
    [['pause', '--help'], ['--reason']],
    [['resume', '--help'], []],
    [['library', 'list', '--help'], ['--json']],
    [['library', 'verify', '--help'], ['--json']],
  ];
  await Promise.all(
    expectations.map(async ([args, words]) => {
      const r = ok(await runCli(args));
      for (const w of words) assert.ok(r.stdout.includes(w), `${args.join(' ')}: ${w}`);
    }),
  );
});

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

test('jobs retry/cancel, pause and resume with --json print one JSON document; errors keep their exit codes', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  populate(dir);
  const json = (r: CliResult) => JSON.parse(ok(r).stdout) as Record<string, any>;
  const retried = json(await bookd(dir, ['jobs', 'retry', '5', '--json']));
  assert.equal(retried.requeued, 1);
  assert.equal(retried.job.id, 5);
  assert.equal(retried.job.state, 'queued');
  assert.match(retried.job.created_at, ISO);
  assert.deepEqual(json(await bookd(dir, ['jobs', 'retry', '--failed', '--json'])), { requeued: 1 });
  assert.deepEqual(json(await bookd(dir, ['jobs', 'retry', '--failed', '--json'])), { requeued: 0 });
  fails(await bookd(dir, ['jobs', 'retry', '1', '--json']), 1, /job #1 is running/);
  fails(await bookd(dir, ['jobs', 'retry', '--json']), 2, /needs a job id or --failed/);

  const cancelled = json(await bookd(dir, ['jobs', 'cancel', '6', '--json']));
  assert.deepEqual({ ...cancelled, job: undefined }, { cancelled: true, cancel_requested: false, was: 'queued', job: undefined });
  assert.equal(cancelled.job.state, 'cancelled');
  const asked = json(await bookd(dir, ['jobs', 'cancel', '1', '--json']));
  assert.equal(asked.cancelled, false);
  assert.equal(asked.cancel_requested, true);
  assert.equal(asked.was, 'running');
  assert.match(asked.job.started_at, ISO);
  fails(await bookd(dir, ['jobs', 'cancel', '2', '--json']), 1, /already succeeded/);
  fails(await bookd(dir, ['jobs', 'cancel', '42', '--json']), 1, /no job #42/);

  const paused = json(await bookd(dir, ['pause', '--reason', 'disk swap', '--json']));
  assert.equal(paused.paused, true);
  assert.equal(paused.reason, 'disk swap');
  assert.match(paused.since, ISO);
  assert.ok(Math.abs(Date.parse(paused.since) - Date.now()) < 60_000, paused.since);
  assert.deepEqual(json(await bookd(dir, ['resume', '--json'])), { paused: false, was_paused: true });
  assert.deepEqual(json(await bookd(dir, ['resume', '--json'])), { paused: false, was_paused: false });
});

test('status and jobs list/show --json give every time as ISO 8601', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  populate(dir);
  withStore(dir, (s) => s.control.pause('x'));
  const status = JSON.parse(ok(await bookd(dir, ['status', '--json'])).stdout);
  assert.match(status.pause.since, ISO);
  assert.match(status.oldest_queued.created_at, ISO);
  assert.match(status.next_run_at, ISO);
  assert.match(status.running[0].started_at, ISO);
  assert.match(status.running[0].lease_expires_at, ISO);
  assert.match(status.sessions.find((x: { name: string }) => x.name === 'desk').cooldown_until, ISO);
  assert.match(status.daemons[0].seen_at, ISO);
  assert.match(status.daemons[0].started_at, ISO);
  const list = JSON.parse(ok(await bookd(dir, ['jobs', 'list', '--json'])).stdout);
  for (const j of list) for (const k of ['created_at', 'updated_at', 'run_at']) assert.match(j[k], ISO, `${k} of #${j.id}`);
  const shown = JSON.parse(ok(await bookd(dir, ['jobs', 'show', '3', '--json'])).stdout);
  assert.match(shown.finished_at, ISO);
  assert.match(shown.attempts[0].finished_at, ISO);
  assert.equal(typeof shown.attempts[0].duration_ms, 'number', 'durations stay numbers');
});
