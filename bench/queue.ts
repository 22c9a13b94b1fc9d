/**
 * How fast the job store is, with the durability settings bookd runs with (WAL, synchronous=FULL):
 *   node --import tsx bench/queue.ts [--jobs 100000] [--workers 4] [--dir DIR] [--backend sqlite|postgres|both]
 * Enqueues the jobs in batches, then drains them with several processes doing claim + complete
 * as fast as they can, and prints jobs/s for each phase. Goals: enqueue ≥ 50k/s batched,
 * claim+complete ≥ 2k/s, so the queue never limits the downloader.
 *
 * The PostgreSQL rows run on BOOKD_TEST_PG_URL when set, else on a throwaway embedded server
 * (test/helpers/pg.ts) with PostgreSQL's default durability (fsync, synchronous_commit on), its
 * files in the system's temporary directory; the workers reach it over TCP on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../src/db/store.js';
import { openDb } from '../src/db/open.js';
import { mountTypeOf } from '../src/db/network-fs.js';
import type { EnqueueItem } from '../src/db/jobs.js';
import { connectPool } from '../src/db/pg/connect.js';
import { describeStore } from '../src/db/pg/url.js';
import { pgJobStore } from '../src/db/pg/jobs.js';
import { migratePg } from '../src/db/pg/migrate.js';
import { pgServer } from '../test/helpers/pg.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100000' },
    workers: { type: 'string', default: '4' },
    limit: { type: 'string', default: '1' },
    dir: { type: 'string' },
    worker: { type: 'string' },
    owner: { type: 'string' },
    backend: { type: 'string', default: 'both' },
  },
});

/** The workers find the PostgreSQL URL here rather than on their command line (it holds a password). */
const PG_URL_ENV = 'BOOKD_BENCH_PG_URL';

interface WorkerReport {
  owner: string;
  done: number;
  errors: Record<string, number>;
}

/** One draining process: claim, complete, repeat until the queue is empty. */
async function worker(db: string, owner: string, limit: number): Promise<void> {
  const store = openSqliteStore(db);
  const errors: Record<string, number> = {};
  process.stdout.write('ready\n');
  const rl = createInterface({ input: process.stdin });
  await new Promise<void>((r) => rl.once('line', () => r()));
  rl.close();
  let done = 0;
  for (;;) {
    try {
      const jobs = store.jobs.claim({ owner, limit, leaseMs: 120_000 });
      if (jobs.length === 0) {
        const c = store.views.counts();
        if (c.queued === 0 && c.running === 0) break;
        continue;
      }
      for (const j of jobs) if (store.jobs.complete(j.id, j.leaseToken)) done++;
    } catch (err) {
      const e = err as { code?: unknown; name?: string; message?: string };
      const code = `${typeof e.code === 'string' ? e.code : (e.name ?? 'Error')}: ${e.message ?? ''}`;
      errors[code] = (errors[code] ?? 0) + 1;
      if (Object.values(errors).reduce((a, b) => a + b, 0) > 100) break;
    }
  }
  store.close();
  process.stdout.write(`${JSON.stringify({ owner, done, errors } satisfies WorkerReport)}\n`);
}

/** The same loop on PostgreSQL: claim, complete, until nothing is queued or running. */
async function pgWorker(owner: string, limit: number): Promise<void> {
  const pool = await connectPool(process.env[PG_URL_ENV]!, { max: 2 });
  const jobs = pgJobStore(pool, { clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) } });
  const errors: Record<string, number> = {};
  process.stdout.write('ready\n');
  const rl = createInterface({ input: process.stdin });
  await new Promise<void>((r) => rl.once('line', () => r()));
  rl.close();
  let done = 0;
  for (;;) {
    try {
      const claimed = await jobs.claim({ owner, limit, leaseMs: 120_000 });
      if (claimed.length === 0) {
        const left = await pool.query<{ n: number }>("SELECT count(*) AS n FROM jobs WHERE state IN ('queued', 'running')");
        if (left.rows[0]!.n === 0) break;
        continue;
      }
      for (const j of claimed) if (await jobs.complete(j.id, j.leaseToken)) done++;
    } catch (err) {
      const e = err as { code?: unknown; name?: string; message?: string };
      const code = `${typeof e.code === 'string' ? e.code : (e.name ?? 'Error')}: ${e.message ?? ''}`;
      errors[code] = (errors[code] ?? 0) + 1;
      if (Object.values(errors).reduce((a, b) => a + b, 0) > 100) break;
    }
  }
  await pool.end();
  process.stdout.write(`${JSON.stringify({ owner, done, errors } satisfies WorkerReport)}\n`);
}

function items(n: number, from: number): EnqueueItem[] {
  return Array.from({ length: n }, (_, i) => ({
    kind: 'book',
    payload: { bookId: String(9780000000000 + from + i), format: 'epub', skills: ['Python', 'Go'] },
  }));
}

function rate(n: number, ms: number): string {
  return Math.round(n / (ms / 1000)).toLocaleString('en-US');
}

async function drain(db: string, workers: number, limit: number, pgUrl?: string): Promise<{ ms: number; reports: WorkerReport[] }> {
  const self = fileURLToPath(import.meta.url);
  const children = Array.from({ length: workers }, (_, i) => {
    const args = pgUrl === undefined ? ['--worker', db] : ['--worker', 'postgres', '--backend', 'postgres'];
    const child = spawn(process.execPath, ['--import', 'tsx', self, ...args, '--owner', `w${i}`, '--limit', String(limit)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: pgUrl === undefined ? process.env : { ...process.env, [PG_URL_ENV]: pgUrl },
    });
    const lines: string[] = [];
    const ready = new Promise<void>((r) => createInterface({ input: child.stdout }).on('line', (l) => (l === 'ready' ? r() : lines.push(l))));
    const exited = new Promise<void>((r) => child.on('close', () => r()));
    return { child, ready, exited, lines };
  });
  await Promise.all(children.map((c) => c.ready));
  const t0 = performance.now();
  for (const c of children) c.child.stdin.end('go\n');
  await Promise.all(children.map((c) => c.exited));
  const ms = performance.now() - t0;
  return { ms, reports: children.map((c) => JSON.parse(c.lines.at(-1) ?? '{}') as WorkerReport) };
}

function printTable(title: string, rows: string[][]): void {
  const widths = [0, 1, 2, 3].map((i) => Math.max(...[['phase', 'jobs', 'seconds', 'per second'], ...rows].map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(title);
  console.log(line(['phase', 'jobs', 'seconds', 'per second']));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

function reportWorkers(reports: WorkerReport[]): number {
  const errors = reports.reduce((n, r) => n + Object.values(r.errors).reduce((a, b) => a + b, 0), 0);
  for (const r of reports) for (const [what, n] of Object.entries(r.errors)) console.log(`  ${r.owner}: ${n}× ${what}`);
  return errors;
}

/** The same phases on PostgreSQL, plus claim+complete with 1 and with 4 jobs per claim. */
async function postgres(total: number, workers: number): Promise<void> {
  const server = await pgServer({ durable: true });
  const rows: string[][] = [];
  try {
    const url = await server.createDatabase('bookd_bench');
    const pool = await connectPool(url, { max: 2 });
    await migratePg(pool, describeStore(url));
    const clock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
    const jobs = pgJobStore(pool, { clock });
    const info = await pool.query<{ v: string; fsync: string; sc: string }>(
      "SELECT current_setting('server_version') AS v, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc",
    );
    await pool.query('CREATE TABLE probe (x integer)');
    let t = performance.now();
    for (let i = 0; i < 500; i++) await pool.query('INSERT INTO probe VALUES ($1)', [i]);
    let ms = performance.now() - t;
    rows.push(['baseline: 1-row commit', '500', (ms / 1000).toFixed(2), rate(500, ms)]);

    t = performance.now();
    for (let i = 0; i < total; i += 1000) await jobs.enqueue(items(Math.min(1000, total - i), i));
    ms = performance.now() - t;
    rows.push(['enqueue, 1000 per transaction', total.toLocaleString('en-US'), (ms / 1000).toFixed(2), rate(total, ms)]);

    const single = Math.min(5000, total);
    t = performance.now();
    for (let i = 0; i < single; i++) await jobs.enqueue(items(1, total + i));
    ms = performance.now() - t;
    rows.push(['enqueue, 1 per transaction', single.toLocaleString('en-US'), (ms / 1000).toFixed(2), rate(single, ms)]);

    t = performance.now();
    const again = await jobs.enqueue(items(1000, 0));
    ms = performance.now() - t;
    if (again.some((r) => r.status !== 'exists')) throw new Error('re-enqueue added jobs');
    rows.push(['re-enqueue 1000 existing (dedupe)', '1,000', (ms / 1000).toFixed(3), rate(1000, ms)]);

    let errors = 0;
    let expected = total + single;
    const all: WorkerReport[][] = [];
    for (const limit of [1, 4]) {
      if (limit !== 1) {
        // A second queue of the same size, under new keys, for the next drain.
        for (let i = 0; i < total; i += 1000) await jobs.enqueue(items(Math.min(1000, total - i), 10_000_000 + i));
        expected += total;
      }
      const { ms: drainMs, reports } = await drain('', workers, limit, url);
      const done = reports.reduce((n, r) => n + r.done, 0);
      rows.push([`claim+complete, ${workers} processes, ${limit} per claim`, done.toLocaleString('en-US'), (drainMs / 1000).toFixed(2), rate(done, drainMs)]);
      all.push(reports);
    }
    const counts = await pool.query<{ state: string; n: number }>('SELECT state, count(*) AS n FROM jobs GROUP BY state ORDER BY state');
    await pool.end();
    const v = info.rows[0]!;
    printTable(
      `\nPostgreSQL ${v.v}, fsync=${v.fsync}, synchronous_commit=${v.sc}, ${process.env.BOOKD_TEST_PG_URL ? 'BOOKD_TEST_PG_URL' : `throwaway server in ${tmpdir()} (${mountTypeOf(tmpdir()) ?? '?'})`}, over TCP on 127.0.0.1`,
      rows,
    );
    for (const reports of all) {
      console.log(`per process: ${reports.map((r) => `${r.owner} ${r.done}`).join(', ')}`);
      errors += reportWorkers(reports);
    }
    const final = Object.fromEntries(counts.rows.map((r) => [r.state, r.n]));
    console.log(`errors surfaced: ${errors}; final ${JSON.stringify(final)}`);
    if (errors > 0 || final.succeeded !== expected) process.exitCode = 1;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const total = Number(values.jobs);
  const workers = Number(values.workers);
  if (values.backend !== 'sqlite') {
    if (values.backend !== 'postgres' && values.backend !== 'both') throw new Error('--backend is sqlite, postgres or both');
  }
  if (values.backend !== 'postgres') await sqlite(total, workers);
  if (values.backend !== 'sqlite') await postgres(total, workers);
}

async function sqlite(total: number, workers: number): Promise<void> {
  const limit = Number(values.limit);
  const base = values.dir ?? tmpdir();
  const dir = mkdtempSync(join(base, 'bookd-bench-queue-'));
  const db = join(dir, 'bookd.db');
  const rows: string[][] = [];
  try {
    const store = openSqliteStore(db);
    const sqlite = (store.db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    const sync = store.db.pragma('synchronous', { simple: true });

    // The floor under every number below: one tiny durable commit on this disk, right now.
    const probe = openDb(join(dir, 'probe.db'));
    probe.exec('CREATE TABLE t (x INTEGER)');
    const insert = probe.prepare('INSERT INTO t VALUES (?)');
    let t = performance.now();
    for (let i = 0; i < 500; i++) insert.run(i);
    let ms = performance.now() - t;
    probe.close();
    rows.push(['baseline: 1-row commit (WAL, FULL)', '500', (ms / 1000).toFixed(2), rate(500, ms)]);

    t = performance.now();
    for (let i = 0; i < total; i += 1000) store.jobs.enqueue(items(Math.min(1000, total - i), i));
    ms = performance.now() - t;
    rows.push(['enqueue, 1000 per transaction', total.toLocaleString('en-US'), (ms / 1000).toFixed(2), rate(total, ms)]);

    const single = Math.min(5000, total);
    t = performance.now();
    for (let i = 0; i < single; i++) store.jobs.enqueue(items(1, total + i));
    ms = performance.now() - t;
    rows.push(['enqueue, 1 per transaction (fsync each)', single.toLocaleString('en-US'), (ms / 1000).toFixed(2), rate(single, ms)]);

    t = performance.now();
    const again = store.jobs.enqueue(items(1000, 0));
    ms = performance.now() - t;
    if (again.some((r) => r.status !== 'exists')) throw new Error('re-enqueue added jobs');
    rows.push(['re-enqueue 1000 existing (dedupe)', '1,000', (ms / 1000).toFixed(3), rate(1000, ms)]);
    store.close();

    const { ms: drainMs, reports } = await drain(db, workers, limit);
    const done = reports.reduce((n, r) => n + r.done, 0);
    rows.push([`claim+complete, ${workers} processes, ${limit} per claim`, done.toLocaleString('en-US'), (drainMs / 1000).toFixed(2), rate(done, drainMs)]);

    const check = openSqliteStore(db);
    const counts = check.views.counts();
    check.close();
    const busy = reports.reduce((n, r) => n + Object.values(r.errors).reduce((a, b) => a + b, 0), 0);

    printTable(
      `bookd queue benchmark: node ${process.version}, SQLite ${sqlite}, synchronous=${sync === 2 ? 'FULL' : String(sync)}, WAL, ${cpus().length} CPUs, ${mountTypeOf(dir) ?? '?'} at ${base}`,
      rows,
    );
    console.log(`per process: ${reports.map((r) => `${r.owner} ${r.done}`).join(', ')}; errors surfaced: ${busy}; final ${JSON.stringify(counts)}`);
    for (const r of reports) for (const [what, n] of Object.entries(r.errors)) console.log(`  ${r.owner}: ${n}× ${what}`);
    if (busy > 0 || counts.succeeded !== total + single) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.worker && values.backend === 'postgres') await pgWorker(values.owner ?? `w${process.pid}`, Number(values.limit));
else if (values.worker) await worker(values.worker, values.owner ?? `w${process.pid}`, Number(values.limit));
else await main();
