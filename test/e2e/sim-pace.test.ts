import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { cookieHeader, simRequest, startSimProcess, type SimProcess } from '../helpers/sim.js';
import { sourceCatalogue } from '../helpers/source.js';
import { bookContent } from '../../src/sim/package.js';

let sim: SimProcess;
let file: string;
let a: Record<string, string>;
let b: Record<string, string>;

before(async () => {
  // The per-IP bulk-access guard is off here; sim-live.test.ts covers it.
  sim = await startSimProcess(['--seed', '6', '--books', '3', '--image-kb', '64', '--guard-rate', '0']);
  const cat = await sim.catalogue();
  const book = cat.books.find((x) => x.format === 'book')!;
  const figure = bookContent(sourceCatalogue(cat), book.id)!.files.find((f) => f.path.endsWith('images/a/figure.png'))!.path;
  file = `${sim.url}/api/v2/epubs/urn:orm:book:${book.id}/files/${figure}`;
  [a, b] = (await sim.mint(2)) as [Record<string, string>, Record<string, string>];
});

after(async () => {
  await sim?.stop();
});

const collections = () => `${sim.url}/api/v2/collections/`;

test('--rate-limit: 429 JSON with a whole-second Retry-After for that session only', async () => {
  await sim.resetStats();
  // One request per 20 s after a burst of two: the third comes far too soon on any machine.
  await sim.control({ rateLimit: 0.05, burst: 2 });
  try {
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push(await simRequest(collections(), { cookie: a }));
    assert.deepEqual(
      seen.map((r) => r.status),
      [200, 200, 429],
    );
    const limited = seen[2]!;
    assert.match(String(limited.headers['retry-after']), /^\d+$/);
    const wait = Number(limited.headers['retry-after']);
    assert.ok(wait > 10 && wait <= 20, `Retry-After ${wait}`);
    assert.equal(typeof limited.json<{ detail: string }>().detail, 'string');
    assert.equal((await simRequest(collections(), { cookie: b })).status, 200, 'another session has its own budget');
    assert.equal((await sim.stats()).sent['429'], 1);
  } finally {
    await sim.control({ rateLimit: 0 });
  }
});

test('--edge-limit: 403 "Access Denied" from AkamaiGHost to everyone once all traffic goes too fast', async () => {
  // One request per 20 s over all traffic: the first passes, the rest meet the edge.
  await sim.control({ edgeLimit: 0.05 });
  try {
    const seen = [];
    for (const cookie of [a, b, a, undefined]) seen.push(await simRequest(collections(), { cookie }));
    assert.deepEqual(
      seen.map((r) => r.status),
      [200, 403, 403, 403],
    );
    for (const denied of seen.slice(1)) {
      assert.equal(denied.headers.server, 'AkamaiGHost');
      assert.match(String(denied.headers['content-type']), /^text\/html/);
      assert.match(denied.text, /<TITLE>Access Denied<\/TITLE>/);
      assert.match(denied.text, /Reference&#32;&#35;18&#46;/);
    }
  } finally {
    await sim.control({ edgeLimit: 0 });
  }
});

test('control: edgeBlockMs answers the edge 403 to everything for a while; storm answers 429 to named sessions', async () => {
  await sim.control({ edgeBlockMs: 60_000 });
  for (const url of [collections(), `${sim.url}/login/`, `${sim.url}/profile/`]) {
    const res = await simRequest(url, { cookie: b });
    assert.equal(res.status, 403, url);
    assert.equal(res.headers.server, 'AkamaiGHost');
  }
  await sim.control({ edgeBlockMs: 0 });
  assert.equal((await simRequest(collections(), { cookie: b })).status, 200);

  await sim.control({ storm: { sessions: ['m1'], ms: 60_000 } });
  const stormed = await simRequest(collections(), { cookie: a });
  assert.equal(stormed.status, 429);
  assert.equal(stormed.headers['retry-after'], '60');
  assert.equal((await simRequest(collections(), { cookie: b })).status, 200, 'm2 is not in the storm');
  await sim.control({ advanceClockMs: 60_000 });
  assert.equal((await simRequest(collections(), { cookie: a })).status, 200, 'the storm passes with the sim clock');
});

test('control rejects unknown keys and bad values with 400', async () => {
  for (const patch of [
    { nope: 1 },
    { failRate: 2 },
    { rotate: 'sometimes' },
    { storm: { sessions: 'm1', ms: 5 } },
    { latencyMs: -1 },
    [],
    { fileGate: 'off' },
    { guardRate: -2 },
    { guardBurst: 0 },
    { partialCookies: 'drop' },
    { profileMode: 'sso' },
    { profileRefresh: 1 },
    { tokenEndpoint: 'no' },
    { duplicateLoginCookies: null },
    { anonymousListing: 'yes' },
  ]) {
    const res = await simRequest(`${sim.url}/__sim/control`, { method: 'POST', body: JSON.stringify(patch) });
    assert.equal(res.status, 400, JSON.stringify(patch));
  }
  const shown = (await simRequest(`${sim.url}/__sim/control`)).json<Record<string, unknown>>();
  assert.deepEqual(
    [
      shown.fileGate,
      shown.guardRate,
      shown.guardBurst,
      shown.partialCookies,
      shown.profileMode,
      shown.profileRefresh,
      shown.tokenEndpoint,
      shown.duplicateLoginCookies,
      shown.anonymousListing,
    ],
    [true, 0, 16, '404', 'redirect', false, true, true, true],
    'GET shows the behaviour, refused patches changed nothing',
  );
  const patched = await simRequest(`${sim.url}/__sim/control`, { method: 'POST', body: JSON.stringify({ guardBurst: 5, profileMode: 'plain' }) });
  assert.equal(patched.status, 200);
  assert.deepEqual([patched.json<Record<string, unknown>>().guardBurst, patched.json<Record<string, unknown>>().profileMode], [5, 'plain']);
  await sim.control({ guardBurst: 16, profileMode: 'redirect' });
  assert.equal((await simRequest(`${sim.url}/__sim/control`, { method: 'POST', body: '{bad' })).status, 400);
  assert.equal((await simRequest(`${sim.url}/__sim/mint`, { method: 'POST', body: '{"count":0}' })).status, 400);
});

async function outcome(url: string, cookie: Record<string, string>, timeoutMs = 5_000): Promise<{ status?: number; error?: string; bytes?: number }> {
  try {
    const res = await request(url, { headers: { cookie: cookieHeader(cookie) }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    try {
      const body = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, bytes: body.length };
    } catch (err) {
      return { status: res.statusCode, error: (err as { code?: string }).code ?? String(err) };
    }
  } catch (err) {
    return { error: (err as { code?: string }).code ?? String(err) };
  }
}

test('fault injection: 5xx, a reset mid-body, a short body, a stalled response — and the sim serves on', async () => {
  await sim.resetStats();
  const full = await outcome(file, a);
  assert.equal(full.status, 200);
  try {
    await sim.control({ failRate: 1 });
    const statuses = new Set<number>();
    for (let i = 0; i < 12; i++) statuses.add((await simRequest(file, { cookie: a })).status);
    assert.ok([...statuses].every((s) => [500, 502, 503].includes(s)) && statuses.size >= 2, [...statuses].join());

    await sim.control({ failRate: 0, resetRate: 1 });
    const reset = await outcome(file, a);
    assert.ok(reset.error, `a reset gave ${JSON.stringify(reset)}`);

    await sim.control({ resetRate: 0, shortRate: 1 });
    const short = await outcome(file, a);
    assert.ok(short.error, `a short body gave ${JSON.stringify(short)}`);

    await sim.control({ shortRate: 0, stallRate: 1 });
    const stalled = await outcome(file, a, 300);
    assert.equal(stalled.status, 200, 'headers arrive');
    assert.equal(stalled.error, 'UND_ERR_BODY_TIMEOUT');
  } finally {
    await sim.control({ failRate: 0, resetRate: 0, shortRate: 0, stallRate: 0 });
  }
  assert.deepEqual(await outcome(file, a), full);
  const stats = await sim.stats();
  assert.deepEqual(stats.faults, { fail: 12, reset: 1, stall: 1, short: 1 });
  assert.equal(stats.sent['5xx'], 12);
});

test('latency, jitter and bandwidth slow responses down; a client that leaves mid-body does not hurt the sim', async () => {
  await sim.control({ latencyMs: 150, jitterMs: 50 });
  let started = Date.now();
  assert.equal((await simRequest(collections(), { cookie: a })).status, 200);
  assert.ok(Date.now() - started >= 150, 'latency is added');
  await sim.control({ latencyMs: 0, jitterMs: 0, bandwidthKbps: 128 });
  try {
    started = Date.now();
    const res = await simRequest(file, { cookie: a });
    assert.ok(res.body.length > 60_000);
    assert.ok(Date.now() - started >= 300, `${res.body.length} bytes at 128 KiB/s took ${Date.now() - started} ms`);

    const half = await request(file, { headers: { cookie: cookieHeader(a) } });
    for await (const chunk of half.body) {
      assert.ok((chunk as Buffer).length > 0);
      break;
    }
    half.body.destroy();
  } finally {
    await sim.control({ bandwidthKbps: 0 });
  }
  assert.equal((await simRequest(file, { cookie: a })).status, 200);
});
