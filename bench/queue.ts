/**
 * How fast the job store is, with the durability settings bookd runs with (WAL, synchronous=FULL):
 *   node --import tsx bench/queue.ts [--jobs 100000] [--workers 4] [--dir DIR]
 * Enqueues the jobs in batches, then drains them with several processes doing claim + complete
 * as fast as they can, and prints jobs/s for each phase. Goals: enqueue ≥ 50k/s batched,
 * claim+complete ≥ 2k/s, so the queue never limits the downloader.
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

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100000' },
    workers: { type: 'string', default: '4' },
    limit: { type: 'string', default: '1' },
    dir: { type: 'string' },
    worker: { type: 'string' },
    owner: { type: 'string' },
  },
});

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

function items(n: number, from: number): EnqueueItem[] {
  return Array.from({ length: n }, (_, i) => ({
    kind: 'book',
    payload: { bookId: String(9780000000000 + from + i), format: 'epub', skills: ['Python', 'Go'] },
  }));
}

function rate(n: number, ms: number): string {
  return Math.round(n / (ms / 1000)).toLocaleString('en-US');
}

async function drain(db: string, workers: number, limit: number): Promise<{ ms: number; reports: WorkerReport[] }> {
  const self = fileURLToPath(import.meta.url);
  const children = Array.from({ length: workers }, (_, i) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self, '--worker', db, '--owner', `w${i}`, '--limit', String(limit)], {
      stdio: ['pipe', 'pipe', 'inherit'],
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

async function main(): Promise<void> {
  const total = Number(values.jobs);
  const workers = Number(values.workers);
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

    const widths = [0, 1, 2, 3].map((i) => Math.max(...[['phase', 'jobs', 'seconds', 'per second'], ...rows].map((r) => r[i]!.length)));
    const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(
      `bookd queue benchmark: node ${process.version}, SQLite ${sqlite}, synchronous=${sync === 2 ? 'FULL' : String(sync)}, WAL, ${cpus().length} CPUs, ${mountTypeOf(dir) ?? '?'} at ${base}`,
    );
    console.log(line(['phase', 'jobs', 'seconds', 'per second']));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const r of rows) console.log(line(r));
    console.log(`per process: ${reports.map((r) => `${r.owner} ${r.done}`).join(', ')}; errors surfaced: ${busy}; final ${JSON.stringify(counts)}`);
    for (const r of reports) for (const [what, n] of Object.entries(r.errors)) console.log(`  ${r.owner}: ${n}× ${what}`);
    if (busy > 0 || counts.succeeded !== total + single) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.worker) await worker(values.worker, values.owner ?? `w${process.pid}`, Number(values.limit));
else await main();
