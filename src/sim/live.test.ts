import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import { ManualClock } from '../clock.js';
import { chapterPathOf, downloadUrl, fileItemUrl, HTML_ACCEPT, simRequest, simWhole, type SimRequestOptions } from '../../test/helpers/sim.js';
import { BOGUS_COOKIE_VALUE } from './auth.js';
import { PACKAGE_LAYOUTS, type SimBook } from './catalogue.js';
import { decodeJwt } from './jwt.js';
import { DEFAULT_BEHAVIOUR } from './options.js';
import { GUARD_DETAIL } from './routes.js';
import { SAMPLE_BYTES } from './sample.js';
import { startSim, type SimServer } from './server.js';

/**
 * The 2026-09 behaviours (docs/SERVICE.md, rows marked 2026-09), in process on a manual clock. The
 * guard is off here unless a test turns it on, so the other tests do not trip over it.
 */
let sim: SimServer;
let clock: ManualClock;
let me: Record<string, string>;

before(async () => {
  clock = new ManualClock(Date.UTC(2026, 8, 1));
  sim = await startSim({ seed: 21, books: 16, clock, rotate: { mode: 'off' }, guardRate: 0, bigBooks: 1, bigChapters: 250 });
  [me] = sim.mint(1) as [Record<string, string>];
});

after(async () => {
  await sim?.close();
});

const api = (path: string) => `${sim.url}${path}`;
const get = (path: string, opts: SimRequestOptions = {}) => simRequest(path.startsWith('http') ? path : api(path), { cookie: me, ...opts });
const books = () => sim.catalogue.books.filter((b) => b.format === 'book' && b.flags.length === 0);
const book = (pred: (b: SimBook) => boolean = () => true) => {
  const b = books().find((x) => x.chapters === 8 && pred(x));
  assert.ok(b, 'no such book');
  return b;
};
const filesOf = (id: string) => `/api/v2/epubs/urn:orm:book:${id}/files/`;

interface Item {
  url?: string;
  full_path: string;
  media_type: string;
  kind: string;
  file_size: number;
}
interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

async function listing(id: string): Promise<Item[]> {
  const items: Item[] = [];
  let next: string | null = api(`${filesOf(id)}?limit=300`);
  for (let i = 0; next && i < 10; i++) {
    const page: Page<Item> = (await get(next)).json();
    items.push(...page.results);
    next = page.next;
  }
  return items;
}

async function chapterList(id: string): Promise<{ ourn: string; reference_id?: string; content_url: string }[]> {
  return (await get(`/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${id}&limit=200`)).json<
    Page<{ ourn: string; reference_id?: string; content_url: string }>
  >().results;
}

const wellFormed = (text: string) => {
  const errors: string[] = [];
  new DOMParser({ onError: (level, msg) => void (level !== 'warning' && errors.push(msg)) }).parseFromString(text, 'application/xhtml+xml');
  return errors;
};

test('the defaults are the live-like settings, and GET /__sim/control shows every behaviour field', async () => {
  const fresh = await startSim({ books: 2 });
  try {
    const b = fresh.behaviour();
    assert.equal(b.fileGate, true);
    assert.equal(b.guardRate, 8);
    assert.equal(b.guardBurst, 16);
    assert.equal(b.partialCookies, '404');
    assert.equal(b.profileMode, 'redirect');
    assert.equal(b.profileRefresh, false);
    assert.equal(b.tokenEndpoint, true);
    assert.equal(b.duplicateLoginCookies, true);
    assert.equal(b.anonymousListing, true);
    assert.deepEqual(b, { ...DEFAULT_BEHAVIOUR });
    const shown = (await simRequest(`${fresh.url}/__sim/control`)).json<Record<string, unknown>>();
    for (const key of [
      'fileGate',
      'guardRate',
      'guardBurst',
      'partialCookies',
      'profileMode',
      'profileRefresh',
      'tokenEndpoint',
      'duplicateLoginCookies',
      'anonymousListing',
    ]) {
      assert.deepEqual(shown[key], (b as unknown as Record<string, unknown>)[key], key);
    }
    assert.equal(fresh.catalogue.options.packageLayouts, true);
    assert.equal(fresh.catalogue.options.listingVariants, true);
  } finally {
    await fresh.close();
  }
});

test('file gate: (X)HTML files are whole only with download=false and an HTML Accept; otherwise a ~2 KB sample of the same document', async () => {
  sim.resetStats();
  const b = book();
  const [ch] = await chapterList(b.id);
  const path = chapterPathOf(ch!);
  const file = api(`${filesOf(b.id)}${path}`);
  const whole = await simWhole(file, { cookie: me });
  assert.equal(whole.status, 200);
  assert.ok(whole.body.length > 8 * 1024, `${whole.body.length} bytes`);
  const asks: [string, SimRequestOptions['headers']][] = [
    [file, {}],
    [file, { accept: HTML_ACCEPT }],
    [downloadUrl(file), {}],
    [downloadUrl(file), { accept: 'application/json' }],
    [downloadUrl(file), { accept: '*/*' }],
    [downloadUrl(file), { accept: 'text/html;q=0' }],
    [`${file}?download=true`, { accept: HTML_ACCEPT }],
  ];
  for (const [url, headers] of asks) {
    const res = await get(url, { headers });
    const label = `${url} ${JSON.stringify(headers)}`;
    assert.equal(res.status, 200, label);
    assert.equal(res.headers['content-type'], whole.headers['content-type'], label);
    assert.ok(res.body.length <= SAMPLE_BYTES && res.body.length > SAMPLE_BYTES * 0.6, `${label}: ${res.body.length} bytes`);
    assert.ok(
      whole.text.startsWith(res.text.slice(0, res.text.lastIndexOf('</p>') > 0 ? res.text.lastIndexOf('</p>') : 1000)),
      `${label}: a prefix of the document`,
    );
    assert.doesNotMatch(res.text, /preview-paywall|class="controls"/, label);
    assert.doesNotMatch(res.text.replace(/<[^>]*>/g, '').trimEnd(), /(…|&hellip;)$/, label);
    assert.deepEqual(wellFormed(res.text), [], `${label}: still well-formed XHTML`);
    assert.match(res.text, /<\/body>\n?<\/html>\n$/, label);
  }
  // The chapter view (content_url) is gated too, and keeps format=html beside download=false.
  const view = await get(ch!.content_url);
  assert.match(String(view.headers['content-type']), /^text\/html/);
  assert.ok(view.body.length <= SAMPLE_BYTES);
  assert.match(view.text, /^<html><head><link rel="stylesheet"/);
  assert.match(view.text, /<\/div><\/body><\/html>\n$/);
  const viewWhole = await simWhole(ch!.content_url, { cookie: me });
  assert.ok(viewWhole.body.length > 4 * SAMPLE_BYTES);
  assert.match(viewWhole.text, /<div id="sbo-rt-content"><section data-type="chapter"/);
  // The nav document is (X)HTML too; images, CSS, fonts, OPF and NCX never are gated.
  const items = await listing(b.id);
  const nav = items.find((f) => f.kind === 'html')!;
  const navUrl = fileItemUrl(sim.url, b.id, nav);
  assert.equal((await simWhole(navUrl, { cookie: me })).body.length, nav.file_size);
  if (nav.file_size > SAMPLE_BYTES) assert.ok((await get(navUrl)).body.length <= SAMPLE_BYTES);
  for (const f of items.filter((x) => !/xhtml|html/.test(x.media_type))) {
    const res = await get(fileItemUrl(sim.url, b.id, f));
    assert.equal(res.status, 200, f.full_path);
    assert.equal(res.body.length, f.file_size, `${f.full_path} is whole without download=false`);
  }
  const stats = sim.stats();
  assert.equal(stats.samplesServed, asks.length + 1 + (nav.file_size > SAMPLE_BYTES ? 1 : 0));
  assert.deepEqual(stats.guard, { samples: 0, forbidden: 0 });

  sim.control({ fileGate: false });
  try {
    assert.equal((await get(file)).body.length, whole.body.length, 'gate off: whole without download=false');
  } finally {
    sim.control({ fileGate: true });
  }
});

test('samples never count toward a download; the whole files do', async () => {
  sim.resetStats();
  const b = book();
  const items = await listing(b.id);
  const needed = items.filter((f) => f.kind !== 'other_asset' && f.kind !== 'html');
  for (const f of needed) assert.equal((await get(fileItemUrl(sim.url, b.id, f))).status, 200);
  for (const ch of await chapterList(b.id)) await get(ch.content_url);
  assert.equal(sim.stats().downloads[b.id], undefined, 'chapters as samples are no download');
  for (const f of needed.filter((x) => x.kind === 'chapter')) await simWhole(fileItemUrl(sim.url, b.id, f), { cookie: me });
  assert.equal(sim.stats().downloads[b.id], 1);
  for (const ch of await chapterList(b.id)) await simWhole(ch.content_url, { cookie: me });
  assert.equal(sim.stats().downloads[b.id], 2);
});

test('authentication comes before the gate: a stale token gets its preview (or 401), never a sample', async () => {
  sim.resetStats();
  sim.control({ staleMode: 'preview' });
  try {
    const b = book();
    const [ch] = await chapterList(b.id);
    const stale = { ...me, 'orm-jwt': 'not-a-token' };
    for (const url of [ch!.content_url, downloadUrl(ch!.content_url), api(`${filesOf(b.id)}${chapterPathOf(ch!)}`)]) {
      const res = await get(url, { cookie: stale, headers: { accept: HTML_ACCEPT } });
      assert.equal(res.status, 200);
      assert.match(res.text, /preview-paywall/, url);
    }
    const stats = sim.stats();
    assert.equal(stats.previewsServed, 3);
    assert.equal(stats.samplesServed, 0);
  } finally {
    sim.control({ staleMode: '401' });
  }
  assert.equal((await get(filesOf(book().id) + 'nope', { cookie: { ...me, 'orm-jwt': 'x' } })).status, 401);
});

test('files listing: file_size is what the files API serves whole; limit up to 300', async () => {
  const b = book();
  const items = await listing(b.id);
  for (const f of items) {
    const res = await simWhole(fileItemUrl(sim.url, b.id, f), { cookie: me });
    assert.equal(res.body.length, f.file_size, f.full_path);
    assert.equal(typeof f.kind, 'string');
  }
  const big = books().find((x) => x.chapters === 250)!;
  const first = (await get(`${filesOf(big.id)}?limit=300`)).json<Page<Item>>();
  assert.equal(first.results.length, Math.min(300, first.count));
  assert.ok(first.count > 250);
  const capped = (await get(`${filesOf(big.id)}?limit=1000`)).json<Page<Item>>();
  assert.equal(capped.results.length, Math.min(300, capped.count), 'more than 300 is served as 300');
});

test('listing variants: items without url, a decoy OPF, no container, encoded ourns without reference_id', async () => {
  const noUrl = book((b) => b.variants.includes('no-url'));
  const items = await listing(noUrl.id);
  assert.ok(items.every((f) => !('url' in f)));
  for (const f of items.filter((x) => x.kind === 'image').slice(0, 3)) assert.equal((await get(fileItemUrl(sim.url, noUrl.id, f))).status, 200);
  const withUrl = await listing(book((b) => !b.variants.includes('no-url')).id);
  assert.ok(withUrl.every((f) => typeof f.url === 'string'));

  const decoyed = book((b) => b.variants.includes('decoy-opf'));
  const opfs = (await listing(decoyed.id)).filter((f) => f.media_type === 'application/oebps-package+xml');
  assert.equal(opfs.length, 2);
  assert.match(opfs[0]!.full_path, /(^|\/)(package\.opf|old\/content-2\.opf)$/, 'the decoy is listed first');
  assert.match(opfs[1]!.full_path, /(^|\/)content\.opf$/);
  const [decoy, real] = await Promise.all(opfs.map((f) => get(fileItemUrl(sim.url, decoyed.id, f)).then((r) => r.text)));
  const refs = (t: string) => (t.match(/<itemref /g) ?? []).length;
  assert.equal(refs(real!), 8);
  assert.ok(refs(decoy!) < refs(real!), 'the decoy is stale: fewer chapters');
  assert.doesNotMatch(real!, /package\.opf|content-2\.opf/, 'the decoy is not in the real manifest');
  assert.equal(sim.catalogue.books.filter((b) => b.variants.includes('decoy-opf')).length > 0, true);

  const bare = book((b) => b.variants.includes('no-container'));
  assert.ok(!(await listing(bare.id)).some((f) => f.full_path === 'META-INF/container.xml'));
  assert.equal((await get(`${filesOf(bare.id)}META-INF/container.xml`)).status, 404);
  const full = book((b) => !b.variants.includes('no-container'));
  assert.ok((await listing(full.id)).some((f) => f.full_path === 'META-INF/container.xml'));
  assert.equal((await get(`${filesOf(full.id)}META-INF/container.xml`)).status, 200);

  const encoded = book((b) => b.variants.includes('encoded-ourn') && b.layout !== 'root-html');
  for (const ch of await chapterList(encoded.id)) {
    assert.ok(!('reference_id' in ch));
    assert.match(ch.ourn, new RegExp(`^urn:orm:book:${encoded.id}:chapter:[A-Za-z]+%2f[^/]+\\.x?html$`));
    assert.ok(ch.content_url.startsWith(api(`${filesOf(encoded.id)}${chapterPathOf(ch)}?`)), ch.content_url);
  }
  const plain = book((b) => !b.variants.includes('encoded-ourn'));
  for (const ch of await chapterList(plain.id)) assert.equal(ch.reference_id, `${plain.id}-/${chapterPathOf({ ourn: ch.ourn })}`);
});

test('package layouts: OEBPS/text, root .html, OEBPS/xhtml and EPUB/xhtml, each served as XHTML', async () => {
  const want: Record<string, RegExp> = {
    'oebps-text': /^OEBPS\/text\/ch\d\d\.xhtml$/,
    'root-html': /^ch\d\d\.html$/,
    'oebps-xhtml': /^OEBPS\/xhtml\/ch\d\d\.xhtml$/,
    'epub-xhtml': /^EPUB\/xhtml\/ch\d\d\.xhtml$/,
  };
  for (const layout of PACKAGE_LAYOUTS) {
    const b = book((x) => x.layout === layout);
    const chapters = await chapterList(b.id);
    assert.equal(chapters.length, 8);
    for (const ch of chapters) assert.match(chapterPathOf(ch), want[layout]!, layout);
    const items = await listing(b.id);
    const opf = items.find((f) => /(^|\/)content\.opf$/.test(f.full_path))!;
    assert.equal(opf.full_path, layout === 'root-html' ? 'content.opf' : layout === 'epub-xhtml' ? 'EPUB/content.opf' : 'OEBPS/content.opf');
    const res = await simWhole(
      fileItemUrl(
        sim.url,
        b.id,
        items.find((f) => f.kind === 'chapter')!,
      ),
      { cookie: me },
    );
    assert.equal(res.headers['content-type'], 'application/xhtml+xml; charset=utf-8');
    assert.match(res.text, /^<\?xml /);
    assert.ok(items.some((f) => f.full_path.endsWith('images/a/figure.png')) && items.some((f) => f.full_path.endsWith('images/b/figure.png')));
  }
});

test('spine: paginated with next (default 100, at most 300), {title, reference_id, ourn} in reading order', async () => {
  const b = book();
  const spine = (await get(`/api/v2/epubs/urn:orm:book:${b.id}/spine/`)).json<Page<Record<string, string>>>();
  assert.equal(spine.count, 8);
  assert.equal(spine.next, null);
  const chapters = await chapterList(b.id);
  assert.deepEqual(
    spine.results.map((r) => r.reference_id),
    chapters.map((c) => `${b.id}-/${chapterPathOf(c)}`),
  );
  for (const r of spine.results) assert.deepEqual(Object.keys(r).sort(), ['ourn', 'reference_id', 'title']);
  const big = books().find((x) => x.chapters === 250)!;
  const seen: string[] = [];
  let next: string | null = api(`/api/v2/epubs/urn:orm:book:${big.id}/spine/?limit=100&offset=0`);
  let pages = 0;
  for (; next && pages < 10; pages++) {
    const page: Page<{ reference_id: string }> = (await get(next)).json();
    assert.ok(page.results.length <= 100);
    seen.push(...page.results.map((r) => r.reference_id));
    next = page.next;
  }
  assert.equal(pages, 3);
  assert.equal(seen.length, 250);
  assert.equal(new Set(seen).size, 250);
  assert.equal((await get(`/api/v2/epubs/urn:orm:book:${big.id}/spine/`)).json<Page<unknown>>().results.length, 100, 'default limit 100');
  assert.equal((await get(`/api/v2/epubs/urn:orm:book:${big.id}/spine/?limit=300`)).json<Page<unknown>>().results.length, 250);
  assert.equal((await get(`/api/v2/epubs/urn:orm:book:${big.id}/spine/?limit=x`)).status, 400);
});

test('bulk-access guard: one bucket per IP on the sim clock; (X)HTML files get samples, the rest 403 from the origin', async () => {
  sim.resetStats();
  const b = book();
  const [ch] = await chapterList(b.id);
  const chapterFile = api(`${filesOf(b.id)}${chapterPathOf(ch!)}`);
  const image = (await listing(b.id)).find((f) => f.kind === 'image')!;
  sim.control({ guardRate: 1, guardBurst: 3 });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await get('/api/v2/collections/')).status, 200);
    const refused = await get('/api/v2/collections/');
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.json(), { detail: GUARD_DETAIL });
    assert.equal(refused.headers.server, 'istio-envoy');
    assert.equal((await get(fileItemUrl(sim.url, b.id, image))).status, 403);
    assert.equal((await get(`/library/cover/${b.id}/`)).status, 403, '/library/ is guarded');
    assert.equal((await get('/api/v2/search/?query=*')).status, 403);
    const sample = await simWhole(chapterFile, { cookie: me });
    assert.equal(sample.status, 200, 'an (X)HTML file gets a sample, even with download=false');
    assert.ok(sample.body.length <= SAMPLE_BYTES);
    assert.equal((await simWhole(ch!.content_url, { cookie: me })).body.length <= SAMPLE_BYTES, true);
    // Not guarded: the profile, the login page, the auth API and the introspection endpoints.
    assert.equal((await get('/profile/')).status, 302);
    assert.equal((await get('/login/')).status, 200);
    const [other] = sim.mint(1) as [Record<string, string>];
    assert.equal((await get('/api/v1/auth/openid/token/', { cookie: other })).status, 200);
    assert.equal((await simRequest(api('/__sim/stats'))).status, 200);
    clock.advance(1000);
    assert.equal((await get('/api/v2/collections/')).status, 200, 'one token a second comes back with the sim clock');
    assert.equal((await get('/api/v2/collections/')).status, 403);
    const stats = sim.stats();
    assert.deepEqual(stats.guard, { samples: 2, forbidden: 5 });
    assert.equal(stats.samplesServed, 2);
    assert.equal(stats.sent['403'], 5);
    assert.equal(stats.downloads[b.id], undefined);
    sim.control({ guardRate: 0 });
    for (let i = 0; i < 20; i++) assert.equal((await get('/api/v2/collections/')).status, 200, 'guardRate 0: no guard');
  } finally {
    sim.control({ guardRate: 0, guardBurst: 16 });
  }
});

test('partial cookie sets: a valid orm-jwt without groot_sessionid is anonymous for subscriber content (404)', async () => {
  sim.resetStats();
  const b = book();
  const [ch] = await chapterList(b.id);
  const { groot_sessionid: _dropped, ...partial } = me;
  const subscriber = [
    `/api/v2/epubs/urn:orm:book:${b.id}/`,
    `/api/v2/epubs/urn:orm:book:${b.id}/table-of-contents/`,
    `/api/v2/epubs/urn:orm:book:${b.id}/spine/`,
    filesOf(b.id),
    `${filesOf(b.id)}${chapterPathOf(ch!)}`,
    `/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${b.id}`,
    '/api/v2/collections/',
  ];
  for (const path of subscriber) {
    const res = await get(path, { cookie: partial });
    assert.equal(res.status, 404, path);
    assert.deepEqual(res.json(), { message: 'Not found' }, path);
    assert.equal((await get(path)).status, 200, `${path} with the whole set`);
  }
  assert.equal((await get(`/api/v2/search/?query=${b.id}`, { cookie: partial })).status, 200, 'search is not affected');
  assert.equal((await get('/profile/', { cookie: partial })).status, 302);
  assert.equal((await get('/profile/', { cookie: partial })).headers.location, '/profile/sso/', 'the profile is not affected');
  assert.equal(sim.stats().partialCookieHits, subscriber.length);
  sim.control({ partialCookies: 'ignore' });
  try {
    for (const path of subscriber) assert.equal((await get(path, { cookie: partial })).status, 200, path);
  } finally {
    sim.control({ partialCookies: '404' });
  }
  assert.ok(me.groot_sessionid, 'minted sessions carry groot_sessionid');
});

test('/profile/ redirect mode: 302 → /profile/sso/ → 307 → /u/{sub}/ → a page without user_type; Expired for the lapsed account', async () => {
  sim.resetStats();
  const follow = async (cookie: Record<string, string>) => {
    const hops: { status: number; location?: string; setCookies: string[]; text: string }[] = [];
    let url: string | undefined = api('/profile/');
    for (let i = 0; url && i < 4; i++) {
      const res = await get(url, { cookie });
      hops.push({ status: res.status, location: res.headers.location as string | undefined, setCookies: res.setCookies, text: res.text });
      url = res.status >= 300 && res.status < 400 ? new URL(String(res.headers.location), url).href : undefined;
    }
    return hops;
  };
  const sub = String(decodeJwt(me['orm-jwt']!)!.sub);
  const hops = await follow(me);
  assert.deepEqual(
    hops.map((h) => [h.status, h.location]),
    [
      [302, '/profile/sso/'],
      [307, `/u/${sub}/`],
      [200, undefined],
    ],
  );
  assert.doesNotMatch(hops[2]!.text, /user_type/);
  assert.match(hops[2]!.text, /<main id="profile">/);
  assert.equal(sim.stats().profileRedirects, 2);
  assert.equal(sim.stats().requests.total, 3, 'every hop is a request');

  const [lapsed] = sim.mint(1, { expired: true }) as [Record<string, string>];
  const last = (await follow(lapsed)).at(-1)!;
  assert.equal(last.status, 200);
  assert.match(last.text, /"user_type":"Expired"/);

  const none = await follow({});
  assert.deepEqual(none.map((h) => [h.status, h.location]).slice(0, 1), [[302, '/login/?next=%2Fprofile%2F']]);
  assert.match(none[1]!.text, /<form id="login-form"/);
  assert.equal((await get('/accounts/login/', { cookie: {} })).status, 200);
  assert.match((await get('/accounts/login/', { cookie: {} })).text, /<form id="login-form"/);
  for (const path of ['/profile/sso/', `/u/${sub}/`]) assert.equal((await get(path, { cookie: {} })).headers.location, '/login/?next=%2Fprofile%2F', path);

  // profileRefresh off (the default): never a Set-Cookie, yet a valid orm-rt shows the logged-in page.
  // Short-lived tokens for these sessions, so the clock need not move far (the shared session lives on).
  sim.control({ rotate: 'every', tokenTtlSec: 60 });
  try {
    const [s] = sim.mint(1) as [Record<string, string>];
    assert.ok(
      (await follow(s)).every((h) => h.setCookies.length === 0),
      'no rotation on the profile either',
    );
    clock.advance(61_000);
    const expired = await follow(s);
    assert.equal(expired.at(-1)!.status, 200);
    assert.ok(expired.every((h) => h.setCookies.length === 0));
    assert.equal((await follow({ 'orm-jwt': s['orm-jwt']! })).at(-1)!.text.includes('login-form'), true, 'an expired jwt alone is logged out');

    sim.control({ profileMode: 'plain' });
    const plain = await get('/profile/', { cookie: s });
    assert.equal(plain.status, 200);
    assert.match(plain.text, /"user_type":"Individual"/);
    assert.deepEqual(plain.setCookies, []);
    assert.equal((await get('/profile/', { cookie: {} })).headers.location, '/login/?next=%2Fprofile%2F');

    sim.control({ profileRefresh: true });
    const refreshed = await get('/profile/', { cookie: s });
    assert.equal(refreshed.status, 200);
    const jwt = refreshed.setCookies
      .find((l) => l.startsWith('orm-jwt='))!
      .split(';')[0]!
      .slice('orm-jwt='.length);
    assert.equal(decodeJwt(jwt)!.sid, decodeJwt(s['orm-jwt']!)!.sid);
    assert.ok(refreshed.setCookies.some((l) => l.startsWith('orm-rt=')));
    assert.equal((await get('/api/v2/collections/', { cookie: { ...s, 'orm-jwt': jwt } })).status, 200);

    sim.control({ profileMode: 'redirect' });
    const [t] = sim.mint(1) as [Record<string, string>];
    clock.advance(61_000);
    const chain = await follow(t);
    assert.equal(chain[0]!.status, 302);
    assert.ok(
      chain[0]!.setCookies.some((l) => l.startsWith('orm-jwt=')),
      'with profileRefresh the first hop refreshes',
    );
  } finally {
    sim.control({ rotate: 'off', profileMode: 'redirect', profileRefresh: false, tokenTtlSec: 3600 });
  }
});

test('token endpoint: a valid orm-rt buys the next orm-jwt (JSON and Set-Cookie); otherwise 401', async () => {
  sim.resetStats();
  const [s] = sim.mint(1) as [Record<string, string>];
  const res = await get('/api/v1/auth/openid/token/', { cookie: s });
  assert.equal(res.status, 200);
  const body = res.json<{ id_token: string; expires_in: number }>();
  assert.equal(body.expires_in, sim.behaviour().tokenTtlSec);
  assert.equal(res.setCookies.length, 1);
  assert.match(res.setCookies[0]!, new RegExp(`^orm-jwt=${body.id_token.replace(/[.]/g, '\\.')}; Max-Age=\\d+; Path=/; HttpOnly`));
  assert.equal(decodeJwt(body.id_token)!.gen, 2);
  assert.ok((decodeJwt(body.id_token)!.exp as number) > Math.floor(clock.now() / 1000));
  assert.equal((await get('/api/v2/collections/', { cookie: { ...s, 'orm-jwt': body.id_token } })).status, 200);
  assert.equal((await get('/api/v2/collections/', { cookie: s })).status, 401, 'the chain moved on: the old token is stale');
  const attempts: Record<string, string>[] = [{}, { 'orm-jwt': s['orm-jwt']! }, { ...s, 'orm-rt': 'forged' }, { ...s, 'orm-rt': s['orm-jwt']! }];
  for (const cookie of attempts) {
    const bad = await get('/api/v1/auth/openid/token/', { cookie });
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.json(), { detail: 'Authentication credentials were not provided.' });
    assert.deepEqual(bad.setCookies, []);
  }
  assert.equal(sim.stats().tokenRefreshes, 1);
  sim.control({ tokenEndpoint: false });
  try {
    assert.equal((await get('/api/v1/auth/openid/token/', { cookie: s })).status, 401, 'switched off: refresh is impossible');
  } finally {
    sim.control({ tokenEndpoint: true });
  }
  assert.equal(sim.stats().tokenRefreshes, 1);
});

test('login sends a second, bogus Set-Cookie after groot_sessionid, orm-jwt and orm-rt; the first one is the session', async () => {
  const login = () => simRequest(api('/api/v1/auth/login/'), { method: 'POST', body: JSON.stringify({ email: 'user1@sim.test', password: 'pw-1' }) });
  const res = await login();
  assert.equal(res.status, 200);
  const { id_token: jwt } = res.json<{ id_token: string }>();
  const byName = (name: string) => res.setCookies.filter((l) => l.startsWith(`${name}=`));
  for (const name of ['groot_sessionid', 'orm-jwt', 'orm-rt']) {
    const lines = byName(name);
    assert.equal(lines.length, 2, name);
    assert.notEqual(lines[0]!.split(';')[0], `${name}=${BOGUS_COOKIE_VALUE}`);
    assert.equal(lines[1]!.split(';')[0], `${name}=${BOGUS_COOKIE_VALUE}`);
    assert.equal(lines[0]!.split(';').slice(1).join(';'), lines[1]!.split(';').slice(1).join(';'), `${name}: same attributes`);
    assert.equal(res.setCookies.indexOf(lines[1]!), res.setCookies.indexOf(lines[0]!) + 1);
  }
  assert.equal(byName('orm-jwt')[0]!.split(';')[0], `orm-jwt=${jwt}`);
  for (const name of ['logged_in', 'csrf_access_token', '_abck', 'bm_sz', 'BrowserCookie']) assert.equal(byName(name).length, 1, name);
  const first = Object.fromEntries(res.setCookies.map((l) => l.split(';')[0]!.split(/=(.*)/s).slice(0, 2) as [string, string]).reverse());
  const last = Object.fromEntries(res.setCookies.map((l) => l.split(';')[0]!.split(/=(.*)/s).slice(0, 2) as [string, string]));
  assert.equal((await get('/api/v2/collections/', { cookie: first })).status, 200, 'keeping the first lines: logged in');
  assert.equal((await get('/api/v2/collections/', { cookie: last })).status, 401, 'keeping the second ones: not logged in');
  sim.control({ duplicateLoginCookies: false });
  try {
    assert.equal((await login()).setCookies.length, 8);
  } finally {
    sim.control({ duplicateLoginCookies: true });
  }
});

test('anonymous listing: search answers without cookies; switched off it needs a token', async () => {
  const b = book();
  const anon = await simRequest(api(`/api/v2/search/?query=${b.id}&formats=book&limit=1`));
  assert.equal(anon.status, 200);
  assert.equal(anon.json<{ results: { archive_id: string }[] }>().results[0]!.archive_id, b.id);
  assert.equal((await simRequest(api('/api/v2/search/?query=*&limit=100&page=11'))).status, 403, 'deep pages still refused');
  sim.control({ anonymousListing: false });
  try {
    assert.equal((await simRequest(api(`/api/v2/search/?query=${b.id}`))).status, 401);
    assert.equal((await get(`/api/v2/search/?query=${b.id}`)).status, 200);
  } finally {
    sim.control({ anonymousListing: true });
  }
});

test('covers: /600/ is the package cover, the bare URL a smaller JPEG thumbnail; no auth', async () => {
  const b = book();
  const cover = (await listing(b.id)).find((f) => /images\/cover\.jpg$/.test(f.full_path))!;
  const packaged = (await get(fileItemUrl(sim.url, b.id, cover))).body;
  const full = await simRequest(api(`/library/cover/${b.id}/600/`));
  const thumb = await simRequest(api(`/library/cover/${b.id}/`));
  for (const r of [full, thumb]) {
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/jpeg');
    assert.equal(r.body.subarray(0, 2).toString('hex'), 'ffd8');
    assert.equal(r.body.subarray(-2).toString('hex'), 'ffd9');
  }
  assert.ok(full.body.equals(packaged));
  assert.ok(thumb.body.length < full.body.length / 2, `${thumb.body.length} vs ${full.body.length}`);
  assert.ok(thumb.body.equals((await simRequest(api(`/library/cover/${b.id}`))).body), 'the same thumbnail every time');
  const hit = (await simRequest(api(`/api/v2/search/?query=${b.id}`))).json<{ results: { cover_url: string }[] }>().results[0]!;
  assert.equal(hit.cover_url, api(`/library/cover/${b.id}/`));
  assert.equal((await simRequest(api('/library/cover/9999999999999/600/'))).status, 404);
});

test('audiobooks: ceil(books/60) in the listings, archive_id of 13 digits and AU, not books (404)', async () => {
  const audio = sim.catalogue.books.filter((b) => b.format === 'audiobook');
  assert.equal(audio.length, Math.ceil(16 / 60));
  const all = (await simRequest(api('/api/v2/search/?query=*&limit=200'))).json<{ results: { archive_id: string; format: string; content_format: string }[] }>()
    .results;
  const listed = all.filter((r) => r.format === 'audiobook');
  assert.deepEqual(
    listed.map((r) => r.archive_id),
    audio.map((b) => b.id),
  );
  for (const r of listed) {
    assert.match(r.archive_id, /^\d{13}AU$/);
    assert.equal(r.content_format, 'audiobook');
  }
  const id = audio[0]!.id;
  assert.equal((await simRequest(api(`/api/v2/search/?query=${id}`))).json<{ results: unknown[] }>().results.length, 1);
  for (const path of [
    `/api/v2/epubs/urn:orm:book:${id}/`,
    `/api/v2/epubs/urn:orm:book:${id}/files/`,
    `/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${id}`,
    `/api/v2/epubs/urn:orm:book:${id}/spine/`,
  ]) {
    const res = await get(path);
    assert.equal(res.status, 404, path);
    assert.deepEqual(res.json(), { message: 'Not found' });
  }
});

test("nonBrowserRequests counts requests whose User-Agent is not a browser's; they are served all the same", async () => {
  sim.resetStats();
  const ua = 'Mozilla/5.0 (X11; Linux x86_64; rv:143.0) Gecko/20100101 Firefox/143.0';
  assert.equal((await get('/api/v2/collections/', { headers: { 'user-agent': ua } })).status, 200);
  assert.equal((await get('/api/v2/collections/', { headers: { 'user-agent': 'python-requests/2.32' } })).status, 200);
  assert.equal((await get('/api/v2/collections/')).status, 200);
  await simRequest(api('/__sim/stats'));
  const stats = sim.stats();
  assert.equal(stats.nonBrowserRequests, 2);
  assert.equal(stats.requests.total, 3);
});
