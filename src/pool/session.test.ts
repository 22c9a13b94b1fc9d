import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Agent } from 'undici';
import { ManualClock, systemClock } from '../clock.js';
import { BookdError } from '../errors.js';
import { silentLogger } from '../log.js';
import { classifyResponse } from '../oreilly/classify.js';
import { parseCookieExport } from './cookie-import.js';
import { EdgeGate } from './edge-gate.js';
import { jarFromImport, restoreJar } from './jar.js';
import { Pacer } from './pacer.js';
import { Session } from './session.js';
import { DEFAULT_TUNING } from '../config.js';

/** A tiny server that rotates `orm-jwt` on every response and remembers what it saw. */
let server: Server;
let base: string;
let current = 0;
let inFlight = 0;
let maxInFlight = 0;
const seenCookies: string[] = [];
const agent = new Agent();

function handle(req: IncomingMessage, res: ServerResponse): void {
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  const done = () => inFlight--;
  res.on('close', done);
  seenCookies.push(req.headers.cookie ?? '');
  const url = new URL(req.url!, base);
  if (url.pathname === '/bomb') {
    const body = gzipSync(Buffer.alloc(8 << 20));
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': body.length });
    res.end(body);
    return;
  }
  if (url.pathname === '/big') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(64 << 10);
    let sent = 0;
    const pump = () => {
      while (sent < 64 << 20 && res.write(chunk)) sent += chunk.length;
      if (sent < 64 << 20) res.once('drain', pump);
      else res.end();
    };
    pump();
    return;
  }
  if (url.pathname === '/endless') {
    // A body with no declared length that never ends: only the cap stops it.
    res.writeHead(200, { 'content-type': 'image/png' });
    const chunk = Buffer.alloc(64 << 10, 7);
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
    return;
  }
  if (url.pathname === '/image') {
    const size = Number(url.searchParams.get('mb')) << 20;
    current++;
    res.writeHead(200, { 'content-type': 'image/png', 'set-cookie': `orm-jwt=${current}; Path=/; HttpOnly` });
    const chunk = Buffer.alloc(64 << 10, 9);
    let sent = 0;
    const pump = () => {
      let room = true;
      while (sent < size && room) {
        sent += chunk.length;
        room = res.write(chunk);
      }
      if (sent < size) res.once('drain', pump);
      else res.end();
    };
    pump();
    return;
  }
  if (url.pathname === '/denied') {
    // The edge's "Access Denied" page as it comes without a Server header (docs/SERVICE.md §3).
    res.writeHead(403, { 'content-type': 'text/html' });
    res.end('<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n</BODY>\n</HTML>\n');
    return;
  }
  if (url.pathname === '/stall') {
    res.writeHead(200, { 'content-length': 100 });
    res.write('x');
    return;
  }
  const token = /orm-jwt=(\d+)/.exec(req.headers.cookie ?? '')?.[1];
  setTimeout(() => {
    if (Number(token) !== current) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"detail":"stale"}');
      return;
    }
    current++;
    res.writeHead(200, {
      'content-type': 'application/json',
      'set-cookie': [`orm-jwt=${current}; Path=/; HttpOnly`, 'orm-rt=refresh; Path=/; Max-Age=1209600.0'],
    });
    res.end('{"ok":true}');
  }, 5);
}

before(async () => {
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await agent.close();
});

function makeSession(saved: string[], opts: { totalMs?: number; bodyMs?: number; edge?: EdgeGate } = {}): Session {
  current = 0;
  const { jar } = jarFromImport(parseCookieExport(JSON.stringify({ 'orm-jwt': '0', groot_sessionid: 'g' })).cookies, base);
  return new Session({
    name: 'test',
    baseUrl: base,
    userAgent: 'Mozilla/5.0 (test)',
    acceptLanguage: 'en',
    jar,
    agent,
    clock: systemClock,
    pacer: new Pacer(systemClock, 0),
    edge: opts.edge ?? new EdgeGate(systemClock, DEFAULT_TUNING.edge),
    persistJar: (json) => {
      saved.push(json);
    },
    timeouts: { headersMs: 2000, bodyMs: opts.bodyMs ?? 2000, totalMs: opts.totalMs ?? 10_000 },
    refresh: DEFAULT_TUNING.session,
    logger: silentLogger,
  });
}

test('concurrent callers of one session never have two requests in flight, so rotation never breaks', async () => {
  const saved: string[] = [];
  const session = makeSession(saved);
  maxInFlight = 0;
  const results = await Promise.all(Array.from({ length: 40 }, () => session.request({ url: '/api/x' })));
  assert.deepEqual(
    results.map((r) => r.status),
    Array(40).fill(200),
  );
  assert.equal(maxInFlight, 1);
  assert.equal(session.maxInFlight, 1);
  assert.equal(current, 40);
});

test('every rotation is saved before the response reaches the caller', async () => {
  const saved: string[] = [];
  const session = makeSession(saved);
  for (let i = 1; i <= 5; i++) {
    await session.request({ url: '/api/x' });
    // The jar in the last save already holds the token the server just issued.
    const jar = restoreJar(saved.at(-1)!);
    assert.match(jar.getCookieStringSync(`${base}/`), new RegExp(`orm-jwt=${i}(;|$)`));
  }
  assert.equal(saved.length, 5);
});

test('a fractional Max-Age keeps the refresh token with an expiry, and no cookie is sent twice', async () => {
  const saved: string[] = [];
  const session = makeSession(saved);
  await session.request({ url: '/api/x' });
  await session.request({ url: '/api/x' });
  const rt = session.jar.getCookiesSync(`${base}/`).find((c) => c.key === 'orm-rt');
  assert.ok(rt && rt.expiryTime() !== Infinity, 'orm-rt has a finite expiry');
  const last = seenCookies.at(-1)!;
  assert.equal(last.split('; ').filter((p) => p.startsWith('orm-jwt=')).length, 1);
});

test('cookies are never sent to another host', async () => {
  const session = makeSession([]);
  await assert.rejects(session.request({ url: 'http://evil.invalid/x.png' }), (err: unknown) => {
    assert.ok(err instanceof BookdError);
    assert.match(err.message, /refusing to send session test's cookies/);
    return true;
  });
});

test('a gzip bomb and an oversize body fail the request without exhausting memory', async () => {
  const session = makeSession([]);
  await assert.rejects(session.request({ url: '/bomb', maxBytes: 1 << 20 }), /inflates past/);
  await assert.rejects(session.request({ url: '/big', maxBytes: 1 << 20 }), /larger than the 1048576-byte limit/);
});

/** The most the process's resident memory rose above `rssBefore` while `work` ran, in MB. */
async function rssRise(work: () => Promise<unknown>): Promise<number> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return (Math.max(peak, process.memoryUsage.rss()) - before) / 2 ** 20;
}

test('a streamed body goes to its file as it arrives: memory stays flat, the sha256 and size come back, the rotated jar is saved', async () => {
  const saved: string[] = [];
  const session = makeSession(saved);
  const dir = mkdtempSync(join(tmpdir(), 'bookd-stream-'));
  try {
    const file = join(dir, 'big.part');
    let res: Awaited<ReturnType<Session['request']>> | undefined;
    // 96 MB through a session whose cap is above it: held in memory, it would raise RSS by as much.
    const rise = await rssRise(async () => (res = await session.request({ url: '/image?mb=96', maxBytes: 128 << 20, toFile: file })));
    assert.equal(res!.status, 200);
    assert.equal(res!.body.length, 0);
    const bytes = readFileSync(file);
    assert.equal(res!.saved!.bytes, 96 << 20);
    assert.equal(bytes.length, 96 << 20);
    assert.equal(res!.saved!.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.ok(rise < 40, `resident memory rose by ${rise.toFixed(1)} MB while streaming 96 MB`);
    assert.match(restoreJar(saved.at(-1)!).getCookieStringSync(`${base}/`), /orm-jwt=1(;|$)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a streamed body over its cap is refused without being buffered, and leaves no file behind', async () => {
  const session = makeSession([]);
  const dir = mkdtempSync(join(tmpdir(), 'bookd-stream-'));
  try {
    const file = join(dir, 'endless.part');
    let failure: unknown;
    // The cap (64 MB) is far more than memory may grow by: the refusal must come while streaming, not after buffering.
    const rise = await rssRise(() => session.request({ url: '/endless', maxBytes: 64 << 20, toFile: file }).catch((err: unknown) => (failure = err)));
    assert.ok(failure instanceof BookdError && failure.kind === 'permanent', String(failure));
    assert.match(failure.message, /larger than the 67108864-byte limit/);
    assert.ok(rise < 40, `resident memory rose by ${rise.toFixed(1)} MB for a body cut off at 64 MB`);
    assert.equal(existsSync(file), false);
    await assert.rejects(session.request({ url: '/bomb', maxBytes: 1 << 20, toFile: file }), /inflates past/);
    assert.equal(existsSync(file), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stalled body is a transient error after the body timeout', async () => {
  const session = makeSession([], { bodyMs: 200 });
  await assert.rejects(session.request({ url: '/stall' }), (err: unknown) => err instanceof BookdError && err.kind === 'transient');
});

test('an "Access Denied" page without the Akamai header is an edge refusal to the session too: the pause doubles while refusals go on', async () => {
  const clock = new ManualClock();
  const edge = new EdgeGate(clock, { baseMs: 1_000, maxMs: 60_000 });
  const session = makeSession([], { edge });
  const pauses: number[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await session.request({ url: '/denied' });
    // What the pool does with the classified answer: an edge refusal pauses every session.
    const err = (() => {
      try {
        classifyResponse(res, 'json', clock.now());
      } catch (e) {
        return e as BookdError;
      }
      return undefined;
    })();
    assert.equal(err?.edge, true, 'classified as the edge refusing the machine');
    const until = edge.block();
    pauses.push(until - clock.now());
    clock.advance(until - clock.now());
  }
  assert.deepEqual(pauses, [1_000, 2_000, 4_000]);
});
