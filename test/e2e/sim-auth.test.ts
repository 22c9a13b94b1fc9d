import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { simRequest, simWhole, startSimProcess, type SimCatalogue, type SimProcess } from '../helpers/sim.js';
import { sourceCatalogue } from '../helpers/source.js';
import { decodeJwt } from '../../src/sim/jwt.js';
import { chapterText } from '../../src/sim/markup.js';
import { bookContent } from '../../src/sim/package.js';

let sim: SimProcess;
let book: SimCatalogue['books'][number];
/** The second chapter's file path (it depends on the book's package layout). */
let ch02: string;

before(async () => {
  // The bulk-access guard is off: these tests fire requests back to back (sim-live.test.ts covers it).
  sim = await startSimProcess(['--seed', '5', '--books', '4', '--rotate', 'off', '--token-ttl', '600', '--guard-rate', '0']);
  const cat = await sim.catalogue();
  book = cat.books.find((b) => b.format === 'book')!;
  ch02 = bookContent(sourceCatalogue(cat), book.id)!.chapters[1]!.path;
});

after(async () => {
  await sim?.stop();
});

const api = (path: string) => `${sim.url}${path}`;
const json401 = { detail: 'Authentication credentials were not provided.' };

/** The value a `Set-Cookie` line sets for `name`, if it sets it. */
function cookieFrom(lines: string[], name: string): string | undefined {
  const line = lines.find((l) => l.startsWith(`${name}=`));
  return line?.slice(name.length + 1).split(';')[0];
}

const chapters = () => api(`/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${book.id}`);
const chapterPage = () => api(`/api/v2/epubs/urn:orm:book:${book.id}/files/${ch02}?format=html`);
const chapterFile = () => api(`/api/v2/epubs/urn:orm:book:${book.id}/files/${ch02}`);

/** Follows `/profile/`'s redirects on this origin (at most 3, as clients do): the hops' statuses and the last answer. */
async function probe(cookie: Record<string, string> | string | undefined) {
  const statuses: number[] = [];
  let url = api('/profile/');
  for (let hop = 0; hop <= 3; hop++) {
    const res = await simRequest(url, { cookie });
    statuses.push(res.status);
    if (res.status < 300 || res.status >= 400) return { statuses, last: res, url };
    url = new URL(String(res.headers.location), url).href;
  }
  throw new Error(`more than 3 redirects: ${statuses.join(' ')}`);
}

test('password login: a new independent session per login, host-only cookies, 401 for bad credentials', async () => {
  await sim.resetStats();
  const login = (body: string) => simRequest(api('/api/v1/auth/login/'), { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const first = await login(JSON.stringify({ email: 'user2@sim.test', password: 'pw-2' }));
  assert.equal(first.status, 200);
  const body = first.json<{ logged_in: boolean; id_token: string; refresh_token: string }>();
  assert.equal(body.logged_in, true);
  assert.equal(cookieFrom(first.setCookies, 'orm-jwt'), body.id_token);
  assert.equal(cookieFrom(first.setCookies, 'orm-rt'), body.refresh_token);
  const names = first.setCookies.map((l) => l.split('=')[0]!);
  assert.deepEqual([...new Set(names)].sort(), ['BrowserCookie', '_abck', 'bm_sz', 'csrf_access_token', 'groot_sessionid', 'logged_in', 'orm-jwt', 'orm-rt']);
  // --duplicate-login-cookies (on by default): a bogus second line for three of them; the first is the real one.
  for (const name of ['groot_sessionid', 'orm-jwt', 'orm-rt']) {
    const lines = first.setCookies.filter((l) => l.startsWith(`${name}=`));
    assert.equal(lines.length, 2, name);
    assert.match(lines[1]!, new RegExp(`^${name}=invalid;`));
  }
  assert.equal(names.length, 11);
  for (const line of first.setCookies) {
    assert.doesNotMatch(line, /domain=/i, line);
    assert.match(line, /; Path=\/;/, line);
  }
  assert.match(
    first.setCookies.find((l) => l.startsWith('orm-rt='))!,
    /; Max-Age=1209600\.0; Path=\/; HttpOnly/,
  );
  assert.match(
    first.setCookies.find((l) => l.startsWith('orm-jwt='))!,
    /; Max-Age=600; Path=\/; HttpOnly/,
  );
  const jwt = decodeJwt(body.id_token)!;
  assert.equal(jwt.sid, 'l1');
  assert.equal(jwt.exp, (jwt.iat as number) + 600);
  assert.deepEqual(jwt.perms, { epubs: 'v' });

  const second = await login(JSON.stringify({ email: 'user2@sim.test', password: 'pw-2' }));
  assert.equal(decodeJwt(second.json<{ id_token: string }>().id_token)!.sid, 'l2');

  for (const bad of [{ email: 'user2@sim.test', password: 'nope' }, { email: 'nobody@sim.test', password: 'pw-1' }, {}]) {
    const res = await login(JSON.stringify(bad));
    assert.equal(res.status, 401);
    assert.deepEqual(res.json(), { detail: 'Invalid credentials' });
    assert.deepEqual(res.setCookies, []);
  }
  assert.equal((await login('{not json')).status, 400);
  // orm-jwt alone is a partial cookie set (--partial-cookies 404, the default): anonymous, 404.
  const partial = await simRequest(chapters(), { cookie: `orm-jwt=${body.id_token}` });
  assert.equal(partial.status, 404);
  assert.deepEqual(partial.json(), { message: 'Not found' });
  const groot = cookieFrom(first.setCookies, 'groot_sessionid')!;
  const res = await simRequest(chapters(), { cookie: `orm-jwt=${body.id_token}; groot_sessionid=${groot}` });
  assert.equal(res.status, 200);
  const stats = await sim.stats();
  assert.equal(stats.logins, 2);
  assert.equal(stats.requests.bySession.l1, 2);
  assert.equal(stats.partialCookieHits, 1);
});

test('/profile/: 302 to /login/ without a session; SSO redirects without user_type for a good one (plain: user_type); Expired for a lapsed one whose content answers 403', async () => {
  const none = await simRequest(api('/profile/'));
  assert.equal(none.status, 302);
  assert.match(String(none.headers.location), /^\/login\//);
  const login = await simRequest(api('/login/'));
  assert.match(login.text, /<form[^>]+login/);
  const loggedOut = await probe(undefined);
  assert.match(loggedOut.url, /\/login\/\?next=%2Fprofile%2F$/, 'the last hop is a login page');

  const [good] = (await sim.mint(1)) as [Record<string, string>];
  const sso = await probe(good);
  assert.deepEqual(sso.statuses, [302, 307, 200], '--profile-mode redirect (the default)');
  assert.match(sso.url, /\/u\/\d+\/$/);
  assert.doesNotMatch(sso.last.text, /user_type/);

  const [lapsed] = (await sim.mint(1, { expired: true })) as [Record<string, string>];
  const expired = await probe(lapsed);
  assert.equal(expired.last.status, 200);
  assert.match(expired.last.text, /"user_type":"Expired"/);
  assert.ok((await sim.stats()).profileRedirects >= 4);

  await sim.control({ profileMode: 'plain' });
  try {
    const profile = await simRequest(api('/profile/'), { cookie: good });
    assert.equal(profile.status, 200);
    assert.match(profile.text, /"user_type":"Individual"/);
    const plainExpired = await simRequest(api('/profile/'), { cookie: lapsed });
    assert.equal(plainExpired.status, 200);
    assert.match(plainExpired.text, /"user_type":"Expired"/);
  } finally {
    await sim.control({ profileMode: 'redirect' });
  }
  const content = await simRequest(chapters(), { cookie: lapsed });
  assert.equal(content.status, 403);
  assert.equal(typeof content.json<{ detail: string }>().detail, 'string');
  assert.equal(content.headers.server, 'istio-envoy');

  const pwd = await simRequest(api('/api/v1/auth/login/'), { method: 'POST', body: JSON.stringify({ email: 'expired@sim.test', password: 'pw-expired' }) });
  assert.equal(pwd.status, 200);
});

test('an expired orm-jwt gets 401 JSON from istio-envoy; the token endpoint refreshes it through orm-rt, /profile/ only with --profile-refresh on', async () => {
  await sim.resetStats();
  const [s] = (await sim.mint(1)) as [Record<string, string>];
  assert.equal((await simRequest(chapters(), { cookie: s })).status, 200);
  await sim.control({ advanceClockMs: 601_000 });
  const stale = await simRequest(chapters(), { cookie: s });
  assert.equal(stale.status, 401);
  assert.deepEqual(stale.json(), json401);
  assert.equal(stale.headers.server, 'istio-envoy');
  assert.equal((await simRequest(api('/profile/'), { cookie: { 'orm-jwt': s['orm-jwt']! } })).status, 302, 'no orm-rt, no session');
  assert.match((await probe({ 'orm-jwt': s['orm-jwt']! })).url, /\/login\//);

  // --profile-refresh off (the default): the profile shows the logged-in page but never sets orm-jwt.
  const shown = await probe(s);
  assert.deepEqual(shown.statuses, [302, 307, 200]);
  assert.deepEqual(shown.last.setCookies, []);
  assert.equal((await simRequest(api('/profile/'), { cookie: s })).setCookies.length, 0);
  assert.equal((await sim.stats()).refreshes, 0);

  const token = await simRequest(api('/api/v1/auth/openid/token/'), { cookie: s });
  assert.equal(token.status, 200);
  const fresh = cookieFrom(token.setCookies, 'orm-jwt');
  assert.ok(fresh && fresh !== s['orm-jwt']);
  assert.equal(token.json<{ id_token: string }>().id_token, fresh);
  assert.equal(decodeJwt(fresh)!.gen, 2);
  assert.equal((await simRequest(chapters(), { cookie: { ...s, 'orm-jwt': fresh } })).status, 200);
  assert.equal((await sim.stats()).tokenRefreshes, 1);
  assert.deepEqual((await simRequest(api('/api/v1/auth/openid/token/'))).json(), json401, 'no orm-rt: 401');

  // --profile-refresh on with --profile-mode plain: /profile/ refreshes as it always did.
  await sim.control({ profileRefresh: true, profileMode: 'plain' });
  try {
    await sim.control({ advanceClockMs: 601_000 });
    const refreshed = await simRequest(api('/profile/'), { cookie: { ...s, 'orm-jwt': fresh } });
    assert.equal(refreshed.status, 200);
    const again = cookieFrom(refreshed.setCookies, 'orm-jwt');
    assert.ok(again && again !== fresh);
    assert.equal(decodeJwt(again)!.gen, 3);
    assert.equal(cookieFrom(refreshed.setCookies, 'orm-rt'), s['orm-rt']);
    assert.equal((await simRequest(chapters(), { cookie: { ...s, 'orm-jwt': again } })).status, 200);
  } finally {
    await sim.control({ profileRefresh: false, profileMode: 'redirect' });
  }
  const stats = await sim.stats();
  assert.equal(stats.refreshes, 1);
  assert.ok(stats.staleTokenHits >= 1 && stats.expiredTokenHits >= 1);
  assert.equal(stats.sent['401'], 2);
  assert.equal((await simRequest(chapters())).status, 401, 'no cookies at all');
  assert.equal((await sim.stats()).missingTokenHits, 1);

  await sim.control({ tokenEndpoint: false });
  try {
    assert.equal((await simRequest(api('/api/v1/auth/openid/token/'), { cookie: s })).status, 401, '--token-endpoint off: no refresh');
  } finally {
    await sim.control({ tokenEndpoint: true });
  }
});

test('--rotate every: each authenticated success sets a new orm-jwt and the previous one is stale unless within --grace', async () => {
  try {
    await sim.control({ rotate: 'every', grace: 0 });
    const [s] = (await sim.mint(1)) as [Record<string, string>];
    const t1 = s['orm-jwt']!;
    const a = await simRequest(chapters(), { cookie: s });
    const t2 = cookieFrom(a.setCookies, 'orm-jwt')!;
    assert.equal(decodeJwt(t2)!.gen, 2);
    assert.match(
      a.setCookies.find((l) => l.startsWith('orm-jwt='))!,
      /Max-Age=\d+; Path=\/; HttpOnly/,
    );
    const stale = await simRequest(chapters(), { cookie: { ...s, 'orm-jwt': t1 } });
    assert.equal(stale.status, 401);
    assert.deepEqual(stale.setCookies, []);
    const b = await simRequest(chapters(), { cookie: { ...s, 'orm-jwt': t2 } });
    assert.equal(b.status, 200);
    const unknown = await simRequest(api('/api/v2/epubs/urn:orm:book:9999999999999/'), { cookie: { ...s, 'orm-jwt': cookieFrom(b.setCookies, 'orm-jwt')! } });
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.setCookies, [], 'a failure does not rotate');

    await sim.control({ grace: 1 });
    const [g] = (await sim.mint(1)) as [Record<string, string>];
    const g2 = cookieFrom((await simRequest(chapters(), { cookie: g })).setCookies, 'orm-jwt')!;
    assert.equal(decodeJwt(g2)!.gen, 2);
    const graced = await simRequest(chapters(), { cookie: g });
    assert.equal(graced.status, 200, 'one generation back is within grace 1');
    assert.equal(decodeJwt(cookieFrom(graced.setCookies, 'orm-jwt')!)!.gen, 3);
    assert.equal((await simRequest(chapters(), { cookie: g })).status, 401, 'two back is not');

    await sim.control({ rotate: 3, grace: 0 });
    const [n] = (await sim.mint(1)) as [Record<string, string>];
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await simRequest(chapters(), { cookie: n });
      const next = cookieFrom(res.setCookies, 'orm-jwt');
      seen.push(next ? 1 : 0);
      if (next) n['orm-jwt'] = next;
    }
    assert.deepEqual(seen, [0, 0, 1, 0, 0, 1]);

    await sim.control({ rotate: 'every' });
    const [r] = (await sim.mint(1)) as [Record<string, string>];
    let rtLine: string | undefined;
    for (let i = 0; i < 4; i++) {
      const res = await simRequest(chapters(), { cookie: r });
      r['orm-jwt'] = cookieFrom(res.setCookies, 'orm-jwt')!;
      rtLine = res.setCookies.find((l) => l.startsWith('orm-rt='));
      assert.equal(rtLine === undefined, i < 3, `rotation ${i + 2}`);
    }
    assert.match(rtLine!, /Max-Age=1209600\.0/, 'some rotations also resend orm-rt, with a fractional Max-Age');
  } finally {
    await sim.control({ rotate: 'off', grace: 0 });
  }
});

test('two cookies of one name: the first one is read', async () => {
  await sim.control({ rotate: 'every' });
  try {
    const [s] = (await sim.mint(1)) as [Record<string, string>];
    const res = await simRequest(chapters(), { cookie: s });
    const fresh = cookieFrom(res.setCookies, 'orm-jwt')!;
    const groot = `groot_sessionid=${s.groot_sessionid}`;
    assert.equal((await simRequest(chapters(), { cookie: `${groot}; orm-jwt=${s['orm-jwt']}; orm-jwt=${fresh}` })).status, 401);
    assert.equal((await simRequest(chapters(), { cookie: `${groot}; orm-jwt=${fresh}; orm-jwt=${s['orm-jwt']}` })).status, 200);
  } finally {
    await sim.control({ rotate: 'off' });
  }
});

test('--stale-mode preview: chapter pages and XHTML files come back 200 truncated with the paywall; JSON and images still 401', async () => {
  await sim.resetStats();
  await sim.control({ staleMode: 'preview', rotate: 'every' });
  try {
    const [s] = (await sim.mint(1)) as [Record<string, string>];
    const full = await simWhole(chapterPage(), { cookie: s });
    assert.equal(full.status, 200);
    assert.doesNotMatch(full.text, /preview-paywall/);
    const stale = { ...s };
    for (const [label, url] of [
      ['page', chapterPage()],
      ['file', chapterFile()],
    ] as const) {
      const res = await simRequest(url, { cookie: stale });
      assert.equal(res.status, 200, label);
      assert.match(res.text, /<div class="controls"><div data-testid="preview-paywall">/, label);
      assert.match(res.text, /…<\/p>\n<\/section>/, label);
      assert.deepEqual(res.setCookies, [], `${label}: a preview does not rotate`);
      const words = chapterText(res.text).split(' ').length;
      assert.ok(words * 4 < chapterText(full.text).split(' ').length, `${label}: ${words} words`);
    }
    assert.match((await simRequest(chapterFile(), { cookie: stale })).text, /^<\?xml /, 'the XHTML preview is still XHTML');
    assert.equal((await simRequest(chapterPage())).status, 200, 'no token at all: a preview too');
    const list = await simRequest(chapters(), { cookie: stale });
    assert.equal(list.status, 401);
    assert.deepEqual(list.json(), json401);
    assert.equal((await simRequest(api(`/api/v2/epubs/urn:orm:book:${book.id}/files/OEBPS/images/a/figure.png`), { cookie: stale })).status, 401);
    const stats = await sim.stats();
    assert.equal(stats.previewsServed, 4);
    assert.equal(stats.staleTokenHits, 5);
    assert.equal(stats.downloads[book.id], undefined);
  } finally {
    await sim.control({ staleMode: '401', rotate: 'off' });
  }
});
