import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { ManualClock } from '../clock.js';
import { SESSION_COOKIE, webAuth } from './auth.js';
import { crossSiteReason, hostAllowed, hostName } from './guard.js';
import { failureLimiter } from './rate-limit.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const TOKEN = 'correct-horse-battery-staple';

test('with a token: Bearer, Basic (any user) and the login cookie get in; anything else is refused, and only a wrong token counts as a guess', () => {
  const auth = webAuth(TOKEN);
  assert.deepEqual(auth.check(req({ authorization: `Bearer ${TOKEN}` })), { ok: true, principal: 'bearer' });
  assert.deepEqual(auth.check(req({ authorization: `Basic ${Buffer.from(`koreader:${TOKEN}`).toString('base64')}` })), { ok: true, principal: 'basic' });
  assert.deepEqual(auth.check(req({ authorization: `Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}` })), { ok: true, principal: 'basic' });
  assert.deepEqual(auth.check(req({ authorization: `Bearer ${TOKEN}x` })), { ok: false, presented: true });
  assert.deepEqual(auth.check(req({ authorization: `Basic ${Buffer.from('u:nope').toString('base64')}` })), { ok: false, presented: true });
  assert.deepEqual(auth.check(req({ authorization: 'Digest whatever' })), { ok: false, presented: true });
  assert.deepEqual(auth.check(req({})), { ok: false, presented: false });
  const cookie = auth.loginCookie();
  assert.match(cookie, new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict$`));
  assert.ok(!cookie.includes(TOKEN));
  const value = cookie.split(';')[0]!;
  assert.deepEqual(auth.check(req({ cookie: `other=1; ${value}` })), { ok: true, principal: 'cookie' });
  assert.deepEqual(auth.check(req({ cookie: `${SESSION_COOKIE}=${TOKEN}` })), { ok: false, presented: false }, 'the token itself is not the cookie');
  assert.equal(webAuth('another-token-of-enough-length').check(req({ cookie: value })).ok, false, 'a new token ends old logins');
  assert.equal(webAuth(TOKEN).check(req({ cookie: value })).ok, true, 'a restart keeps them');
});

test('without a token everything is open; CSRF tokens are bound to the principal', () => {
  const open = webAuth(undefined);
  assert.deepEqual(open.check(req({})), { ok: true, principal: 'open' });
  const r = req({});
  assert.ok(open.csrfMatches(r, 'open', open.csrfFor(r, 'open')));
  assert.ok(!open.csrfMatches(r, 'open', undefined));
  assert.ok(!open.csrfMatches(r, 'open', 'x'));
  assert.ok(!webAuth(undefined).csrfMatches(r, 'open', open.csrfFor(r, 'open')), 'another start, another key');
  const auth = webAuth(TOKEN);
  const a = req({ cookie: auth.loginCookie().split(';')[0]! });
  assert.notEqual(auth.csrfFor(a, 'cookie'), auth.csrfFor(a, 'bearer'));
  assert.ok(!auth.csrfMatches(a, 'bearer', auth.csrfFor(a, 'cookie')));
});

test('wrong tokens from one address are refused once there are too many, until the window passes; other addresses are not affected', () => {
  const clock = new ManualClock();
  const limit = failureLimiter(clock, 3, 60_000);
  for (let i = 0; i < 3; i++) {
    assert.equal(limit.blockedFor('10.0.0.9'), 0);
    limit.fail('10.0.0.9');
  }
  assert.equal(limit.blockedFor('10.0.0.9'), 60_000);
  assert.equal(limit.blockedFor('10.0.0.10'), 0);
  clock.advance(59_000);
  assert.equal(limit.blockedFor('10.0.0.9'), 1_000);
  clock.advance(1_000);
  assert.equal(limit.blockedFor('10.0.0.9'), 0);
  limit.fail('10.0.0.9');
  limit.succeed('10.0.0.9');
  limit.fail('10.0.0.9');
  limit.fail('10.0.0.9');
  assert.equal(limit.blockedFor('10.0.0.9'), 0, 'a right token clears the count');
});

test('Host: without a token only loopback names and the bound address; with one, any. Origin: only our own, or none/"null" with the CSRF token', () => {
  assert.equal(hostName('[::1]:9469'), '::1');
  assert.equal(hostName('LocalHost:80'), 'localhost');
  assert.equal(hostName('a b'), undefined);
  assert.ok(hostAllowed(req({ host: '127.0.0.1:9469' }), '127.0.0.1', false));
  assert.ok(hostAllowed(req({ host: 'localhost:9469' }), '127.0.0.1', false));
  assert.ok(hostAllowed(req({ host: '127.0.0.2:9469' }), '127.0.0.2', false));
  assert.ok(!hostAllowed(req({ host: 'attacker.example:9469' }), '127.0.0.1', false));
  assert.ok(!hostAllowed(req({}), '127.0.0.1', false));
  assert.ok(hostAllowed(req({ host: 'nas.home.arpa:9469' }), '0.0.0.0', true));

  const host = { host: '127.0.0.1:9469' };
  assert.equal(crossSiteReason(req({ ...host, origin: 'http://127.0.0.1:9469' }), true), undefined);
  assert.equal(crossSiteReason(req(host), true), undefined);
  assert.equal(crossSiteReason(req({ ...host, origin: 'null' }), true), undefined);
  assert.match(crossSiteReason(req({ ...host, origin: 'http://127.0.0.1:9470' }), true)!, /may not change/);
  assert.match(crossSiteReason(req({ ...host, origin: 'https://127.0.0.1:9469' }), true)!, /may not change/);
  assert.match(crossSiteReason(req({ ...host, 'sec-fetch-site': 'cross-site' }), true)!, /cross-site/);
  assert.match(crossSiteReason(req({ ...host, origin: 'http://127.0.0.1:9469' }), false)!, /CSRF/);
});
