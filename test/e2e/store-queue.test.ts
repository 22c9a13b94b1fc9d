/**
 * The queue under real processes: several claimers on one file, SIGKILL mid-write, a job that
 * kills its worker every time, and enqueuers racing each other.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { tempDir, waitFor } from '../helpers/cli.js';
import type { ClaimerOptions } from '../helpers/claimer.js';
import { openSqliteStore, type SqliteStore } from '../../src/db/store.js';
import { loadMigrations } from '../../src/db/migrate.js';
import type { EnqueueItem } from '../../src/db/jobs.js';

const CLAIMER = resolve(import.meta.dirname, '../helpers/claimer.ts');

interface Claimer {
  child: ChildProcess;
  /** Every JSON line printed, as it arrives. */
  lines: Record<string, unknown>[];
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last JSON line, once the process has exited. */
  result(): Promise<Record<string, unknown>>;
  stderr(): string;
}

const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

function startClaimer(opts: ClaimerOptions): Claimer {
  const child = spawn(process.execPath, ['--import', 'tsx', CLAIMER, JSON.stringify(opts)], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const lines: Record<string, unknown>[] = [];
  let onReady: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const value = JSON.parse(line) as Record<string, unknown>;
    lines.push(value);
    if (value.ready) onReady();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      children.delete(child);
      r({ code, signal });
    }),
  );
  return {
    child,
    lines,
    ready,
    exited,
    async result() {
      const { code, signal } = await exited;
      assert.equal(code, 0, `claimer exited ${code ?? signal}: ${stderr}`);
      return lines.at(-1)!;
    },
    stderr: () => stderr,
  };
}

const books = (n: number, from = 9780000000000): EnqueueItem[] =>
  Array.from({ length: n }, (_, i) => ({ kind: 'book', payload: { bookId: String(from + i), format: 'epub', skills: ['Python'] } }));

function withStore<T>(path: string, fn: (store: SqliteStore) => T): T {
  const store = openSqliteStore(path);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

test('processes opening a fresh file together migrate it exactly once', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const db = join(dir, 'data', 'bookd.db');
  const claimers = Array.from({ length: 6 }, () => startClaimer({ mode: 'open', db }));
  const results = await Promise.all(claimers.map((c) => c.result()));
  for (const r of results) {
    assert.equal(r.version, loadMigrations().length);
    assert.deepEqual(r.errors, {});
  }
  assert.deepEqual(
    readdirSync(join(dir, 'data')).filter((n) => n.includes('.bak-')),
    [],
  );
});

test('6 processes claiming from one file process every job exactly once, with no SQLITE_BUSY', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const db = join(dir, 'bookd.db');
  const N = 1500;
  withStore(db, (store) => store.jobs.enqueue(books(N)));
  const claimers = Array.from({ length: 6 }, (_, i) => startClaimer({ mode: 'drain', db, owner: `c${i}`, limit: i % 2 ? 3 : 1, workMs: 1, wait: true }));
  await Promise.all(claimers.map((c) => c.ready));
  for (const c of claimers) c.child.stdin!.end('go\n');
  const results = await Promise.all(claimers.map((c) => c.result()));

  const all = results.flatMap((r) => r.done as number[]);
  assert.equal(all.length, N, 'as many completions as jobs');
  assert.equal(new Set(all).size, N, 'no job completed twice');
  for (const r of results) assert.deepEqual(r.errors, {}, `${String(r.owner)} saw errors`);
  assert.ok(
    results.filter((r) => (r.done as number[]).length > 0).length >= 4,
    `the work was shared: ${results.map((r) => (r.done as number[]).length).join(',')}`,
  );

  withStore(db, (store) => {
    assert.deepEqual(store.views.counts(), { queued: 0, running: 0, succeeded: N, failed: 0, cancelled: 0 });
    const stats = store.db.prepare('SELECT max(attempt) AS a, min(attempt) AS b FROM jobs').get() as { a: number; b: number };
    assert.deepEqual(stats, { a: 1, b: 1 }, 'every job claimed exactly once');
    const attempts = store.db.prepare("SELECT count(*) AS n, count(DISTINCT job_id) AS d FROM job_attempts WHERE outcome = 'succeeded'").get();
    assert.deepEqual(attempts, { n: N, d: N });
  });
});

test('a claimer killed with SIGKILL mid-write: its job returns after the lease, another completes it, its token is dead', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const db = join(dir, 'bookd.db');
  const leaseMs = 60_000;
  withStore(db, (store) => store.jobs.enqueue(books(1)));

  const victim = startClaimer({ mode: 'hold', db, owner: 'victim', leaseMs });
  const claimed = (await waitFor(() => victim.lines.find((l) => l.claimed)?.claimed, 'the victim to claim')) as { id: number; token: string; attempt: number };
  // Let it get deep into its heartbeat/checkpoint loop, then kill it without warning.
  await waitFor(
    () => withStore(db, (s) => ((s.jobs.get(claimed.id)!.checkpoint as { beats?: number } | undefined)?.beats ?? 0) >= 20),
    'heartbeats and checkpoints',
  );
  victim.child.kill('SIGKILL');
  assert.equal((await victim.exited).signal, 'SIGKILL');

  withStore(db, (store) => {
    assert.equal(store.db.pragma('quick_check', { simple: true }), 'ok', 'the file is intact after kill -9');
    assert.equal(store.jobs.get(claimed.id)!.state, 'running');
  });

  // Before the lease runs out nobody may take the job.
  const early = await startClaimer({ mode: 'drain', db, owner: 'early', once: true, leaseMs }).result();
  assert.deepEqual(early.done, []);
  assert.equal(early.reaped, 0);

  // After it (the rescuer's clock is two leases ahead), the reaper returns it and the rescuer finishes it.
  const rescuer = await startClaimer({ mode: 'drain', db, owner: 'rescuer', offsetMs: 2 * leaseMs, leaseMs }).result();
  assert.deepEqual(rescuer.done, [claimed.id]);
  assert.equal(rescuer.reaped, 1);
  const lastBeats = (rescuer.checkpoints as Record<string, { beats: number; owner: string }>)[claimed.id]!;
  assert.equal(lastBeats.owner, 'victim', "the rescuer saw the victim's checkpoint");

  withStore(db, (store) => {
    // The dead worker's late writes are refused and change nothing.
    assert.deepEqual(store.jobs.heartbeat(claimed.id, claimed.token, leaseMs), { ok: false, cancelRequested: false });
    assert.equal(store.jobs.checkpoint(claimed.id, claimed.token, { beats: -1 }), false);
    assert.equal(store.jobs.fail(claimed.id, claimed.token, { kind: 'permanent', message: 'late' }), false);
    assert.equal(store.jobs.complete(claimed.id, claimed.token), false);
    const job = store.jobs.get(claimed.id)!;
    assert.equal(job.state, 'succeeded');
    assert.equal(job.attempt, 2);
    assert.deepEqual(job.checkpoint, lastBeats);
    assert.deepEqual(
      store.jobs.attempts(claimed.id).map((a) => [a.outcome, a.owner]),
      [
        ['lease_expired', 'victim'],
        ['succeeded', 'rescuer'],
      ],
    );
  });
});

test('a job that kills its worker every time ends failed after max attempts instead of looping', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const db = join(dir, 'bookd.db');
  const leaseMs = 30_000;
  withStore(db, (store) => store.jobs.enqueue([{ ...books(1)[0]!, maxAttempts: 3 }]));

  const crashes: number[] = [];
  // Each worker starts one lease after the last one died (by its clock), as a restarted daemon would.
  for (let i = 0; i < 8; i++) {
    const c = startClaimer({ mode: 'crash', db, owner: `w${i}`, offsetMs: i * 2 * leaseMs, leaseMs });
    const { signal } = await c.exited;
    const line = c.lines.find((l) => 'claimed' in l) as { claimed: { attempt: number } | null } | undefined;
    if (!line?.claimed) {
      assert.equal(signal, null, c.stderr());
      break;
    }
    assert.equal(signal, 'SIGKILL');
    crashes.push(line.claimed.attempt);
  }
  assert.deepEqual(crashes, [1, 2, 3]);
  withStore(db, (store) => {
    const job = store.jobs.get(1)!;
    assert.equal(job.state, 'failed');
    assert.deepEqual(job.lastError, { kind: 'permanent', message: 'the worker stopped during each of 3 attempts' });
    assert.deepEqual(
      store.jobs.attempts(1).map((a) => a.outcome),
      ['lease_expired', 'lease_expired', 'lease_expired'],
    );
  });
});

test('concurrent enqueuers: each dedupe key is added exactly once', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const db = join(dir, 'bookd.db');
  const shared = Array.from({ length: 400 }, (_, i) => String(9781000000000 + i));
  const shuffle = (ids: string[], seed: number) => [...ids].sort((a, b) => ((Number(a) * seed) % 997) - ((Number(b) * seed) % 997));
  const enqueuers = Array.from({ length: 4 }, (_, i) => {
    const own = Array.from({ length: 100 }, (_, k) => String(9782000000000 + i * 1000 + k));
    return startClaimer({ mode: 'enqueue', db, owner: `e${i}`, ids: shuffle([...shared, ...own], i + 3), batch: 7, wait: true });
  });
  await Promise.all(enqueuers.map((e) => e.ready));
  for (const e of enqueuers) e.child.stdin!.end('go\n');
  const results = await Promise.all(enqueuers.map((e) => e.result()));
  const added = results.reduce((n, r) => n + (r.tally as { added: number }).added, 0);
  for (const r of results) assert.deepEqual(r.errors, {});
  assert.equal(added, 400 + 4 * 100);
  withStore(db, (store) => {
    assert.equal(store.views.counts().queued, 800);
    const dupes = store.db
      .prepare("SELECT count(*) AS n FROM (SELECT json_extract(payload, '$.bookId') AS id FROM jobs GROUP BY id HAVING count(*) > 1)")
      .get();
    assert.deepEqual(dupes, { n: 0 });
    // Each enqueuer named every shared book with its own skill: all four were merged in.
    const skills = store.views.list({ skill: 'e2' }).length;
    assert.equal(skills, 500);
    const merged = store.db.prepare("SELECT count(*) AS n FROM jobs WHERE json_array_length(payload, '$.skills') = 4").get();
    assert.deepEqual(merged, { n: 400 });
  });
});

test('kill -9 during batched enqueues leaves whole batches only, and an intact file', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const db = join(dir, 'bookd.db');
  withStore(db, () => undefined);
  const total = 200_000;
  const writer = startClaimer({ mode: 'enqueue', db, owner: 'writer', range: { from: 0, count: total }, batch: 1000 });
  await waitFor(() => withStore(db, (s) => s.views.counts().queued >= 3000), 'a few batches to commit', 30_000);
  writer.child.kill('SIGKILL');
  assert.equal((await writer.exited).signal, 'SIGKILL', 'killed mid-run, not finished');
  withStore(db, (store) => {
    assert.equal(store.db.pragma('quick_check', { simple: true }), 'ok');
    const n = store.views.counts().queued;
    assert.ok(n < total, 'it really was interrupted');
    assert.equal(n % 1000, 0, `only whole transactions: ${n}`);
    const [job] = store.jobs.claim({ owner: 'after', limit: 1, leaseMs: 1000 });
    assert.ok(job && store.jobs.complete(job.id, job.leaseToken), 'the queue works after the crash');
  });
});
