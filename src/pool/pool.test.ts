import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { asStore, openSqliteStore, type Store } from '../db/store.js';
import { SupersededJarError } from '../errors.js';
import { silentLogger } from '../log.js';
import { OreillyClient } from '../oreilly/client.js';
import { parseCookieExport } from './cookie-import.js';
import { jarFromImport, serializeJar } from './jar.js';
import { SessionPool } from './pool.js';
import { DEFAULT_TUNING, tuned } from '../config.js';

function jwt(tag: string): string {
  const payload = Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 3600, tag })).toString('base64url');
  return `x.${payload}.y`;
}

function jarFor(url: string, tag: string): string {
  return serializeJar(jarFromImport(parseCookieExport(JSON.stringify({ 'orm-jwt': jwt(tag) })).cookies, url).jar);
}

/** The tag of the orm-jwt a request carried. */
function tagOf(req: IncomingMessage): string | undefined {
  const token = /orm-jwt=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  if (!token) return undefined;
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { tag: string }).tag;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise((r) => server.close(() => r())) };
}

function storeWith(url: string, names: string[]): Store {
  const sqlite = openSqliteStore(':memory:');
  for (const name of names) sqlite.sessions.add({ name, jarJson: jarFor(url, `${name}-0`) });
  return asStore(sqlite);
}

test('a book the plan does not cover (403 on the book, /profile/ fine) never parks a healthy session', async () => {
  const server = await serve((req, res) => {
    if (req.url === '/profile/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><script>{"user_type":"Enterprise"}</script></html>');
      return;
    }
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end('{"detail":"You do not have permission to perform this action."}');
  });
  const store = storeWith(server.url, ['s1']);
  const pool = await SessionPool.open({
    baseUrl: server.url,
    store: store.sessions,
    logger: silentLogger,
    intervalMs: 0,
    tuning: tuned({ pool: { acquireTimeoutMs: 2000 } }),
  });
  const client = new OreillyClient();
  try {
    for (let i = 0; i < 5; i++)
      await assert.rejects(
        pool.withSession((s) => client.epub(s, '9781234567890')),
        { kind: 'auth' },
      );
    assert.equal((await store.sessions.get('s1'))!.state, 'ok');
    assert.equal(pool.usableCount(), 1);
  } finally {
    await pool.close();
    await server.close();
  }
});

test('disabled and enabled again while lent: the session is never lent twice, and keeps its hold', async () => {
  const store = storeWith('http://127.0.0.1:9', ['s1']);
  const pool = await SessionPool.open({
    baseUrl: 'http://127.0.0.1:9',
    store: store.sessions,
    logger: silentLogger,
    intervalMs: 0,
    tuning: tuned({ pool: { acquireTimeoutMs: 300 } }),
    owner: 'here:1:aa',
  });
  let finish!: () => void;
  let lentOut!: () => void;
  const out = new Promise<void>((r) => (lentOut = r));
  const first = pool.withSession(async (s) => {
    lentOut();
    await new Promise<void>((r) => (finish = r));
    return s.name;
  });
  try {
    await out;
    await store.sessions.setState('s1', 'disabled');
    await pool.reload();
    assert.equal((await store.sessions.get('s1'))!.holder, 'here:1:aa', 'a lent session keeps its hold');
    await store.sessions.setState('s1', 'ok');
    await pool.reload();
    await assert.rejects(
      pool.withSession(async (s) => s.name),
      /every usable session is busy/,
      'no second checkout of the same token chain',
    );
    finish();
    assert.equal(await first, 's1');
    assert.equal(await pool.withSession(async (s) => s.name), 's1', 'usable again once back');
  } finally {
    finish();
    await pool.close();
  }
});

test('cookies imported while the session is lent: the old chain stops at its next save, the import is kept and used', async () => {
  let n = 0;
  const seen: (string | undefined)[] = [];
  const server = await serve((req, res) => {
    const tag = tagOf(req);
    seen.push(tag);
    // Rotate on every response, as the service can.
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': `orm-jwt=${jwt(`${tag}-r${++n}`)}; Path=/` });
    res.end('{}');
  });
  const store = storeWith(server.url, ['s1']);
  const pool = await SessionPool.open({
    baseUrl: server.url,
    store: store.sessions,
    logger: silentLogger,
    intervalMs: 0,
    tuning: tuned({ pool: { acquireTimeoutMs: 2000 } }),
  });
  const imported = jarFor(server.url, 'imported');
  try {
    const err = await pool
      .withSession(async (s) => {
        await s.request({ url: '/a' });
        await store.sessions.saveJar('s1', imported, undefined); // bookd sessions add s1 --replace, from another process
        await s.request({ url: '/b' });
        await s.request({ url: '/c' });
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof SupersededJarError, String(err));
    assert.equal((await store.sessions.get('s1'))!.jarJson, imported, 'the import was not overwritten by the old chain');
    assert.equal((await store.sessions.get('s1'))!.state, 'ok', 'not parked: nothing is wrong with the new cookies');
    await pool.withSession((s) => s.request({ url: '/d' }));
    assert.equal(seen.at(-1), 'imported', 'the next checkout uses the imported cookies');
    assert.equal(seen.length, 3, '/c was never sent with the dead chain');
  } finally {
    await pool.close();
    await server.close();
  }
});

test('a session parked as expired is used again after bookd sessions enable, without a restart', async () => {
  let healthy = false;
  const server = await serve((_req, res) => {
    if (healthy) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
      return;
    }
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"detail":"Authentication credentials were not provided."}');
  });
  const store = storeWith(server.url, ['s1']);
  const pool = await SessionPool.open({
    baseUrl: server.url,
    store: store.sessions,
    logger: silentLogger,
    intervalMs: 0,
    tuning: tuned({ pool: { acquireTimeoutMs: 300 } }),
  });
  try {
    await assert.rejects(
      pool.withSession((s) => new OreillyClient().epub(s, '9781234567890')),
      { kind: 'auth' },
    );
    assert.equal((await store.sessions.get('s1'))!.state, 'expired');
    assert.equal(pool.usableCount(), 0);
    healthy = true;
    await store.sessions.setState('s1', 'ok', { lastError: '' }); // bookd sessions enable s1
    await pool.reload();
    assert.equal(pool.usableCount(), 1);
    await pool.withSession((s) => s.request({ url: '/api/v2/epubs/' }));
  } finally {
    await pool.close();
    await server.close();
  }
});

test("the daemon's verdict on a lent session (a 429) does not undo the operator's disable", async () => {
  const server = await serve((_req, res) => {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '30' });
    res.end('{"detail":"Request was throttled."}');
  });
  const store = storeWith(server.url, ['s1']);
  const pool = await SessionPool.open({
    baseUrl: server.url,
    store: store.sessions,
    logger: silentLogger,
    intervalMs: 0,
    tuning: tuned({ pool: { acquireTimeoutMs: 300 } }),
  });
  try {
    await assert.rejects(
      pool.withSession(async (s) => {
        await store.sessions.setState('s1', 'disabled'); // bookd sessions disable s1, from another process
        await new OreillyClient().epub(s, '9781234567890');
      }),
      { kind: 'rate_limited' },
    );
    assert.equal((await store.sessions.get('s1'))!.state, 'disabled');
  } finally {
    await pool.close();
    await server.close();
  }
});

test('checkouts get the idle session returned longest ago, first come first served', async () => {
  const store = storeWith('http://127.0.0.1:9', ['s1', 's2', 's3']);
  const pool = await SessionPool.open({
    baseUrl: 'http://127.0.0.1:9',
    store: store.sessions,
    logger: silentLogger,
    intervalMs: 0,
    tuning: tuned({ pool: { acquireTimeoutMs: 2000 } }),
  });
  try {
    const names: string[] = [];
    for (let i = 0; i < 6; i++) names.push(await pool.withSession(async (s) => s.name));
    assert.deepEqual(names.slice(3), names.slice(0, 3), 'a lone worker goes round every session');
    assert.deepEqual([...names.slice(0, 3)].sort(), ['s1', 's2', 's3']);
    // With every session out, waiters are served in the order they came.
    const release: (() => void)[] = [];
    const out = ['s1', 's2', 's3'].map(() => pool.withSession((s) => new Promise<string>((r) => release.push(() => r(s.name)))));
    await new Promise((r) => setImmediate(r));
    const order: number[] = [];
    const waiting = [1, 2, 3].map((i) => pool.withSession(async () => void order.push(i)));
    for (const r of release) r();
    await Promise.all([...out, ...waiting]);
    assert.deepEqual(order, [1, 2, 3]);
  } finally {
    await pool.close();
  }
});

test('an aborted checkout leaves the queue at once and loses no session; a session added meanwhile serves the next', async () => {
  const store = storeWith('http://127.0.0.1:9', ['s1']);
  const pool = await SessionPool.open({
    baseUrl: 'http://127.0.0.1:9',
    store: store.sessions,
    logger: silentLogger,
    intervalMs: 0,
    tuning: tuned({ pool: { acquireTimeoutMs: 5000 } }),
  });
  let finish!: () => void;
  const first = pool.withSession(() => new Promise<void>((r) => (finish = r)));
  try {
    const ctrl = new AbortController();
    const aborted = pool.withSession(async () => 'never', { signal: ctrl.signal });
    ctrl.abort(new Error('job cancelled'));
    await assert.rejects(aborted, /job cancelled/);
    const waiting = pool.withSession(async (s) => s.name);
    await store.sessions.add({ name: 's2', jarJson: jarFor('http://127.0.0.1:9', 's2-0') });
    await pool.reload();
    assert.equal(await waiting, 's2', 'the waiter got the session added while it waited');
    finish();
    await first;
    const next = [await pool.withSession(async (s) => s.name), await pool.withSession(async (s) => s.name)];
    assert.deepEqual(next.sort(), ['s1', 's2'], 's1 came back after the aborted checkout');
    const started = Date.now();
    const blocker = pool.withSession(() => new Promise<void>((r) => setTimeout(r, 400)));
    const other = pool.withSession(() => new Promise<void>((r) => setTimeout(r, 400)));
    const quick = await SessionPool.open({
      baseUrl: 'http://127.0.0.1:9',
      store: storeWith('http://127.0.0.1:9', []).sessions,
      logger: silentLogger,
      intervalMs: 0,
      tuning: tuned({ pool: { acquireTimeoutMs: 100 } }),
    });
    await assert.rejects(
      quick.withSession(async () => 1),
      (err: Error) => err.name === 'NoSessionError' && /no sessions are configured/.test(err.message),
    );
    assert.ok(Date.now() - started < 2000, 'the wait is bounded');
    await quick.close();
    await Promise.all([blocker, other]);
  } finally {
    finish();
    await pool.close();
  }
});

/** A store whose session calls fail while `down` is set, as PostgreSQL's do while it restarts. */
function awayAtWill(sessions: Store['sessions']) {
  const state = { down: false };
  const proxied = new Proxy(sessions, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        state.down ? Promise.reject(new Error('the store is away')) : (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  });
  return { sessions: proxied, state };
}

async function heldPool(opts: { waitMs: number }) {
  let hits = 0;
  const server = await serve((_req, res) => {
    hits++;
    // No Set-Cookie: nothing to save, so only the hold decides whether a request goes out.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  const store = storeWith(server.url, ['s1']);
  const away = awayAtWill(store.sessions);
  const pool = await SessionPool.open({
    baseUrl: server.url,
    store: away.sessions,
    logger: silentLogger,
    intervalMs: 0,
    tuning: tuned({
      pool: { acquireTimeoutMs: 2000 },
      holds: { holdMs: 1000, renewMs: 250, sendMarginMs: 500, waitMs: opts.waitMs, pollMs: 20 },
      daemon: { periods: { ...DEFAULT_TUNING.daemon.periods, reload: 250 } },
    }),
    owner: 'here:1:aa',
  }).catch(async (err: unknown) => {
    await server.close();
    throw err;
  });
  const close = async () => {
    away.state.down = false;
    await pool.close();
    await server.close();
  };
  return { pool, store, away, hits: () => hits, close };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a hold that cannot be renewed (the store away) holds requests back until it is renewed; then they go', async () => {
  const { pool, away, hits, close } = await heldPool({ waitMs: 10_000 });
  try {
    await pool.withSession(async (s) => {
      await s.request({ url: '/a' });
      away.state.down = true;
      // Past the margin: another host may take the row once the hold lapses (1 s after the last renewal).
      await pause(600);
      const held = s.request({ url: '/b' });
      await pause(300);
      assert.equal(hits(), 1, 'nothing sent while the hold may be lapsing');
      away.state.down = false;
      await pool.reload();
      await held;
      assert.equal(hits(), 2, 'sent once the hold was renewed');
    });
  } finally {
    await close();
  }
});

test('a hold the store stays away from for longer than the wait gives the book back (transient), sending nothing', async () => {
  const { pool, away, hits, close } = await heldPool({ waitMs: 300 });
  try {
    await pool.withSession(async (s) => {
      await s.request({ url: '/a' });
      away.state.down = true;
      await pause(600);
      await assert.rejects(s.request({ url: '/b' }), (err: unknown) => {
        assert.equal((err as { kind?: string }).kind, 'transient');
        assert.match((err as Error).message, /^the hold on session s1 could not be renewed for \d+ s \(is the store reachable\?\)/);
        return true;
      });
    });
    assert.equal(hits(), 1);
  } finally {
    await close();
  }
});

test('a lent session whose row another host has taken over sends nothing more: never two hosts on one session', async () => {
  const { pool, store, hits, close } = await heldPool({ waitMs: 10_000 });
  try {
    await pool
      .withSession(async (s) => {
        await s.request({ url: '/a' });
        // What another host does once this one's hold has lapsed.
        assert.equal(await store.sessions.dropHold('s1', 'here:1:aa'), true);
        assert.equal(await store.sessions.hold('s1', 'there:2:bb', Date.now() + 60_000, []), true);
        await pool.reload();
        await assert.rejects(s.request({ url: '/b' }), (err: unknown) => {
          assert.equal((err as { kind?: string }).kind, 'transient');
          assert.match((err as Error).message, /^session s1 is held by another bookd now/);
          return true;
        });
      })
      .catch(() => undefined);
    assert.equal(hits(), 1, 'the second request never went out');
  } finally {
    await close();
  }
});
