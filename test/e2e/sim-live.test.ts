import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCli } from '../helpers/cli.js';
import {
  BROWSER_UA,
  chapterPathOf,
  fileItemUrl,
  simRequest,
  simWhole,
  startSimProcess,
  type SimCatalogue,
  type SimProcess,
  type SimRequestOptions,
  type SimStats,
} from '../helpers/sim.js';
import { decodeJwt } from '../../src/sim/jwt.js';

/**
 * The 2026-09 behaviours of docs/SERVICE.md through the built CLI: on by default (live-like), each
 * behind a flag of `bookd sim`, and all of them off giving back the simulator as it was before.
 */

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
  results: T[];
}

/**
 * `bookd sim --port 0 …args` exactly as given. (startSimProcess scales the guard for tests unless
 * told a --guard-rate; this is how a test sees the CLI's own defaults.)
 */
async function startExactly(args: string[]): Promise<SimProcess> {
  const running = await startCli(['sim', '--port', '0', ...args]);
  const url = running.firstLine.trim();
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const call = async (path: string, body?: unknown) => {
    const res = await simRequest(`${url}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
    assert.equal(res.status, 200, `${path}: ${res.text}`);
    return res.json<unknown>();
  };
  return {
    url,
    running,
    stats: async () => (await call('/__sim/stats')) as SimStats,
    resetStats: async () => void (await call('/__sim/reset-stats', {})),
    control: async (patch) => void (await call('/__sim/control', patch)),
    addBook: async (skill) => ((await call('/__sim/control', { addBook: { skill } })) as { addedBook: string }).addedBook,
    growBook: async (id, chapters) =>
      (
        (await call('/__sim/control', { growBook: { id, ...(chapters !== undefined && { chapters }) } })) as {
          grownBook: { id: string; chapters: number; issued: string };
        }
      ).grownBook,
    mint: async (n, opts = {}) => (await call('/__sim/mint', { count: n, ...opts })) as Record<string, string>[],
    catalogue: async () => (await call('/__sim/catalogue')) as SimCatalogue,
    stop: () => running.stop('SIGTERM'),
  };
}

async function withSim(
  args: string[],
  body: (sim: SimProcess, cat: SimCatalogue, me: Record<string, string>) => Promise<void>,
  start: (args: string[]) => Promise<SimProcess> = startSimProcess,
): Promise<void> {
  const sim = await start(args);
  try {
    const [me] = (await sim.mint(1)) as [Record<string, string>];
    await body(sim, await sim.catalogue(), me);
  } finally {
    const exit = await sim.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
  }
}

const bookOf = (cat: SimCatalogue, pred: (b: SimCatalogue['books'][number]) => boolean = () => true) => {
  const b = cat.books.find((x) => x.format === 'book' && x.flags.length === 0 && pred(x));
  assert.ok(b, 'no such book');
  return b;
};

function client(sim: SimProcess, me: Record<string, string>) {
  const get = (path: string, opts: SimRequestOptions = {}) => simRequest(path.startsWith('http') ? path : `${sim.url}${path}`, { cookie: me, ...opts });
  const listing = async (id: string): Promise<Item[]> => (await get(`/api/v2/epubs/urn:orm:book:${id}/files/?limit=300`)).json<Page<Item>>().results;
  const chapters = async (id: string) =>
    (await get(`/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${id}&limit=100`)).json<
      Page<{ ourn: string; reference_id?: string; content_url: string }>
    >().results;
  return { get, listing, chapters };
}

test('by default bookd sim is live-like: samples, file_size, partial cookies 404, SSO profile, duplicate login cookies, token endpoint, anonymous listing, covers, audiobooks', async () => {
  // The CLI's defaults but a roomier guard burst, so this test's requests never meet the guard (the next test is about it).
  await withSim(
    ['--seed', '9', '--books', '8', '--guard-burst', '200'],
    async (sim, cat, me) => {
      const { get, listing, chapters } = client(sim, me);
      const control = (await get('/__sim/control')).json<Record<string, unknown>>();
      assert.deepEqual(
        [
          control.fileGate,
          control.guardRate,
          control.guardBurst,
          control.partialCookies,
          control.profileMode,
          control.profileRefresh,
          control.tokenEndpoint,
          control.duplicateLoginCookies,
          control.anonymousListing,
        ],
        [true, 8, 200, '404', 'redirect', false, true, true, true],
      );
      assert.deepEqual([cat.options.packageLayouts, cat.options.listingVariants], [true, true]);
      assert.equal(new Set(cat.books.filter((b) => b.format === 'book').map((b) => b.layout)).size, 4, 'every layout among 8 books');
      assert.ok(cat.books.some((b) => b.variants.length > 0));

      // File gate: a sample unless download=false and an HTML Accept.
      const b = bookOf(cat);
      const items = await listing(b.id);
      const chapter = items.find((f) => f.kind === 'chapter')!;
      const url = fileItemUrl(sim.url, b.id, chapter);
      const sample = await get(url);
      const whole = await simWhole(url, { cookie: me });
      assert.equal(sample.status, 200);
      assert.ok(sample.body.length <= 2000 && chapter.file_size > 8 * 1024, `${sample.body.length} of ${chapter.file_size}`);
      assert.equal(whole.body.length, chapter.file_size);
      const [first] = await chapters(b.id);
      assert.ok((await get(first!.content_url)).body.length <= 2000);
      assert.ok((await simWhole(first!.content_url, { cookie: me })).body.length > 8 * 1024);

      // Spine.
      const spine = (await get(`/api/v2/epubs/urn:orm:book:${b.id}/spine/?limit=5`)).json<Page<{ reference_id: string; title: string; ourn: string }>>();
      assert.equal(spine.count, 8);
      assert.equal(spine.results.length, 5);
      assert.match(String(spine.next), /\/spine\/\?limit=5&offset=5$/);
      assert.equal(spine.results[0]!.reference_id, `${b.id}-/${chapterPathOf(first!)}`);

      // Partial cookie set: 404 for subscriber content.
      const { groot_sessionid: _g, ...partial } = me;
      assert.deepEqual((await get(`/api/v2/epubs/urn:orm:book:${b.id}/`, { cookie: partial })).json(), { message: 'Not found' });
      assert.equal((await get(`/api/v2/epubs/urn:orm:book:${b.id}/`)).status, 200);

      // /profile/: 302 → 307 → page without user_type.
      const p1 = await get('/profile/');
      assert.deepEqual([p1.status, p1.headers.location], [302, '/profile/sso/']);
      const p2 = await get('/profile/sso/');
      assert.equal(p2.status, 307);
      const p3 = await get(String(p2.headers.location));
      assert.equal(p3.status, 200);
      assert.doesNotMatch(p3.text, /user_type/);
      assert.equal((await get('/profile/', { cookie: {} })).headers.location, '/login/?next=%2Fprofile%2F');
      assert.equal((await get('/accounts/login/', { cookie: {} })).status, 200);

      // Login: each of the three cookies twice, the second bogus.
      const login = await simRequest(`${sim.url}/api/v1/auth/login/`, { method: 'POST', body: JSON.stringify({ email: 'user3@sim.test', password: 'pw-3' }) });
      for (const name of ['groot_sessionid', 'orm-jwt', 'orm-rt']) {
        assert.deepEqual(
          login.setCookies.filter((l) => l.startsWith(`${name}=`)).map((l) => l.startsWith(`${name}=invalid;`)),
          [false, true],
          name,
        );
      }

      // Token endpoint.
      const [other] = (await sim.mint(1)) as [Record<string, string>];
      const token = await get('/api/v1/auth/openid/token/', { cookie: other });
      assert.equal(token.status, 200);
      assert.equal(decodeJwt(token.json<{ id_token: string }>().id_token)!.gen, 2);
      assert.match(token.setCookies[0]!, /^orm-jwt=/);
      assert.equal((await get('/api/v1/auth/openid/token/', { cookie: {} })).status, 401);

      // Anonymous listing, covers, audiobooks.
      const listed = await simRequest(`${sim.url}/api/v2/search/?query=*&limit=100&page=0`);
      assert.equal(listed.status, 200);
      const results = listed.json<{ results: { archive_id: string; format: string; cover_url: string }[] }>().results;
      const audio = results.filter((r) => r.format === 'audiobook');
      assert.equal(audio.length, 1);
      assert.match(audio[0]!.archive_id, /^\d{13}AU$/);
      assert.equal((await get(`/api/v2/epubs/urn:orm:book:${audio[0]!.archive_id}/`)).status, 404);
      const thumb = await simRequest(results.find((r) => r.archive_id === b.id)!.cover_url);
      const full = await simRequest(`${sim.url}/library/cover/${b.id}/600/`);
      assert.ok(thumb.body.length < full.body.length);
      assert.equal(full.body.length, items.find((f) => f.full_path.endsWith('images/cover.jpg'))!.file_size);

      // Browser headers are counted, not required.
      await sim.resetStats();
      await get('/api/v2/collections/');
      await get('/api/v2/collections/', { headers: { 'user-agent': BROWSER_UA } });
      const stats = await sim.stats();
      assert.equal(stats.nonBrowserRequests, 1);
      assert.equal(stats.requests.total, 2);
    },
    startExactly,
  );
});

test('the default guard (8/s, burst 16 per IP) answers a burst of requests from one address with origin 403s and samples', async () => {
  await withSim(
    ['--seed', '9', '--books', '4'],
    async (sim, cat, me) => {
      const { get, listing } = client(sim, me);
      const control = (await get('/__sim/control')).json<Record<string, unknown>>();
      assert.deepEqual([control.guardRate, control.guardBurst], [8, 16], 'the defaults');
      // 80 requests in batches of 16: even a slow machine serves them faster than 8 a second refill.
      const statuses: number[] = [];
      const servers = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const batch = await Promise.all(Array.from({ length: 16 }, () => get('/api/v2/collections/')));
        for (const r of batch) {
          statuses.push(r.status);
          if (r.status === 403) {
            servers.add(String(r.headers.server));
            assert.deepEqual(r.json(), { detail: 'Requests from scripted clients on this network are limited. Slow down.' });
          }
        }
      }
      const refused = statuses.filter((s) => s === 403).length;
      assert.ok(refused >= 20, `${refused} of 80 refused`);
      assert.equal(statuses.filter((s) => s === 200).length + refused, 80);
      assert.deepEqual([...servers], ['istio-envoy'], 'from the origin, never AkamaiGHost');
      const stats = await sim.stats();
      assert.equal(stats.guard.forbidden, refused);
      assert.equal(stats.sent['403'], refused);
      const b = bookOf(cat);
      await sim.control({ guardRate: 0 });
      const items = await listing(b.id);
      const chapter = items.find((f) => f.kind === 'chapter')!;
      // A budget of one request per 1000 s: after one more request, the address is surely past it.
      await sim.control({ guardRate: 0.001, guardBurst: 1 });
      await get('/api/v2/collections/');
      const throttled = await simWhole(fileItemUrl(sim.url, b.id, chapter), { cookie: me });
      assert.equal(throttled.status, 200);
      assert.ok(throttled.body.length <= 2000 && chapter.file_size > 8 * 1024, `a sample: ${throttled.body.length} of ${chapter.file_size}`);
      assert.equal(
        (
          await get(
            fileItemUrl(
              sim.url,
              b.id,
              items.find((f) => f.kind === 'image')!,
            ),
          )
        ).status,
        403,
      );
      assert.equal((await get('/profile/')).status, 302, 'the profile is not guarded');
      assert.equal((await get('/login/')).status, 200, 'nor the login page');
      const after = await sim.stats();
      assert.ok(after.guard.samples >= 1);
      assert.ok(after.samplesServed >= after.guard.samples);
    },
    startExactly,
  );
});

test('--guard-rate and --guard-burst set the guard; --guard-rate 0 turns it off', async () => {
  await withSim(['--seed', '9', '--books', '2', '--guard-rate', '0.05', '--guard-burst', '3'], async (sim, _cat, me) => {
    const { get } = client(sim, me);
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((await get('/api/v2/collections/')).status);
    assert.deepEqual(seen, [200, 200, 200, 403]);
    assert.equal((await sim.stats()).guard.forbidden, 1);
  });
  await withSim(['--seed', '9', '--books', '2', '--guard-rate', '0'], async (sim, _cat, me) => {
    const { get } = client(sim, me);
    const batch = await Promise.all(Array.from({ length: 40 }, () => get('/api/v2/collections/')));
    assert.ok(batch.every((r) => r.status === 200));
  });
});

test('with every 2026-09 switch off, bookd sim behaves as it did before', async () => {
  const off = [
    '--file-gate',
    'off',
    '--guard-rate',
    '0',
    '--partial-cookies',
    'ignore',
    '--profile-mode',
    'plain',
    '--profile-refresh',
    'on',
    '--token-endpoint',
    'off',
    '--duplicate-login-cookies',
    'off',
    '--anonymous-listing',
    'off',
    '--package-layouts',
    'off',
    '--listing-variants',
    'off',
    '--token-ttl',
    '600',
  ];
  await withSim(['--seed', '9', '--books', '8', ...off], async (sim, cat, me) => {
    const { get, listing, chapters } = client(sim, me);
    const control = (await get('/__sim/control')).json<Record<string, unknown>>();
    assert.deepEqual(
      [
        control.fileGate,
        control.guardRate,
        control.partialCookies,
        control.profileMode,
        control.profileRefresh,
        control.tokenEndpoint,
        control.duplicateLoginCookies,
        control.anonymousListing,
      ],
      [false, 0, 'ignore', 'plain', true, false, false, false],
    );
    const books = cat.books.filter((b) => b.format === 'book');
    assert.ok(books.every((b) => b.layout === 'oebps-text' && b.variants.length === 0));
    for (const b of books) {
      const items = await listing(b.id);
      assert.ok(items.every((f) => typeof f.url === 'string'));
      assert.deepEqual(
        items.filter((f) => f.media_type === 'application/oebps-package+xml').map((f) => f.full_path),
        ['OEBPS/content.opf'],
      );
      assert.ok(items.some((f) => f.full_path === 'META-INF/container.xml'));
      for (const ch of await chapters(b.id)) {
        assert.match(String(ch.reference_id), new RegExp(`^${b.id}-/OEBPS/text/ch\\d\\d\\.xhtml$`));
        assert.ok(ch.ourn.endsWith(String(ch.reference_id).slice(b.id.length + 2)));
      }
      const chapter = items.find((f) => f.kind === 'chapter')!;
      assert.equal((await get(chapter.url!)).body.length, chapter.file_size, 'whole without download=false');
    }
    const b = books[0]!;
    const batch = await Promise.all(Array.from({ length: 40 }, () => get('/api/v2/collections/')));
    assert.ok(
      batch.every((r) => r.status === 200),
      'no guard',
    );

    const { groot_sessionid: _g, ...partial } = me;
    assert.equal((await get(`/api/v2/epubs/urn:orm:book:${b.id}/`, { cookie: partial })).status, 200, 'orm-jwt alone is enough');
    const profile = await get('/profile/');
    assert.equal(profile.status, 200);
    assert.match(profile.text, /"user_type":"Individual"/);
    const login = await simRequest(`${sim.url}/api/v1/auth/login/`, { method: 'POST', body: JSON.stringify({ email: 'user3@sim.test', password: 'pw-3' }) });
    assert.equal(login.setCookies.length, 8);
    assert.equal((await get('/api/v1/auth/openid/token/')).status, 401, 'no token endpoint');
    assert.equal((await simRequest(`${sim.url}/api/v2/search/?query=*`)).status, 401, 'the listing needs a token');
    assert.equal((await get('/api/v2/search/?query=*')).status, 200);

    await sim.control({ advanceClockMs: 601_000 });
    assert.equal((await get('/api/v2/collections/')).status, 401);
    const refreshed = await get('/profile/');
    assert.equal(refreshed.status, 200);
    const jwt = refreshed.setCookies
      .find((l) => l.startsWith('orm-jwt='))!
      .split(';')[0]!
      .slice('orm-jwt='.length);
    assert.equal((await get('/api/v2/collections/', { cookie: { ...me, 'orm-jwt': jwt } })).status, 200, '/profile/ refreshes the token');
    const stats = await sim.stats();
    assert.deepEqual([stats.samplesServed, stats.partialCookieHits, stats.profileRedirects, stats.tokenRefreshes, stats.guard.forbidden], [0, 0, 0, 0, 0]);
    assert.equal(stats.refreshes, 1);
  });
});
