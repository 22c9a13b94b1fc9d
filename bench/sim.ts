/**
 * How many requests per second `bookd sim` serves under a mixed archiving load, so it is never the
 * bottleneck of a benchmark. Spawns the built CLI (BOOKD_CLI or dist/cli/main.js), mints one session
 * per client, and runs clients that each archive random books the way bookd does (metadata, chapter
 * list, every chapter page, the stylesheet and images through the files API), for a fixed time.
 *
 *   npm run build && node --import tsx bench/sim.ts [--seconds 5]
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';

interface Scenario {
  name: string;
  args: string[];
  clients: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'default books', args: [], clients: 1 },
  { name: 'default books', args: [], clients: 8 },
  { name: 'default books', args: [], clients: 32 },
  { name: 'realistic (30 ch, ~4 MB)', args: ['--chapters', '30', '--chapter-kb', '60', '--images', '3', '--image-kb', '30'], clients: 8 },
  { name: 'default, --rotate every', args: ['--rotate', 'every'], clients: 8 },
];

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] ?? 5) || 5;
const cli = resolve(process.env.BOOKD_CLI ?? 'dist/cli/main.js');

async function startSim(args: string[]): Promise<{ url: string; stop: () => Promise<void> }> {
  // The server's own speed: its bulk-access guard is off, since these clients do not pace themselves.
  const child = spawn(process.execPath, [cli, 'sim', '--port', '0', '--log-level', 'warn', '--guard-rate', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((ok, fail) => {
    createInterface({ input: child.stdout }).once('line', ok);
    child.once('exit', (code) => fail(new Error(`bookd sim exited (${code}) before printing its URL; is ${cli} built?`)));
  });
  return {
    url,
    stop: () =>
      new Promise((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

interface Tally {
  requests: number;
  bytes: number;
  errors: number;
  latencies: number[];
}

async function run(s: Scenario): Promise<Tally & { elapsed: number }> {
  const sim = await startSim(s.args);
  const agent = new Agent({ connections: s.clients * 2, keepAliveTimeout: 10_000 });
  try {
    const post = await request(`${sim.url}/__sim/mint`, { method: 'POST', body: JSON.stringify({ count: s.clients }), dispatcher: agent });
    const sessions = (await post.body.json()) as Record<string, string>[];
    const cat = (await (await request(`${sim.url}/__sim/catalogue`, { dispatcher: agent })).body.json()) as {
      books: { id: string; format: string; flags: string[]; chapters: number }[];
    };
    const books = cat.books.filter((b) => b.format === 'book' && b.flags.length === 0 && b.chapters < 100);
    const tally: Tally = { requests: 0, bytes: 0, errors: 0, latencies: [] };
    const deadline = Date.now() + seconds * 1000;

    const client = async (cookies: Record<string, string>, n: number) => {
      const jar = { ...cookies };
      const fetchOne = async (raw: string): Promise<unknown> => {
        const started = performance.now();
        // As bookd asks: every files-API request with download=false and a reader's Accept.
        const url = new URL(raw);
        if (url.pathname.includes('/files/')) url.searchParams.set('download', 'false');
        const headers = {
          cookie: Object.entries(jar)
            .map(([k, v]) => `${k}=${v}`)
            .join('; '),
          accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
        };
        const res = await request(url, { dispatcher: agent, headers });
        const body = Buffer.from(await res.body.arrayBuffer());
        tally.latencies.push(performance.now() - started);
        tally.requests++;
        tally.bytes += body.length;
        const set = res.headers['set-cookie'];
        for (const line of set === undefined ? [] : Array.isArray(set) ? set : [set]) {
          const [pair] = line.split(';');
          const eq = pair!.indexOf('=');
          jar[pair!.slice(0, eq)] = pair!.slice(eq + 1);
        }
        if (res.statusCode !== 200) {
          tally.errors++;
          return undefined;
        }
        return /json/.test(String(res.headers['content-type'])) ? JSON.parse(body.toString('utf8')) : undefined;
      };
      for (let k = n; Date.now() < deadline; k += s.clients) {
        const book = books[k % books.length]!;
        const api = `${sim.url}/api/v2/epubs/urn:orm:book:${book.id}`;
        await fetchOne(`${api}/`);
        const chapters = (await fetchOne(`${sim.url}/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${book.id}&limit=100`)) as
          { results: { content_url: string; related_assets: { images: string[]; stylesheets: string[] } }[] } | undefined;
        for (const ch of chapters?.results ?? []) {
          if (Date.now() >= deadline) return;
          await fetchOne(ch.content_url);
          for (const asset of [...ch.related_assets.stylesheets.slice(0, 1), ...ch.related_assets.images]) await fetchOne(asset);
        }
      }
    };
    const started = Date.now();
    await Promise.all(sessions.map((c, i) => client(c, i)));
    return { ...tally, elapsed: (Date.now() - started) / 1000 };
  } finally {
    await agent.close();
    await sim.stop();
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

const rows: string[][] = [['scenario', 'clients', 'requests', 'req/s', 'MB/s', 'p50 ms', 'p99 ms', 'non-200']];
for (const s of SCENARIOS) {
  const t = await run(s);
  const sorted = [...t.latencies].sort((a, b) => a - b);
  rows.push([
    s.name,
    String(s.clients),
    String(t.requests),
    (t.requests / t.elapsed).toFixed(0),
    (t.bytes / t.elapsed / 1e6).toFixed(1),
    pct(sorted, 50).toFixed(1),
    pct(sorted, 99).toFixed(1),
    String(t.errors),
  ]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
