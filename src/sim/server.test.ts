import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { ManualClock } from '../clock.js';
import { ControlError } from './control.js';
import { decodeJwt } from './jwt.js';
import { startSim } from './server.js';

const cookie = (c: Record<string, string>) =>
  Object.entries(c)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

async function get(url: string, c?: Record<string, string>) {
  const res = await request(url, { headers: c ? { cookie: cookie(c) } : {} });
  const text = await res.body.text();
  const set = res.headers['set-cookie'];
  return { status: res.statusCode, text, setCookies: set === undefined ? [] : Array.isArray(set) ? set : [set] };
}

test('in process: startSim runs on an injected clock that decides token expiry and rotation by age', async () => {
  const clock = new ManualClock(Date.UTC(2026, 2, 1));
  const sim = await startSim({ books: 3, clock, tokenTtlSec: 60, rotate: { mode: 'off' } });
  try {
    assert.match(sim.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const [s] = sim.mint(1) as [Record<string, string>];
    assert.equal(decodeJwt(s['orm-jwt']!)!.iat, Math.floor(clock.now() / 1000));
    const url = `${sim.url}/api/v2/collections/`;
    assert.equal((await get(url, s)).status, 200);
    clock.advance(60_000);
    assert.equal((await get(url, s)).status, 401);
    assert.equal(sim.stats().expiredTokenHits, 1);

    const [t] = sim.mint(1) as [Record<string, string>];
    sim.control({ rotate: 'age', rotateAgeSec: 10 });
    assert.equal(sim.behaviour().rotate.mode, 'age');
    assert.deepEqual((await get(url, t)).setCookies, []);
    clock.advance(10_000);
    const rotated = await get(url, t);
    assert.equal(rotated.setCookies.length, 1);
    assert.match(rotated.setCookies[0]!, /^orm-jwt=/);

    sim.control({ advanceClockMs: 60_000 });
    assert.equal((await get(url, t)).status, 401, 'advanceClockMs moves the same clock on');
    assert.throws(() => sim.control({ failRate: 3 }), ControlError);
    sim.resetStats();
    assert.equal(sim.stats().requests.total, 0);
  } finally {
    await sim.close();
  }
});

test('close() ends every connection, stalled ones included', async () => {
  const sim = await startSim({ books: 2, stallRate: 1 });
  const [s] = sim.mint(1) as [Record<string, string>];
  const res = await request(`${sim.url}/api/v2/collections/`, { headers: { cookie: cookie(s) } });
  assert.equal(res.statusCode, 200, 'headers came, the body never will');
  const body = res.body.text().then(
    () => 'done',
    (err: { code?: string }) => err.code ?? 'error',
  );
  await sim.close();
  assert.notEqual(await body, 'done');
});

test('GET /__sim/login-page mints a session and sets its cookies with whole-second Max-Ages; they are logged in', async () => {
  const sim = await startSim({ books: 2, tokenTtlSec: 3600 });
  try {
    const page = await get(`${sim.url}/__sim/login-page`);
    assert.equal(page.status, 200);
    assert.match(page.text, /^<!DOCTYPE html>[\s\S]*session m1: 8 cookies set/);
    const set = new Map(page.setCookies.map((l) => [l.slice(0, l.indexOf('=')), l]));
    const [next] = sim.mint(1) as [Record<string, string>];
    assert.deepEqual([...set.keys()].sort(), Object.keys(next).sort(), 'the cookies POST /__sim/mint gives');
    for (const [name, line] of set) {
      assert.match(line, /; Max-Age=\d+; Path=\/(; HttpOnly)?; SameSite=Lax$/, line.replace(/=[^;]*/, '=…'));
      assert.equal(line.includes('; HttpOnly'), ['orm-jwt', 'orm-rt', 'groot_sessionid'].includes(name), name);
      assert.ok(!/Domain=/i.test(line), 'host-only');
    }
    assert.match(set.get('orm-jwt')!, /Max-Age=3600;/);
    assert.match(set.get('orm-rt')!, /Max-Age=1209600;/);
    const cookies = Object.fromEntries([...set].map(([name, line]) => [name, line.slice(name.length + 1, line.indexOf(';'))]));
    assert.ok(!page.text.includes(cookies['orm-jwt']!), 'the page shows no value');
    assert.equal((await get(`${sim.url}/api/v2/collections/`, cookies)).status, 200);
    const lapsed = await get(`${sim.url}/__sim/login-page?expired=1`);
    assert.match(lapsed.text, /session m3:/);
  } finally {
    await sim.close();
  }
});

test('in process: control addBook publishes a new book in a skill: listed there, in the catalogue, with content', async () => {
  const sim = await startSim({ books: 4, skills: ['Python', 'Go'] });
  try {
    const [s] = sim.mint(1) as [Record<string, string>];
    const listing = async () => {
      const res = await get(`${sim.url}/api/v2/search/?query=*&topics=Go&limit=100&page=0`, s);
      assert.equal(res.status, 200, res.text);
      return (JSON.parse(res.text) as { results: { archive_id: string }[] }).results.map((r) => r.archive_id);
    };
    const before = await listing();
    const id = sim.control({ addBook: { skill: 'Go' } }).addedBook;
    assert.match(id ?? '', /^\d{13}$/);
    assert.ok(!before.includes(id!));
    assert.deepEqual(await listing(), [...before, id]);
    assert.deepEqual(sim.catalogue.books.at(-1)?.skills, ['Go']);
    const catalogue = JSON.parse((await get(`${sim.url}/__sim/catalogue`)).text) as { books: { id: string; files: number }[] };
    assert.ok((catalogue.books.find((b) => b.id === id)?.files ?? 0) > 0, 'the new book has files to download');
    assert.deepEqual(sim.control({ failRate: 0 }), {});
    assert.throws(() => sim.control({ addBook: { skill: ' ' } }), ControlError);
  } finally {
    await sim.close();
  }
});
