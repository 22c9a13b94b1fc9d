import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { ManualClock } from '../../src/clock.js';
import { asStore, openSqliteStore, openStore, type Store } from '../../src/db/store.js';
import { BookdError } from '../../src/errors.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { OreillyClient } from '../../src/oreilly/client.js';
import { login } from '../../src/oreilly/login.js';
import { assertNotPreview } from '../../src/oreilly/preview.js';
import { parseCookieExport } from '../../src/pool/cookie-import.js';
import { cookieLayer } from '../../src/pool/cookie-interceptor.js';
import { jarFromImport, serializeJar } from '../../src/pool/jar.js';
import { SessionPool, type PoolOptions } from '../../src/pool/pool.js';
import { standaloneSession } from '../../src/pool/standalone.js';
import { DEFAULT_TUNING, tuned } from '../../src/config.js';
import { tempDir } from '../helpers/cli.js';
import { startSimProcess, type SimProcess } from '../helpers/sim.js';

const client = new OreillyClient();

/** The simulator's session id inside a minted cookie set's JWT. */
function sidOf(cookies: Record<string, string>): string {
  return (JSON.parse(Buffer.from(cookies['orm-jwt']!.split('.')[1]!, 'base64url').toString('utf8')) as { sid: string }).sid;
}

function storeWith(url: string, cookieSets: Record<string, string>[]): Store {
  const sqlite = openSqliteStore(':memory:');
  cookieSets.forEach((cookies, i) => {
    const { jar } = jarFromImport(parseCookieExport(JSON.stringify(cookies)).cookies, url);
    sqlite.sessions.add({ name: `s${i + 1}`, jarJson: serializeJar(jar) });
  });
  return asStore(sqlite);
}

/** The pool on its own: the machine budget opened wide, so only what a test sets paces it. */
const OPEN_BUDGET = { start: 5000, ceiling: 5000, floor: 1, riseMs: 60_000 };

/** Checkouts wait long enough for a slow machine; tests that change more tune on top of this. */
const TUNING = tuned({ pool: { acquireTimeoutMs: 20_000 } });

function poolOver(url: string, store: Store, extra: Partial<PoolOptions> = {}): Promise<SessionPool> {
  return SessionPool.open({ baseUrl: url, store: store.sessions, logger: silentLogger, intervalMs: 0, tuning: TUNING, budget: OPEN_BUDGET, ...extra });
}

/** Chapter URLs of the first few books: the "chapter-heavy" requests of the load tests. */
async function chapterUrls(sim: SimProcess, store: Store, books = 3): Promise<string[]> {
  const pool = await poolOver(sim.url, store);
  try {
    const cat = await sim.catalogue();
    const ids = cat.books
      .filter((b) => b.flags.length === 0)
      .slice(0, books)
      .map((b) => b.id);
    const urls: string[] = [];
    await pool.withSession(async (s) => {
      for (const id of ids) for (const c of await client.chapters(s, id)) urls.push(new URL(c.contentUrl, sim.url).href);
    });
    return urls;
  } finally {
    await pool.close();
  }
}

describe('the pool against a server that rotates the token on every response', () => {
  let sim: SimProcess;
  before(async () => {
    sim = await startSimProcess(['--seed', '3', '--books', '12', '--rotate', 'every', '--grace', '0', '--stale-mode', 'preview']);
  });
  after(async () => {
    await sim.stop();
  });

  test('8 sessions, 16 workers, 200 chapter requests each: no stale token, no preview, one request per jar at a time', async () => {
    const store = storeWith(sim.url, await sim.mint(8));
    const urls = await chapterUrls(sim, store);
    await sim.resetStats();
    const pool = await poolOver(sim.url, store);
    try {
      let done = 0;
      await Promise.all(
        Array.from({ length: 16 }, async (_, w) => {
          for (let i = 0; i < 200; i++) {
            const url = urls[(w * 200 + i) % urls.length]!;
            const html = await pool.withSession((s) => client.chapterHtml(s, url));
            assertNotPreview(html, url);
            done++;
          }
        }),
      );
      assert.equal(done, 3200);
    } finally {
      await pool.close();
    }
    const stats = await sim.stats();
    assert.equal(stats.staleTokenHits, 0, 'stale-token hits');
    assert.equal(stats.previewsServed, 0, 'previews served');
    assert.equal(stats.sent['401'], 0);
    const sids = Object.keys(stats.maxConcurrency).filter((s) => s !== 'anon');
    assert.equal(sids.length, 8, 'all 8 sessions worked');
    for (const sid of sids) assert.equal(stats.maxConcurrency[sid], 1, `max concurrency of ${sid}`);
    // The jars in the store hold the tokens the server issued last: every session is still good.
    const again = await poolOver(sim.url, store);
    try {
      for (let i = 0; i < 8; i++) await again.withSession((s) => client.chapterHtml(s, urls[0]!));
    } finally {
      await again.close();
    }
    assert.equal((await sim.stats()).staleTokenHits, 0);
  });

  test('control: the same load through one shared jar (the old design) gets stale tokens and previews', async () => {
    const [cookies] = await sim.mint(1);
    const urls = await chapterUrls(sim, storeWith(sim.url, [cookies!]), 1);
    await sim.resetStats();
    // A little latency, as on any real network, keeps several requests of the shared jar in flight.
    await sim.control({ latencyMs: 5 });
    const { jar } = jarFromImport(parseCookieExport(JSON.stringify(cookies)).cookies, sim.url);
    const agent = new Agent();
    const shared = agent.compose(cookieLayer({ jar, onChange: () => {} }));
    let previews = 0;
    let failures = 0;
    try {
      await Promise.all(
        Array.from({ length: 16 }, async (_, w) => {
          for (let i = 0; i < 20; i++) {
            const res = await request(urls[(w + i) % urls.length]!, { dispatcher: shared });
            const body = await res.body.text();
            if (res.statusCode !== 200) failures++;
            else if (/preview-paywall/.test(body)) previews++;
          }
        }),
      );
    } finally {
      await agent.close();
      await sim.control({ latencyMs: 0 });
    }
    const stats = await sim.stats();
    assert.ok(previews + failures > 0, `the shared jar should break (previews ${previews}, failures ${failures})`);
    assert.ok(stats.staleTokenHits > 0, 'the server saw stale tokens');
    assert.ok(
      Object.values(stats.maxConcurrency).some((n) => n > 1),
      'one jar had several requests in flight',
    );
  });
});

describe('failures the pool handles', () => {
  let sim: SimProcess;
  let bookId: string;
  before(async () => {
    // /profile/ renewing the token is one variant other clients report; the token endpoint (the
    // sim's default) is tested beside it.
    sim = await startSimProcess(['--seed', '5', '--books', '6', '--rotate', 'every', '--token-ttl', '600', '--profile-refresh', 'on']);
    bookId = (await sim.catalogue()).books.find((b) => b.flags.length === 0)!.id;
  });
  after(async () => {
    await sim.stop();
  });

  test('an expired token is refreshed through orm-rt and work goes on', async () => {
    const store = storeWith(sim.url, await sim.mint(1));
    const pool = await poolOver(sim.url, store);
    try {
      await pool.withSession((s) => client.epub(s, bookId));
      await sim.control({ advanceClockMs: 700_000 });
      const before = (await sim.stats()).refreshes;
      await assert.rejects(
        pool.withSession((s) => client.epub(s, bookId)),
        (err: unknown) => err instanceof BookdError && err.kind === 'auth',
      );
      assert.equal(pool.describe()[0]!.state, 'ok', 'the session was refreshed, not parked');
      assert.equal((await sim.stats()).refreshes, before + 1);
      const info = await pool.withSession((s) => client.epub(s, bookId));
      assert.equal(info.identifier.length > 0, true);
    } finally {
      await pool.close();
    }
  });

  test('an expired token that /profile/ does not renew is renewed through the token endpoint after the failure, and work goes on', async () => {
    await sim.control({ profileRefresh: false });
    const store = storeWith(sim.url, await sim.mint(1));
    const pool = await poolOver(sim.url, store);
    try {
      await pool.withSession((s) => client.epub(s, bookId));
      await sim.control({ advanceClockMs: 700_000 });
      const before = await sim.stats();
      // Long before exp a refresh is not due, so the request meets the expiry and recovery renews it.
      await assert.rejects(
        pool.withSession((s) => client.epub(s, bookId)),
        (err: unknown) => err instanceof BookdError && err.kind === 'auth',
      );
      assert.equal(pool.describe()[0]!.state, 'ok', 'the session was renewed, not parked');
      const after = await sim.stats();
      assert.equal(after.refreshes, before.refreshes, '/profile/ renewed nothing');
      assert.equal(after.tokenRefreshes, before.tokenRefreshes + 1);
      await pool.withSession((s) => client.epub(s, bookId));
    } finally {
      await sim.control({ profileRefresh: true });
      await pool.close();
    }
  });

  test('an idle session is refreshed through /profile/ before its token expires, and only then', async () => {
    const store = storeWith(sim.url, await sim.mint(1));
    const clock = new ManualClock(Date.now());
    const pool = await poolOver(sim.url, store, { clock, tuning: tuned({ session: { refreshMarginMs: 5 * 60_000 } }, TUNING) });
    try {
      const session = pool.sessions()[0]!;
      const exp = session.tokenExpiresAt()!;
      const token = () => session.jar.getCookiesSync(sim.url).find((c) => c.key === 'orm-jwt')!.value;
      const first = token();
      const profiles = () => sim.stats().then((st) => st.requests.byEndpoint.profile ?? 0);
      const before = await profiles();
      await pool.upkeep();
      assert.equal(await profiles(), before, 'not due yet: no request');
      clock.advance(exp - clock.now() - 4 * 60_000);
      await pool.upkeep();
      assert.equal(await profiles(), before + 1, 'due: one /profile/ request');
      assert.notEqual(token(), first, 'the server handed out a fresh token');
      assert.ok((await store.sessions.get('s1'))!.jarJson.includes(token()), 'saved in the jar');
    } finally {
      await pool.close();
    }
  });

  test('a session whose refresh token is gone logs in again once with its credentials', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const pwFile = join(dir, 'pw');
      writeFileSync(pwFile, 'pw-3\n');
      const store = openStore(':memory:');
      let jarJson = '';
      const { session, close } = standaloneSession({
        name: 'login',
        baseUrl: sim.url,
        jar: jarFromImport([], sim.url).jar,
        tuning: DEFAULT_TUNING,
        persistJar: (j) => {
          jarJson = j;
        },
      });
      await login(session, 'user3@sim.test', 'pw-3', Date.now);
      await close();
      await store.sessions.add({ name: 'login', jarJson, loginEmail: 'user3@sim.test', passwordFile: pwFile });
      const pool = await poolOver(sim.url, store);
      try {
        await pool.withSession((s) => client.epub(s, bookId));
        await sim.control({ advanceClockMs: 15 * 86_400_000 });
        const logins = (await sim.stats()).logins;
        // The request that meets the dead login fails (the job would be retried, not charged);
        // the session logs in again on the spot and the next request goes through.
        await assert.rejects(
          pool.withSession((s) => client.epub(s, bookId)),
          (err: unknown) => err instanceof BookdError && err.kind === 'auth',
        );
        assert.equal((await sim.stats()).logins, logins + 1, 'one re-login');
        assert.equal((await store.sessions.get('login'))!.state, 'ok');
        await pool.withSession((s) => client.epub(s, bookId));
      } finally {
        await pool.close();
      }
    } finally {
      cleanup();
    }
  });

  test('a session without credentials whose login is gone is parked as expired; the others go on', async () => {
    const store = storeWith(sim.url, await sim.mint(2));
    const pool = await poolOver(sim.url, store);
    try {
      // Spoil s1's tokens in its jar: what a lost rotation or a logout leaves behind.
      const s1 = pool.sessions().find((s) => s.name === 's1')!;
      for (const name of ['orm-jwt', 'orm-rt']) s1.jar.setCookieSync(`${name}=spoiled; Path=/`, sim.url);
      let parked = false;
      for (let i = 0; i < 6; i++) {
        await pool.withSession((s) => client.epub(s, bookId)).catch(() => undefined);
        parked = (await store.sessions.get('s1'))!.state === 'expired';
      }
      assert.ok(parked, 's1 is parked as expired');
      assert.match((await store.sessions.get('s1'))!.lastError ?? '', /not accepted|login/);
      assert.equal((await store.sessions.get('s2'))!.state, 'ok');
      for (let i = 0; i < 3; i++) await pool.withSession(async (s) => assert.equal(s.name, 's2'));
    } finally {
      await pool.close();
    }
  });

  test('an account whose subscription lapsed is marked failed', async () => {
    const [cookies] = await sim.mint(1, { expired: true });
    const store = storeWith(sim.url, [cookies!]);
    const pool = await poolOver(sim.url, store, { tuning: tuned({ pool: { acquireTimeoutMs: 500 } }, TUNING) });
    try {
      await assert.rejects(pool.withSession((s) => client.epub(s, bookId)));
      assert.equal((await store.sessions.get('s1'))!.state, 'failed');
      assert.match((await store.sessions.get('s1'))!.lastError ?? '', /subscription has lapsed/);
      await assert.rejects(
        pool.withSession(async () => undefined),
        /no usable session/,
      );
    } finally {
      await pool.close();
    }
  });

  test('a 429 storm on one session cools only that session; the others keep working', async () => {
    const cookies = await sim.mint(3);
    const store = storeWith(sim.url, cookies);
    const pool = await poolOver(sim.url, store);
    try {
      await pool.withSession((s) => client.epub(s, bookId));
      await sim.resetStats();
      await sim.control({ storm: { sessions: [sidOf(cookies[1]!)], ms: 60_000 } });
      const used = new Map<string, number>();
      for (let i = 0; i < 30; i++) {
        await pool
          .withSession(async (s) => {
            used.set(s.name, (used.get(s.name) ?? 0) + 1);
            return client.epub(s, bookId);
          })
          .catch((err: unknown) => assert.equal((err as BookdError).kind, 'rate_limited'));
      }
      const stormed = (await store.sessions.list()).find((s) => s.state === 'cooling');
      assert.equal(stormed?.name, 's2', 'the stormed session is cooling');
      assert.ok(stormed.cooldownUntil! > Date.now(), 'until Retry-After');
      assert.equal((await sim.stats()).sent['429'], 1, 'the cooling session was not asked again');
      for (const s of await store.sessions.list()) if (s.name !== stormed.name) assert.ok((used.get(s.name) ?? 0) >= 10, `${s.name} kept working`);
    } finally {
      await pool.close();
    }
  });

  test('an edge 403 period pauses every session with growing delays, then work resumes', async () => {
    const store = storeWith(sim.url, await sim.mint(3));
    const pool = await poolOver(sim.url, store, { tuning: tuned({ edge: { baseMs: 200, maxMs: 2000 } }, TUNING) });
    try {
      await sim.resetStats();
      await sim.control({ edgeBlockMs: 1500 });
      const started = Date.now();
      let ok = 0;
      let edge = 0;
      const until: number[] = [];
      while (ok < 6 && Date.now() - started < 20_000) {
        try {
          await pool.withSession((s) => client.epub(s, bookId));
          ok++;
        } catch (err) {
          assert.ok(err instanceof BookdError && err.edge, `edge refusal, got ${String(err)}`);
          edge++;
          until.push(pool.edge.blockedUntil()! - Date.now());
        }
      }
      assert.equal(ok, 6, 'work resumed after the edge period');
      const sent = (await sim.stats()).sent['403'];
      assert.equal(sent, edge, 'every refusal was seen once');
      assert.ok(edge >= 2 && edge <= 5, `a handful of refusals while backing off, not a storm (${edge})`);
      assert.ok(
        until.every((d, i) => i === 0 || d >= until[i - 1]! - 50),
        `delays grow: ${until.join(', ')}`,
      );
    } finally {
      await pool.close();
    }
  });
});

test('pool logs name sessions and never carry cookie values', async () => {
  const sim = await startSimProcess(['--seed', '9', '--books', '4', '--rotate', 'every']);
  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', destination: { write: (l: string) => void lines.push(l) } });
  try {
    const cookies = await sim.mint(2);
    const store = storeWith(sim.url, cookies);
    const pool = await poolOver(sim.url, store, { logger });
    const id = (await sim.catalogue()).books[0]!.id;
    try {
      await sim.control({ storm: { sessions: [sidOf(cookies[0]!)], ms: 5000 } });
      for (let i = 0; i < 4; i++) await pool.withSession((s) => client.epub(s, id)).catch(() => undefined);
      pool.sessions()[1]!.jar.setCookieSync('orm-jwt=spoiled; Path=/', sim.url);
      for (let i = 0; i < 4; i++) await pool.withSession((s) => client.epub(s, id)).catch(() => undefined);
      logger.info({ cookie: cookies[0]!['orm-jwt'], headers: { cookie: 'orm-jwt=x' } }, 'a careless caller');
    } finally {
      await pool.close();
    }
    const text = lines.join('');
    assert.match(text, /"session":"s1"/);
    const secrets = [...cookies.flatMap((c) => Object.values(c)), ...(await store.sessions.list()).map((s) => s.jarJson)];
    for (const jar of await store.sessions.list()) for (const c of JSON.parse(jar.jarJson).cookies as { value: string }[]) secrets.push(c.value);
    for (const secret of secrets.filter((s) => s.length > 8)) assert.ok(!text.includes(secret), 'a cookie value reached the log');
  } finally {
    await sim.stop();
  }
});
