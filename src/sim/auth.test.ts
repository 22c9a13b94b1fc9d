import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { BOGUS_COOKIE_VALUE, companionCookies, loginSetCookies, makeAccounts, TokenChains } from './auth.js';
import { parseCookieHeader } from './cookies.js';
import { decodeJwt, secretFor, signJwt, verifyJwt } from './jwt.js';
import { mintCookies } from './mint.js';
import { DEFAULT_BEHAVIOUR, type Behaviour } from './options.js';

function chains(patch: Partial<Behaviour> = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const behaviour: Behaviour = { ...DEFAULT_BEHAVIOUR, ...patch };
  return { clock, behaviour, chains: new TokenChains(secretFor(1), clock, behaviour) };
}

test('JWTs are header.payload.signature, base64url, HS256; tampering or another seed fails verification', () => {
  const token = signJwt(secretFor(1), { sub: '1001', sid: 'm1', gen: 1, exp: 2, iat: 1, perms: { epubs: 'v' } });
  const parts = token.split('.');
  assert.equal(parts.length, 3);
  for (const p of parts) assert.match(p, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' });
  assert.deepEqual(verifyJwt(secretFor(1), token), { sub: '1001', sid: 'm1', gen: 1, exp: 2, iat: 1, perms: { epubs: 'v' } });
  assert.equal(verifyJwt(secretFor(2), token), undefined);
  const forged = `${parts[0]}.${Buffer.from(JSON.stringify({ sub: '1001', sid: 'm1', gen: 9, exp: 2, iat: 1 })).toString('base64url')}.${parts[2]}`;
  assert.equal(verifyJwt(secretFor(1), forged), undefined);
  assert.equal(verifyJwt(secretFor(1), 'not-a-token'), undefined);
  assert.equal(verifyJwt(secretFor(1), 'a.b.c'), undefined);
});

test('a new session starts at generation 1 with exp = iat + TTL and a long-lived refresh token', () => {
  const { clock, chains: c } = chains({ tokenTtlSec: 600 });
  const { jwt, rt } = c.start('m1', '1001');
  const p = decodeJwt(jwt)!;
  assert.equal(p.gen, 1);
  assert.equal(p.sid, 'm1');
  assert.deepEqual(p.perms, { epubs: 'v' });
  assert.equal(p.exp, Math.floor(clock.now() / 1000) + 600);
  assert.equal(decodeJwt(rt)!.typ, 'refresh');
  assert.ok((decodeJwt(rt)!.exp as number) - (p.iat as number) >= 14 * 86_400);
  assert.deepEqual(c.check(jwt), { state: 'ok', sid: 'm1', sub: '1001', gen: 1 });
  assert.deepEqual(c.check(rt), { state: 'missing' }, 'a refresh token does not authenticate content');
  assert.deepEqual(c.check(undefined), { state: 'missing' });
});

test('--rotate every with grace 0: each success moves the token on and the previous one is stale', () => {
  const { chains: c } = chains({ rotate: { mode: 'every' }, grace: 0 });
  const first = c.start('m1', '1001').jwt;
  assert.equal(c.check(first).state, 'ok');
  const second = c.rotateIfDue('m1')!;
  assert.equal(decodeJwt(second)!.gen, 2);
  assert.equal(c.check(first).state, 'stale');
  assert.equal(c.check(second).state, 'ok');
});

test('--grace N keeps the previous N generations valid', () => {
  const { chains: c } = chains({ rotate: { mode: 'every' }, grace: 2 });
  const tokens = [c.start('m1', '1001').jwt];
  for (let i = 0; i < 3; i++) tokens.push(c.rotateIfDue('m1')!);
  assert.deepEqual(
    tokens.map((t) => c.check(t).state),
    ['stale', 'ok', 'ok', 'ok'],
  );
});

test('--rotate N rotates after every N successes; off never; age after --rotate-age', () => {
  const n = chains({ rotate: { mode: 'count', n: 3 } }).chains;
  n.start('m1', '1001');
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map(() => n.rotateIfDue('m1') !== undefined),
    [false, false, true, false, false, true],
  );

  const off = chains({ rotate: { mode: 'off' } }).chains;
  off.start('m1', '1001');
  for (let i = 0; i < 50; i++) assert.equal(off.rotateIfDue('m1'), undefined);

  const aged = chains({ rotate: { mode: 'age' }, rotateAgeSec: 300 });
  aged.chains.start('m1', '1001');
  assert.equal(aged.chains.rotateIfDue('m1'), undefined);
  aged.clock.advance(299_000);
  assert.equal(aged.chains.rotateIfDue('m1'), undefined);
  aged.clock.advance(1_000);
  const next = aged.chains.rotateIfDue('m1');
  assert.equal(decodeJwt(next!)!.gen, 2);
  assert.equal(aged.chains.rotateIfDue('m1'), undefined, 'the age counts from the new token');
});

test('a token past exp is expired; a valid orm-rt refreshes it to the next generation', () => {
  const { clock, chains: c } = chains({ tokenTtlSec: 60, rotate: { mode: 'off' } });
  const { jwt, rt } = c.start('m1', '1001');
  clock.advance(59_000);
  assert.equal(c.check(jwt).state, 'ok');
  clock.advance(1_000);
  assert.equal(c.check(jwt).state, 'expired');
  const refreshed = c.refresh(rt)!;
  assert.equal(refreshed.sid, 'm1');
  assert.equal(decodeJwt(refreshed.jwt)!.gen, 2);
  assert.equal(c.check(refreshed.jwt).state, 'ok');
  assert.equal(c.check(jwt).state, 'stale', 'the expired token is also superseded now');
  assert.equal(c.refresh(jwt), undefined, 'an access token is not a refresh token');
  assert.equal(c.refresh(undefined), undefined);
  clock.advance(15 * 86_400_000);
  assert.equal(c.refresh(rt), undefined, 'the refresh token expires too');
});

test('tokens minted by another process with the same seed start their chains here', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const files = mintCookies({ seed: 4, count: 3, clock });
  const here = new TokenChains(secretFor(4), clock, { ...DEFAULT_BEHAVIOUR, rotate: { mode: 'every' } });
  assert.deepEqual(
    files.map((f) => here.check(f['orm-jwt']).state),
    ['ok', 'ok', 'ok'],
  );
  assert.deepEqual(
    files.map((f) => decodeJwt(f['orm-jwt']!)!.sid),
    ['m1', 'm2', 'm3'],
  );
  const next = here.rotateIfDue('m2')!;
  assert.equal(decodeJwt(next)!.gen, 2);
  assert.equal(here.check(files[1]!['orm-jwt']).state, 'stale');
  const other = new TokenChains(secretFor(5), clock, DEFAULT_BEHAVIOUR);
  assert.equal(other.check(files[0]!['orm-jwt']).state, 'missing', 'another seed does not accept them');
  for (const f of files)
    for (const name of ['orm-jwt', 'orm-rt', 'groot_sessionid', 'logged_in', 'csrf_access_token', '_abck', 'bm_sz', 'BrowserCookie']) assert.ok(f[name], name);
  const expired = mintCookies({ seed: 4, count: 1, expired: true, clock });
  assert.equal(decodeJwt(expired[0]!['orm-jwt']!)!.sub, makeAccounts(16).at(-1)!.sub);
});

test('cookies: the first of two same-named cookies wins; Set-Cookie is host-only with a fractional orm-rt Max-Age', () => {
  const jar = parseCookieHeader('orm-jwt=old; logged_in=y; orm-jwt=new;  bad; x="quoted"');
  assert.equal(jar.get('orm-jwt'), 'old');
  assert.equal(jar.get('x'), 'quoted');
  assert.equal(jar.has('bad'), false);
  assert.equal(parseCookieHeader(['a=1', 'a=2; b=3']).get('a'), '1');
  const lines = loginSetCookies({ 'orm-jwt': 'J', 'orm-rt': 'R', ...companionCookies(1, 'l1') }, 3600);
  assert.equal(lines.length, 8);
  for (const l of lines) {
    assert.doesNotMatch(l, /domain=/i);
    assert.match(l, /; Path=\/(;|$)/);
  }
  assert.ok(lines.includes('orm-rt=R; Max-Age=1209600.0; Path=/; HttpOnly; SameSite=Lax'));
  assert.ok(lines.includes('orm-jwt=J; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax'));
  assert.deepEqual(companionCookies(1, 'l1'), companionCookies(1, 'l1'));
  assert.notDeepEqual(companionCookies(1, 'l1'), companionCookies(1, 'l2'));
});

test('login Set-Cookie lines with duplicates: a bogus second line after groot_sessionid, orm-jwt and orm-rt only', () => {
  const cookies = { 'orm-jwt': 'J', 'orm-rt': 'R', ...companionCookies(1, 'l1') };
  const lines = loginSetCookies(cookies, 3600, true);
  assert.equal(lines.length, 11);
  for (const name of ['groot_sessionid', 'orm-jwt', 'orm-rt']) {
    const mine = lines.filter((l) => l.startsWith(`${name}=`));
    assert.equal(mine.length, 2, name);
    assert.equal(
      mine[0],
      loginSetCookies(cookies, 3600).find((l) => l.startsWith(`${name}=`)),
      `${name}: the real line first`,
    );
    assert.equal(mine[1], mine[0]!.replace(`${name}=${cookies[name as keyof typeof cookies]};`, `${name}=${BOGUS_COOKIE_VALUE};`));
  }
  assert.equal(parseCookieHeader(lines.map((l) => l.split(';')[0]).join('; ')).get('orm-jwt'), 'J', 'the first one wins');
});

test('refreshSession names the session of a valid orm-rt without moving its chain', () => {
  const { clock, chains: c } = chains();
  const { jwt, rt } = c.start('m1', '1001');
  assert.deepEqual(c.refreshSession(rt), { sid: 'm1', sub: '1001' });
  assert.equal(c.generation('m1'), 1);
  assert.equal(c.check(jwt).state, 'ok');
  assert.equal(c.refreshSession(jwt), undefined, 'an access token is not a refresh token');
  assert.equal(c.refreshSession('x.y.z'), undefined);
  clock.advance(15 * 86_400_000);
  assert.equal(c.refreshSession(rt), undefined, 'an expired refresh token');
});

test('a revoked session (control revoke) is refused: its token counts as expired and its orm-rt renews nothing; others are untouched', () => {
  const { chains: c } = chains();
  const one = c.start('m1', '1001');
  const two = c.start('m2', '1002');
  c.revoke('m1');
  assert.equal(c.check(one.jwt).state, 'expired');
  assert.equal(c.refresh(one.rt), undefined);
  assert.equal(c.refreshSession(one.rt), undefined);
  assert.equal(c.check(two.jwt).state, 'ok');
  assert.ok(c.refresh(two.rt));
});
