/**
 * Throughput of the session pool alone: a server with 50 ms latency, no pacing, N sessions with
 * N workers each borrowing a session per request. Goal: N sessions give at least
 * 0.9·N times the requests per second of one session, up to N = 16.
 *
 *   npm run build && node --import tsx bench/pool.ts [--seconds 4]
 */
import { cpus } from 'node:os';
import { DEFAULT_TUNING } from '../src/config.js';
import { openStore } from '../src/db/store.js';
import { silentLogger } from '../src/log.js';
import { OreillyClient } from '../src/oreilly/client.js';
import { parseCookieExport } from '../src/pool/cookie-import.js';
import { jarFromImport, serializeJar } from '../src/pool/jar.js';
import { SessionPool } from '../src/pool/pool.js';
import { startSimProcess } from '../test/helpers/sim.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] ?? 4) || 4;
const LATENCY_MS = 50;
const SIZES = [1, 2, 4, 8, 16];

const sim = await startSimProcess(['--seed', '11', '--books', '20', '--latency', String(LATENCY_MS), '--rotate', 'every']);
const client = new OreillyClient();
const rows: { n: number; rps: number; stale: number; maxConc: number }[] = [];
try {
  const id = (await sim.catalogue()).books.find((b) => b.flags.length === 0)!.id;
  for (const n of SIZES) {
    // Fresh sessions per row: the previous row's tokens have rotated past the minted ones.
    const cookies = await sim.mint(n);
    const store = openStore(':memory:');
    for (const [i, c] of cookies.entries()) {
      await store.sessions.add({ name: `s${i + 1}`, jarJson: serializeJar(jarFromImport(parseCookieExport(JSON.stringify(c)).cookies, sim.url).jar) });
    }
    // The pool alone: the machine budget is opened wide so that only the pool's own costs show.
    const pool = await SessionPool.open({
      baseUrl: sim.url,
      store: store.sessions,
      logger: silentLogger,
      intervalMs: 0,
      tuning: DEFAULT_TUNING,
      budget: { start: 10_000, ceiling: 10_000, floor: 1, riseMs: 60_000 },
    });
    await sim.resetStats();
    let count = 0;
    const end = Date.now() + seconds * 1000;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: n }, async () => {
        while (Date.now() < end) {
          await pool.withSession((s) => client.epub(s, id));
          count++;
        }
      }),
    );
    const elapsed = (Date.now() - started) / 1000;
    await pool.close();
    await store.close();
    const stats = await sim.stats();
    rows.push({ n, rps: count / elapsed, stale: stats.staleTokenHits, maxConc: Math.max(0, ...Object.values(stats.maxConcurrency)) });
  }
} finally {
  await sim.stop();
}

const base = rows[0]!.rps;
console.log(`bookd pool throughput: ${LATENCY_MS} ms server latency, token rotated on every response, no pacing, ${seconds} s per row`);
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
console.log('');
console.log('| sessions | requests/s | efficiency | stale tokens | max in flight per session |');
console.log('|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.n} | ${r.rps.toFixed(1)} | ${(r.rps / (r.n * base)).toFixed(2)} | ${r.stale} | ${r.maxConc} |`);
}
