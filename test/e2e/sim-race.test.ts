import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { CookieJar } from 'tough-cookie';
import { HTML_ACCEPT, startSimProcess, type SimProcess } from '../helpers/sim.js';
import { sourceCatalogue } from '../helpers/source.js';
import { bookContent } from '../../src/sim/package.js';

/**
 * The control experiment for the whole product: against a server that rotates the token on every
 * response with no grace, two clients sharing one cookie jar trip over each other; two clients
 * with their own sessions never do. The sim adds 20 ms of latency so requests overlap every time.
 */
let sim: SimProcess;
let urls: string[];

before(async () => {
  // No bulk-access guard: the point here is the token, not the pace.
  sim = await startSimProcess(['--seed', '8', '--books', '2', '--rotate', 'every', '--grace', '0', '--latency', '20', '--guard-rate', '0']);
  const cat = await sim.catalogue();
  const book = cat.books.find((b) => b.format === 'book')!;
  const prefix = `${sim.url}/api/v2/epubs/urn:orm:book:${book.id}/files`;
  urls = bookContent(sourceCatalogue(cat), book.id)!.chapters.map((ch) => `${prefix}/${ch.path}?format=html&download=false`);
  assert.equal(urls.length, 8);
});

after(async () => {
  await sim?.stop();
});

async function jarFor(cookies: Record<string, string>): Promise<CookieJar> {
  const jar = new CookieJar();
  for (const [name, value] of Object.entries(cookies)) await jar.setCookie(`${name}=${value}; Path=/`, sim.url);
  return jar;
}

/** A client loop: each request carries what the jar holds, and every Set-Cookie goes back into it. */
async function loop(jar: CookieJar, rounds: number): Promise<{ ok: number; unauthorized: number; previews: number }> {
  const tally = { ok: 0, unauthorized: 0, previews: 0 };
  for (let i = 0; i < rounds; i++) {
    const url = urls[i % urls.length]!;
    const res = await request(url, { headers: { cookie: await jar.getCookieString(url), accept: HTML_ACCEPT } });
    const set = res.headers['set-cookie'];
    for (const line of set === undefined ? [] : Array.isArray(set) ? set : [set]) await jar.setCookie(line, url);
    const text = await res.body.text();
    if (res.statusCode === 401) tally.unauthorized++;
    else if (text.includes('data-testid="preview-paywall"')) tally.previews++;
    else if (res.statusCode === 200) tally.ok++;
  }
  return tally;
}

test('two concurrent clients sharing one cookie jar get 401s under --rotate every --grace 0', async () => {
  await sim.resetStats();
  const [cookies] = await sim.mint(1);
  const jar = await jarFor(cookies!);
  const results = await Promise.all([loop(jar, 15), loop(jar, 15)]);
  const failures = results.reduce((n, r) => n + r.unauthorized, 0);
  assert.ok(failures > 0, `no auth failure in ${JSON.stringify(results)}`);
  const stats = await sim.stats();
  assert.equal(stats.staleTokenHits, failures);
  assert.equal(stats.sent['401'], failures);
  const sid = Object.keys(stats.requests.bySession)[0]!;
  assert.equal(stats.maxConcurrency[sid], 2, 'the server saw the jar used twice at once');
});

test('with --stale-mode preview the same mistake is served truncated previews instead', async () => {
  await sim.resetStats();
  await sim.control({ staleMode: 'preview' });
  try {
    const [cookies] = await sim.mint(1);
    const jar = await jarFor(cookies!);
    const results = await Promise.all([loop(jar, 15), loop(jar, 15)]);
    const previews = results.reduce((n, r) => n + r.previews, 0);
    assert.ok(previews > 0, `no preview in ${JSON.stringify(results)}`);
    assert.equal(
      results.reduce((n, r) => n + r.unauthorized, 0),
      0,
      'previews come back 200, not 401',
    );
    assert.equal((await sim.stats()).previewsServed, previews);
  } finally {
    await sim.control({ staleMode: '401' });
  }
});

test('two concurrent clients with separate sessions get no failure at all', async () => {
  await sim.resetStats();
  const sessions = await sim.mint(2);
  const jars = await Promise.all(sessions.map(jarFor));
  const results = await Promise.all(jars.map((jar) => loop(jar, 15)));
  assert.deepEqual(results, [
    { ok: 15, unauthorized: 0, previews: 0 },
    { ok: 15, unauthorized: 0, previews: 0 },
  ]);
  const stats = await sim.stats();
  assert.equal(stats.staleTokenHits, 0);
  assert.equal(stats.rotations, 30, 'every response rotated its own session');
  assert.deepEqual(Object.values(stats.maxConcurrency), [1, 1]);
});
