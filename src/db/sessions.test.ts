import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { BookdError } from '../errors.js';
import { openSqliteStore } from './store.js';

const jar = (token: string) => JSON.stringify({ version: 'tough-cookie@6', cookies: [{ key: 'orm-jwt', value: token }] });

test('sessions: add, get, list, remove; names are checked and unique', () => {
  const clock = new ManualClock();
  const { sessions, db } = openSqliteStore(':memory:', clock);
  const added = sessions.add({
    name: 'laptop',
    jarJson: jar('a'),
    tokenExpiresAt: clock.now() + 3_600_000,
    loginEmail: 'me@example.com',
    passwordFile: '/run/credentials/bookd/laptop',
  });
  assert.equal(added.state, 'ok');
  assert.equal(added.jarJson, jar('a'));
  assert.equal(added.passwordFile, '/run/credentials/bookd/laptop');
  assert.equal(added.createdAt, clock.now());
  sessions.add({ name: 'desk.2_b-c', jarJson: jar('b') });
  assert.deepEqual(
    sessions.list().map((s) => s.name),
    ['desk.2_b-c', 'laptop'],
  );
  assert.throws(
    () => sessions.add({ name: 'laptop', jarJson: jar('c') }),
    (err: unknown) => err instanceof BookdError && err.kind === 'bad_input' && /already exists: remove it first .* or pick another name/.test(err.message),
  );
  for (const bad of ['', 'has space', 'x'.repeat(65), '../etc', 'ünï']) {
    assert.throws(() => sessions.add({ name: bad, jarJson: '{}' }), BookdError, bad);
  }
  assert.equal(sessions.get('laptop')!.jarJson, jar('a'), 'a refused duplicate leaves the original alone');
  const columns = db
    .prepare('SELECT name FROM pragma_table_info(?)')
    .all('sessions')
    .map((c) => (c as { name: string }).name);
  assert.ok(!columns.some((c) => /passw(or)?d$|secret/.test(c)), `no password column: ${columns.join(',')}`);
  assert.equal(sessions.remove('laptop'), true);
  assert.equal(sessions.remove('laptop'), false);
  assert.equal(sessions.get('laptop'), undefined);
});

test('saveJar writes the jar and token expiry at once; unknown sessions report false', () => {
  const clock = new ManualClock();
  const { sessions } = openSqliteStore(':memory:', clock);
  sessions.add({ name: 's1', jarJson: jar('a') });
  clock.advance(5000);
  assert.equal(sessions.saveJar('s1', jar('rotated'), clock.now() + 600_000), true);
  const s = sessions.get('s1')!;
  assert.equal(s.jarJson, jar('rotated'));
  assert.equal(s.tokenExpiresAt, clock.now() + 600_000);
  assert.equal(s.jarSavedAt, clock.now());
  assert.equal(sessions.saveJar('nobody', jar('x'), undefined), false);
});

test('setState sets cooldown and keeps the last error unless given; recordUse scores errors', () => {
  const clock = new ManualClock();
  const { sessions } = openSqliteStore(':memory:', clock);
  sessions.add({ name: 's1', jarJson: '{}' });
  assert.equal(sessions.setState('s1', 'cooling', { cooldownUntil: clock.now() + 60_000, lastError: '429 Too Many Requests' }), true);
  let s = sessions.get('s1')!;
  assert.equal(s.state, 'cooling');
  assert.equal(s.cooldownUntil, clock.now() + 60_000);
  sessions.setState('s1', 'ok');
  s = sessions.get('s1')!;
  assert.equal(s.cooldownUntil, undefined);
  assert.equal(s.lastError, '429 Too Many Requests');
  sessions.recordUse('s1', { ok: false, requests: 2 });
  sessions.recordUse('s1', { ok: false, requests: 1 });
  sessions.recordUse('s1', { ok: true, requests: 40, bookDone: true });
  s = sessions.get('s1')!;
  assert.deepEqual([s.requests, s.errors, s.booksDone, s.errorScore, s.lastUsedAt], [43, 2, 1, 1.5, clock.now()]);
  for (let i = 0; i < 5; i++) sessions.recordUse('s1', { ok: true });
  assert.equal(sessions.get('s1')!.errorScore, 0, 'never below zero');
  assert.equal(sessions.setState('nobody', 'disabled'), false);
  assert.equal(sessions.recordUse('nobody', { ok: true }), false);
});

test('every save keeps the orm-rt expiry of the jar, and renewed_at moves only with the token exp', () => {
  const clock = new ManualClock();
  const { sessions } = openSqliteStore(':memory:', clock);
  const start = clock.now();
  // Max-Age counts from the cookie's last use, as the jar counts it.
  const rt = { key: 'orm-rt', value: 'r', lastAccessed: new Date(start).toISOString(), maxAge: 1_209_600 };
  const withRt = (token: string, refresh: object | undefined) =>
    JSON.stringify({ version: 'tough-cookie@6', cookies: [{ key: 'orm-jwt', value: token }, ...(refresh ? [refresh] : [])] });
  const added = sessions.add({ name: 's1', jarJson: withRt('a', rt), tokenExpiresAt: start + 600_000 });
  assert.deepEqual([added.hasRefreshCookie, added.refreshExpiresAt, added.renewedAt], [true, start + 1_209_600_000, start]);

  clock.advance(1000);
  sessions.saveJar('s1', withRt('a2', rt), start + 600_000);
  assert.equal(sessions.get('s1')!.renewedAt, start, 'the same exp is no renewal');
  clock.advance(1000);
  sessions.saveJar('s1', withRt('b', { ...rt, maxAge: undefined, expires: new Date(start + 5000).toISOString() }), start + 900_000);
  const renewed = sessions.get('s1')!;
  assert.deepEqual([renewed.refreshExpiresAt, renewed.renewedAt], [start + 5000, start + 2000]);

  sessions.saveJar('s1', withRt('c', undefined), start + 900_000);
  assert.deepEqual([sessions.get('s1')!.hasRefreshCookie, sessions.get('s1')!.refreshExpiresAt], [false, undefined]);
  sessions.saveJar('s1', withRt('d', { key: 'orm-rt', value: 'r' }), start + 900_000);
  assert.deepEqual([sessions.get('s1')!.hasRefreshCookie, sessions.get('s1')!.refreshExpiresAt], [true, undefined], 'an orm-rt without expiry');
  const jwt = `h.${Buffer.from(JSON.stringify({ exp: (start + 60_000) / 1000 })).toString('base64url')}.s`;
  sessions.saveJar('s1', withRt('e', { key: 'orm-rt', value: jwt }), start + 900_000);
  assert.equal(sessions.get('s1')!.refreshExpiresAt, start + 60_000, "a refresh token's own exp");
});
