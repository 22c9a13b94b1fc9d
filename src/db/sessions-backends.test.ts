// The session rows, the same cases against every backend (issue 14): those of sessions.test.ts and
// the store's side of the holds (src/pool/holds.test.ts) through Async<SessionStore>, and on
// PostgreSQL what several hosts add: racing holds, holds that outlive a connection, the jar saver.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freshPgStore } from '../../test/helpers/job-backends.js';
import { STORE_BACKENDS, type StoreBackend } from '../../test/helpers/store-backends.js';
import { ManualClock } from '../clock.js';
import { BookdError, SupersededJarError } from '../errors.js';
import type { Async } from './async.js';
import { connectPool } from './pg/connect.js';
import { pgJarSaver } from './pg/jar-saver.js';
import { pgSessionStore } from './pg/sessions.js';
import type { SessionStore } from './sessions.js';

const jar = (token: string) => JSON.stringify({ version: 'tough-cookie@6', cookies: [{ key: 'orm-jwt', value: token }] });
const HOLD_MS = 120_000;

for (const kind of STORE_BACKENDS) {
  describe(`session store on ${kind.name}`, () => {
    const opened: StoreBackend[] = [];
    after(async () => {
      for (const b of opened) await b.close();
      await kind.done();
    });
    if (kind.name === 'postgres') postgresOnly();
    async function setup(): Promise<StoreBackend> {
      const b = await kind.open();
      opened.push(b);
      return b;
    }

    test('add, get, list, remove; names are checked and unique', async () => {
      const { sessions, clock } = await setup();
      const added = await sessions.add({
        name: 'laptop',
        jarJson: jar('a'),
        tokenExpiresAt: clock.now() + 3_600_000,
        loginEmail: 'me@example.com',
        passwordFile: '/run/credentials/bookd/laptop',
        userAgent: 'Firefox/140',
      });
      assert.deepEqual(added, {
        name: 'laptop',
        state: 'ok',
        jarJson: jar('a'),
        tokenExpiresAt: clock.now() + 3_600_000,
        hasRefreshCookie: false,
        refreshExpiresAt: undefined,
        renewedAt: clock.now(),
        loginEmail: 'me@example.com',
        passwordFile: '/run/credentials/bookd/laptop',
        userAgent: 'Firefox/140',
        requests: 0,
        errors: 0,
        booksDone: 0,
        errorScore: 0,
        cooldownUntil: undefined,
        lastError: undefined,
        lastUsedAt: undefined,
        jarSavedAt: clock.now(),
        holder: undefined,
        heldUntil: undefined,
        createdAt: clock.now(),
        updatedAt: clock.now(),
      });
      assert.deepEqual(await sessions.get('laptop'), added);
      await sessions.add({ name: 'desk.2_b-c', jarJson: jar('b') });
      assert.deepEqual(
        (await sessions.list()).map((s) => s.name),
        ['desk.2_b-c', 'laptop'],
      );
      await assert.rejects(
        sessions.add({ name: 'laptop', jarJson: jar('c') }),
        (err: unknown) => err instanceof BookdError && err.kind === 'bad_input' && /already exists: remove it first .* or pick another name/.test(err.message),
      );
      for (const bad of ['', 'has space', 'x'.repeat(65), '../etc', 'ünï']) {
        await assert.rejects(sessions.add({ name: bad, jarJson: '{}' }), (err: unknown) => err instanceof BookdError && err.kind === 'bad_input', bad);
      }
      assert.equal((await sessions.get('laptop'))!.jarJson, jar('a'), 'a refused duplicate leaves the original alone');
      assert.equal(await sessions.remove('laptop'), true);
      assert.equal(await sessions.remove('laptop'), false);
      assert.equal(await sessions.get('laptop'), undefined);
    });

    test('list sorts names byte by byte, as SQLite does', async () => {
      const { sessions } = await setup();
      const names = ['b', 'B', 'a', 'A-2', 'a_1', '_x', '-y', '.z', 'Z9', '9'];
      for (const name of names) await sessions.add({ name, jarJson: '{}' });
      assert.deepEqual(
        (await sessions.list()).map((s) => s.name),
        [...names].sort((x, y) => (Buffer.from(x) < Buffer.from(y) ? -1 : 1)),
      );
    });

    test('saveJar writes the jar and token expiry at once; unknown sessions report false', async () => {
      const { sessions, clock } = await setup();
      await sessions.add({ name: 's1', jarJson: jar('a') });
      clock.advance(5000);
      assert.equal(await sessions.saveJar('s1', jar('rotated'), clock.now() + 600_000), true);
      const s = (await sessions.get('s1'))!;
      assert.deepEqual([s.jarJson, s.tokenExpiresAt, s.jarSavedAt, s.updatedAt], [jar('rotated'), clock.now() + 600_000, clock.now(), clock.now()]);
      assert.equal(await sessions.saveJar('nobody', jar('x'), undefined), false);
    });

    test('saveJar with expected: only while the row holds exactly that jar', async () => {
      const { sessions } = await setup();
      await sessions.add({ name: 's1', jarJson: jar('a') });
      assert.equal(await sessions.saveJar('s1', jar('b'), 1, jar('a')), true);
      assert.equal(await sessions.saveJar('s1', jar('c'), 2, jar('a')), false, 'the chain started from a jar since replaced');
      assert.equal(await sessions.saveJar('s1', jar('c'), 2, ` ${jar('b')}`), false, 'the exact text, not an equal JSON');
      assert.deepEqual([(await sessions.get('s1'))!.jarJson, (await sessions.get('s1'))!.tokenExpiresAt], [jar('b'), 1]);
      assert.equal(await sessions.saveJar('s1', jar('c'), 2, jar('b')), true);
      await sessions.remove('s1');
      assert.equal(await sessions.saveJar('s1', jar('d'), 3, jar('c')), false, 'a removed session');
    });

    test('setState sets cooldown and keeps the last error unless given; recordUse scores errors', async () => {
      const { sessions, clock } = await setup();
      await sessions.add({ name: 's1', jarJson: '{}' });
      assert.equal(await sessions.setState('s1', 'cooling', { cooldownUntil: clock.now() + 60_000, lastError: '429 Too Many Requests' }), true);
      let s = (await sessions.get('s1'))!;
      assert.deepEqual([s.state, s.cooldownUntil, s.lastError], ['cooling', clock.now() + 60_000, '429 Too Many Requests']);
      clock.advance(10);
      await sessions.setState('s1', 'ok');
      s = (await sessions.get('s1'))!;
      assert.deepEqual([s.state, s.cooldownUntil, s.lastError, s.updatedAt], ['ok', undefined, '429 Too Many Requests', clock.now()]);
      await sessions.setState('s1', 'ok', { lastError: '' });
      assert.equal((await sessions.get('s1'))!.lastError, '', 'an empty error is one given');
      await sessions.recordUse('s1', { ok: false, requests: 2 });
      await sessions.recordUse('s1', { ok: false, requests: 1 });
      clock.advance(10);
      await sessions.recordUse('s1', { ok: true, requests: 40, bookDone: true });
      s = (await sessions.get('s1'))!;
      assert.deepEqual([s.requests, s.errors, s.booksDone, s.errorScore, s.lastUsedAt], [43, 2, 1, 1.5, clock.now()]);
      for (let i = 0; i < 5; i++) await sessions.recordUse('s1', { ok: true });
      assert.equal((await sessions.get('s1'))!.errorScore, 0, 'never below zero');
      assert.equal(await sessions.setState('nobody', 'disabled'), false);
      assert.equal(await sessions.recordUse('nobody', { ok: true }), false);
    });

    test("unlessDisabled leaves the operator's disable alone; without it every state is set", async () => {
      const { sessions } = await setup();
      await sessions.add({ name: 's1', jarJson: '{}' });
      await sessions.setState('s1', 'disabled', { lastError: 'by the operator' });
      assert.equal(await sessions.setState('s1', 'expired', { unlessDisabled: true, lastError: 'token expired' }), false);
      assert.deepEqual([(await sessions.get('s1'))!.state, (await sessions.get('s1'))!.lastError], ['disabled', 'by the operator']);
      await sessions.setState('s1', 'ok');
      assert.equal(await sessions.setState('s1', 'partial', { unlessDisabled: true }), true);
      assert.equal((await sessions.get('s1'))!.state, 'partial');
      assert.equal(await sessions.setState('s1', 'disabled'), true);
      assert.equal(await sessions.setState('s1', 'ok'), true, 'the operator enables it again');
    });

    test('every save keeps the orm-rt expiry of the jar, and renewed_at moves only with the token exp', async () => {
      const { sessions, clock } = await setup();
      const start = clock.now();
      const rt = { key: 'orm-rt', value: 'r', lastAccessed: new Date(start).toISOString(), maxAge: 1_209_600 };
      const withRt = (token: string, refresh: object | undefined) =>
        JSON.stringify({ version: 'tough-cookie@6', cookies: [{ key: 'orm-jwt', value: token }, ...(refresh ? [refresh] : [])] });
      const added = await sessions.add({ name: 's1', jarJson: withRt('a', rt), tokenExpiresAt: start + 600_000 });
      assert.deepEqual([added.hasRefreshCookie, added.refreshExpiresAt, added.renewedAt], [true, start + 1_209_600_000, start]);

      clock.advance(1000);
      await sessions.saveJar('s1', withRt('a2', rt), start + 600_000);
      assert.equal((await sessions.get('s1'))!.renewedAt, start, 'the same exp is no renewal');
      clock.advance(1000);
      await sessions.saveJar('s1', withRt('b', { ...rt, maxAge: undefined, expires: new Date(start + 5000).toISOString() }), start + 900_000);
      const renewed = (await sessions.get('s1'))!;
      assert.deepEqual([renewed.refreshExpiresAt, renewed.renewedAt], [start + 5000, start + 2000]);

      await sessions.saveJar('s1', withRt('c', undefined), start + 900_000);
      let s = (await sessions.get('s1'))!;
      assert.deepEqual([s.hasRefreshCookie, s.refreshExpiresAt], [false, undefined]);
      await sessions.saveJar('s1', withRt('d', { key: 'orm-rt', value: 'r' }), start + 900_000);
      s = (await sessions.get('s1'))!;
      assert.deepEqual([s.hasRefreshCookie, s.refreshExpiresAt], [true, undefined], 'an orm-rt without expiry');
      const jwt = `h.${Buffer.from(JSON.stringify({ exp: (start + 60_000) / 1000 })).toString('base64url')}.s`;
      await sessions.saveJar('s1', withRt('e', { key: 'orm-rt', value: jwt }), start + 900_000);
      assert.equal((await sessions.get('s1'))!.refreshExpiresAt, start + 60_000, "a refresh token's own exp");
    });

    test('an unknown token exp that stays unknown is no renewal; becoming known is one', async () => {
      const { sessions, clock } = await setup();
      const start = clock.now();
      await sessions.add({ name: 's1', jarJson: jar('a') });
      clock.advance(1000);
      await sessions.saveJar('s1', jar('b'), undefined);
      assert.deepEqual([(await sessions.get('s1'))!.renewedAt, (await sessions.get('s1'))!.tokenExpiresAt], [start, undefined]);
      clock.advance(1000);
      await sessions.saveJar('s1', jar('c'), start + 600_000);
      assert.equal((await sessions.get('s1'))!.renewedAt, start + 2000);
      clock.advance(1000);
      await sessions.saveJar('s1', jar('d'), undefined);
      assert.deepEqual([(await sessions.get('s1'))!.renewedAt, (await sessions.get('s1'))!.tokenExpiresAt], [start + 3000, undefined], 'a known exp lost');
    });

    test('a hold is exclusive until dropped or lapsed, renewed by its holder', async () => {
      const { sessions, clock } = await setup();
      await sessions.add({ name: 's1', jarJson: '{"cookies":[]}' });
      assert.equal(await sessions.hold('s1', 'host:1:aa', clock.now() + HOLD_MS), true, 'a free session is taken');
      let s = (await sessions.get('s1'))!;
      assert.deepEqual([s.holder, s.heldUntil], ['host:1:aa', clock.now() + HOLD_MS]);
      assert.equal(await sessions.hold('s1', 'host:2:bb', clock.now() + HOLD_MS), false, 'held by a live (or unknown) owner');
      clock.advance(10_000);
      assert.equal(await sessions.hold('s1', 'host:1:aa', clock.now() + HOLD_MS), true, 'renewed by its holder');
      assert.equal((await sessions.get('s1'))!.heldUntil, clock.now() + HOLD_MS);
      clock.advance(HOLD_MS);
      assert.equal(await sessions.hold('s1', 'host:2:bb', clock.now() + HOLD_MS), false, 'not lapsed at its very end');
      clock.advance(1);
      assert.equal(await sessions.hold('s1', 'host:2:bb', clock.now() + HOLD_MS), true, 'a lapsed hold is free');
      assert.equal(await sessions.dropHold('s1', 'host:1:aa'), false, 'a drops nothing it does not hold');
      assert.equal(await sessions.dropHold('s1', 'host:2:bb'), true);
      s = (await sessions.get('s1'))!;
      assert.deepEqual([s.holder, s.heldUntil], [undefined, undefined]);
      assert.equal(await sessions.dropHold('s1', 'host:2:bb'), false);
      assert.equal(await sessions.hold('nobody', 'host:1:aa', clock.now() + HOLD_MS), false, 'an unknown session');
    });

    test("a gone owner's hold is taken at once; owners not listed as gone still hold", async () => {
      const { sessions, clock } = await setup();
      await sessions.add({ name: 's1', jarJson: '{}' });
      await sessions.hold('s1', 'host:999999999:dd', clock.now() + HOLD_MS);
      assert.equal(await sessions.hold('s1', 'host:2:bb', clock.now() + HOLD_MS, []), false);
      assert.equal(await sessions.hold('s1', 'host:2:bb', clock.now() + HOLD_MS, ['host:3:cc', "it's 'quoted'", 'host:999999999']), false, 'whole owners only');
      assert.equal(await sessions.hold('s1', 'host:2:bb', clock.now() + HOLD_MS, ['host:3:cc', 'host:999999999:dd']), true);
      assert.equal((await sessions.get('s1'))!.holder, 'host:2:bb');
    });

    test('setUserAgent sets and clears the browser of a session', async () => {
      const { sessions, clock } = await setup();
      await sessions.add({ name: 's1', jarJson: '{}' });
      clock.advance(5);
      assert.equal(await sessions.setUserAgent('s1', 'Chrome/138'), true);
      assert.deepEqual([(await sessions.get('s1'))!.userAgent, (await sessions.get('s1'))!.updatedAt], ['Chrome/138', clock.now()]);
      await sessions.setUserAgent('s1', undefined);
      assert.equal((await sessions.get('s1'))!.userAgent, undefined);
      assert.equal(await sessions.setUserAgent('nobody', 'x'), false);
    });

    test('importJar renew keeps the row and its history; replace adds it afresh', async () => {
      const { sessions, clock } = await setup();
      const created = clock.now();
      await sessions.add({ name: 's1', jarJson: jar('a'), loginEmail: 'me@example.com', userAgent: 'Firefox/140' });
      await sessions.recordUse('s1', { ok: false, requests: 7, bookDone: true });
      await sessions.setState('s1', 'expired', { lastError: 'the token expired' });
      await sessions.hold('s1', 'host:1:aa', clock.now() + HOLD_MS);
      clock.advance(1000);

      const renewed = await sessions.importJar({ name: 's1', jarJson: jar('b'), tokenExpiresAt: clock.now() + 600_000 }, 'renew');
      assert.deepEqual(
        [renewed.jarJson, renewed.tokenExpiresAt, renewed.renewedAt, renewed.state, renewed.lastError, renewed.userAgent],
        [jar('b'), clock.now() + 600_000, clock.now(), 'ok', '', 'Firefox/140'],
        'new cookies, state ok, the error cleared, the User-Agent kept when none is given',
      );
      assert.deepEqual(
        [renewed.requests, renewed.errors, renewed.booksDone, renewed.loginEmail, renewed.createdAt, renewed.holder],
        [7, 1, 1, 'me@example.com', created, 'host:1:aa'],
      );
      assert.deepEqual(await sessions.get('s1'), renewed);
      assert.equal(await sessions.saveJar('s1', jar('a2'), undefined, jar('a')), false, "the holder's chain finds its next save refused");
      assert.equal((await sessions.importJar({ name: 's1', jarJson: jar('c'), userAgent: 'Chrome/138' }, 'renew')).userAgent, 'Chrome/138');

      await sessions.setState('s1', 'disabled');
      assert.equal((await sessions.importJar({ name: 's1', jarJson: jar('d') }, 'renew')).state, 'ok', 'new cookies enable a disabled session');

      clock.advance(1000);
      const replaced = await sessions.importJar({ name: 's1', jarJson: jar('e'), loginEmail: 'other@example.com', passwordFile: '/run/pw' }, 'replace');
      assert.deepEqual(
        [replaced.jarJson, replaced.requests, replaced.errors, replaced.lastError, replaced.loginEmail, replaced.passwordFile, replaced.userAgent],
        [jar('e'), 0, 0, undefined, 'other@example.com', '/run/pw', undefined],
      );
      assert.deepEqual([replaced.createdAt, replaced.holder], [clock.now(), undefined], 'a fresh row: no hold');

      const fresh = await sessions.importJar({ name: 'new', jarJson: jar('f'), userAgent: 'Safari/18' }, 'renew');
      assert.deepEqual([fresh.jarJson, fresh.userAgent, fresh.createdAt], [jar('f'), 'Safari/18', clock.now()], 'renew of no row adds one');
      assert.deepEqual(
        (await sessions.list()).map((s) => s.name),
        ['new', 's1'],
      );
    });

    test('importJar of a bad name is refused and leaves the store as it was', async () => {
      const { sessions } = await setup();
      await assert.rejects(
        sessions.importJar({ name: '../x', jarJson: '{}' }, 'replace'),
        (err: unknown) => err instanceof BookdError && err.kind === 'bad_input',
      );
      await assert.rejects(
        sessions.importJar({ name: 'has space', jarJson: '{}' }, 'renew'),
        (err: unknown) => err instanceof BookdError && err.kind === 'bad_input',
      );
      assert.deepEqual(await sessions.list(), []);
    });
  });
}

/** Jars whose saves count: `n` distinct ones, each the previous one's successor. */
const chain = (n: number) => Array.from({ length: n }, (_, i) => jar(`t${i}`));

describe('pgJarSaver', () => {
  test('a superseded save rejects with SupersededJarError; other failures pass through', async () => {
    const broken = pgJarSaver({ saveJar: () => Promise.reject(new Error('connection lost')) });
    await assert.rejects(
      broken.save('s1', jar('a'), undefined, undefined),
      (err: unknown) => !(err instanceof SupersededJarError) && /connection lost/.test(String(err)),
    );
    const superseded = pgJarSaver({ saveJar: async () => false });
    await assert.rejects(superseded.save('s1', jar('a'), undefined, jar('z')), SupersededJarError);
  });

  test('the saves of one session wait for each other; those of another do not', async () => {
    const started: string[] = [];
    const release = new Map<string, () => void>();
    const saver = pgJarSaver({
      saveJar: (name, jarJson) =>
        new Promise<boolean>((resolve) => {
          started.push(`${name}:${jarJson}`);
          release.set(`${name}:${jarJson}`, () => resolve(true));
        }),
    });
    const first = saver.save('a', '1', undefined, undefined);
    const second = saver.save('a', '2', undefined, '1');
    const other = saver.save('b', '1', undefined, undefined);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ['a:1', 'b:1'], "a's second save waits for its first; b's runs meanwhile");
    release.get('b:1')!();
    await other;
    release.get('a:1')!();
    await first;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ['a:1', 'b:1', 'a:2']);
    release.get('a:2')!();
    await second;
  });

  test('close waits for every save asked for, the queued ones of a session included', async () => {
    const done: string[] = [];
    const saver = pgJarSaver({
      saveJar: async (name, jarJson) => {
        await new Promise((r) => setTimeout(r, 20));
        done.push(`${name}:${jarJson}`);
        return jarJson !== 'refused';
      },
    });
    const saves = [saver.save('a', '1', undefined, undefined), saver.save('a', 'refused', undefined, '1'), saver.save('b', '1', undefined, undefined)];
    await saver.close();
    assert.deepEqual(done.sort(), ['a:1', 'a:refused', 'b:1']);
    assert.deepEqual(
      (await Promise.allSettled(saves)).map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    await saver.close();
  });

  test('a failed save does not stop the next one of the session', async () => {
    let calls = 0;
    const saver = pgJarSaver({ saveJar: async () => ++calls !== 1 });
    const results = await Promise.allSettled([saver.save('s1', '1', undefined, '0'), saver.save('s1', '2', undefined, '1')]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'fulfilled'],
    );
  });
});

/** What PostgreSQL adds to the cases above: several hosts on one database, its durability setting, its collations. */
function postgresOnly(): void {
  describe('PostgreSQL only', () => {
    test('two hosts racing for one session 50 times: exactly one holder each round', async () => {
      const { url, pool } = await freshPgStore();
      const other = await connectPool(url, { max: 8 });
      try {
        const clock = new ManualClock();
        const hosts = [pgSessionStore(pool, { clock }), pgSessionStore(other, { clock })];
        await hosts[0]!.add({ name: 's1', jarJson: '{}' });
        for (let round = 0; round < 50; round++) {
          // Three owners per host, all at once: six UPDATEs of one row on up to six connections.
          const tries = hosts.flatMap((store, h) => [0, 1, 2].map((i) => ({ store, owner: `host${h}:${i}:r${round}` })));
          const won = await Promise.all(tries.map((t) => t.store.hold('s1', t.owner, clock.now() + HOLD_MS)));
          const winners = tries.filter((_, i) => won[i]);
          assert.equal(winners.length, 1, `round ${round}: ${winners.map((w) => w.owner).join(', ')}`);
          assert.equal((await hosts[1]!.get('s1'))!.holder, winners[0]!.owner);
          assert.equal(await winners[0]!.store.dropHold('s1', winners[0]!.owner), true);
        }
      } finally {
        await other.end();
        await pool.end();
      }
    });

    test("a hold is a row: it outlives its holder's connections and shows to every host", async () => {
      const { url, pool } = await freshPgStore();
      const clock = new ManualClock();
      const observer = pgSessionStore(pool, { clock });
      await observer.add({ name: 's1', jarJson: '{}' });
      const first = await connectPool(url, { max: 2 });
      await pgSessionStore(first, { clock }).hold('s1', 'host:1:aa', clock.now() + HOLD_MS);
      await first.end();
      const again = await connectPool(url, { max: 2 });
      try {
        assert.deepEqual(
          [(await observer.get('s1'))!.holder, (await observer.get('s1'))!.heldUntil],
          ['host:1:aa', clock.now() + HOLD_MS],
          'the pool that took it is gone; the hold is not',
        );
        assert.equal(await observer.hold('s1', 'host:2:bb', clock.now() + HOLD_MS), false, 'another host still finds it held');
        clock.advance(10_000);
        assert.equal(await pgSessionStore(again, { clock }).hold('s1', 'host:1:aa', clock.now() + HOLD_MS), true, 'renewed over a new pool');
        assert.equal((await observer.get('s1'))!.heldUntil, clock.now() + HOLD_MS);
      } finally {
        await again.end();
        await pool.end();
      }
    });

    test('the jar saver applies 20 saves of one session in call order, each from the jar before', async () => {
      const { pool } = await freshPgStore();
      try {
        const sessions = pgSessionStore(pool, { clock: new ManualClock() });
        const jars = chain(21);
        await sessions.add({ name: 's1', jarJson: jars[0]! });
        await sessions.add({ name: 's2', jarJson: jars[0]! });
        const saver = pgJarSaver(sessions);
        // Not awaited one by one: the pool saves again before the previous save has answered.
        const saves = [1, 2].flatMap((n) => jars.slice(1).map((j, i) => saver.save(`s${n}`, j, 1000 + i, jars[i])));
        const results = await Promise.allSettled(saves);
        assert.deepEqual(
          results.filter((r) => r.status === 'rejected').map((r) => String(r.reason)),
          [],
        );
        for (const name of ['s1', 's2']) {
          const s = (await sessions.get(name))!;
          assert.deepEqual([s.jarJson, s.tokenExpiresAt], [jars[20], 1019], name);
        }
        await assert.rejects(saver.save('s1', jar('late'), undefined, jars[3]), SupersededJarError);
        assert.equal((await sessions.get('s1'))!.jarJson, jars[20]);
      } finally {
        await pool.end();
      }
    });

    test("list sorts byte by byte even where the names' collation is a language's", async (t) => {
      const { pool } = await freshPgStore();
      try {
        // The test server's databases are created with the C collation, as many are not.
        if ((await pool.query("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'")).rowCount === 0) return t.skip('no ICU collation on this server');
        await pool.query('ALTER TABLE sessions ALTER COLUMN name TYPE text COLLATE "und-x-icu"');
        const sessions = pgSessionStore(pool, { clock: new ManualClock() });
        for (const name of ['b', 'B', 'a', '_x', 'Z9']) await sessions.add({ name, jarJson: '{}' });
        assert.deepEqual(
          (await sessions.list()).map((s) => s.name),
          ['B', 'Z9', '_x', 'a', 'b'],
        );
      } finally {
        await pool.end();
      }
    });

    test('jar saves commit with synchronous_commit on, even where the server default is off', async () => {
      const { url, pool: setupPool } = await freshPgStore();
      await setupPool.query(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off', current_database()); END $$`);
      // What each write to the row saw, from inside its own transaction.
      await setupPool.query(`
        CREATE TABLE seen (op text, setting text);
        CREATE FUNCTION note_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN INSERT INTO seen VALUES (TG_OP, current_setting('synchronous_commit')); RETURN NEW; END $$;
        CREATE TRIGGER note_commit_mode BEFORE INSERT OR UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION note_commit_mode();`);
      await setupPool.end();
      const pool = await connectPool(url, { max: 2 });
      try {
        assert.equal((await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!.synchronous_commit, 'off');
        const sessions: Async<SessionStore> = pgSessionStore(pool, { clock: new ManualClock() });
        const seen = async () => (await pool.query<{ op: string; setting: string }>('DELETE FROM seen RETURNING op, setting')).rows;
        await sessions.add({ name: 's1', jarJson: jar('a') });
        assert.deepEqual(await seen(), [{ op: 'INSERT', setting: 'on' }], 'add');
        await sessions.saveJar('s1', jar('b'), 1, jar('a'));
        assert.deepEqual(await seen(), [{ op: 'UPDATE', setting: 'on' }], 'saveJar');
        await sessions.importJar({ name: 's1', jarJson: jar('c'), userAgent: 'x' }, 'renew');
        assert.ok(
          (await seen()).every((r) => r.setting === 'on'),
          'importJar renew',
        );
        await sessions.importJar({ name: 's1', jarJson: jar('d') }, 'replace');
        assert.deepEqual(await seen(), [{ op: 'INSERT', setting: 'on' }], 'importJar replace');
        await sessions.recordUse('s1', { ok: true });
        assert.deepEqual(await seen(), [{ op: 'UPDATE', setting: 'off' }], 'other writes keep the default (and the trigger can tell)');
        assert.equal(
          (await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!.synchronous_commit,
          'off',
          'only for those transactions',
        );
      } finally {
        await pool.end();
      }
    });
  });
}
