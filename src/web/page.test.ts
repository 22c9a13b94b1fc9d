import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock.js';
import { DEFAULT_TUNING } from '../config.js';
import { openStore } from '../db/store.js';
import { readLive } from './live.js';
import { renderPage } from './page.js';

test('the page: what to do for each session, Retry for each failed job, CSRF in every form, hostile text escaped, no inline script or style', async () => {
  const clock = new ManualClock();
  const store = openStore(':memory:', clock);
  const jar = JSON.stringify({ version: 'tough-cookie@6', storeType: 'MemoryCookieStore', rejectPublicSuffixes: true, cookies: [] });
  for (const name of ['alice', 'bob', 'carol']) await store.sessions.add({ name, jarJson: jar });
  await store.sessions.setState('alice', 'expired', { lastError: 'the service logged this session out' });
  await store.sessions.setState('bob', 'disabled');
  const [added] = await store.jobs.enqueue([
    { kind: 'book', payload: { bookId: '9781492056348', format: 'epub', skills: ['Go'], title: '<script>alert(1)</script>' } },
  ]);
  const [claimed] = await store.jobs.claim({ owner: 'w', limit: 1, leaseMs: 60_000 });
  await store.jobs.fail(claimed!.id, claimed!.leaseToken, { kind: 'permanent', message: 'book <b>gone</b>' });
  await store.books.record({
    id: '9780000000002',
    format: 'epub',
    title: 'A "quoted" <img src=x onerror=alert(1)> title',
    authors: ['Ann'],
    skills: ['Go'],
    path: 'Go/a.epub',
    sha256: 'x',
    bytes: 2_500_000,
    archivedAt: clock.now(),
    mode: 'package',
    gaps: ['images/missing.png'],
  });
  const live = await readLive(store, clock, { tuning: DEFAULT_TUNING, expiryWarningMs: 86_400_000 }, async () => ({
    booksPerHour: 12.5,
    requestsPerSecond: 2.25,
    etaMs: 3_600_000,
    remaining: 12,
  }));
  const page = renderPage({ live, ctx: { csrf: 'CSRF-TOKEN', loggedIn: false }, q: '"><script>', hits: await store.books.list(), libraryTotal: 1 });

  assert.match(
    page,
    /alice[\s\S]*log in again in the browser, then run[\s\S]*<code>bookd sessions renew alice --from-browser BROWSER\[:PROFILE\] \(or --cookies FILE\)<\/code>/,
  );
  assert.match(page, /action="\/api\/sessions\/bob\/enable"/);
  assert.match(page, /bookd sessions enable bob/);
  assert.match(page, /action="\/api\/sessions\/carol\/disable"/);
  assert.match(page, new RegExp(`action="/api/jobs/${added!.id}/retry"`));
  assert.match(page, /permanent: book &lt;b&gt;gone&lt;\/b&gt;/);
  assert.match(page, /Retry all 1 failed/);
  assert.match(page, /data-pace="books">13</);
  assert.match(page, /data-pace="requests">2\.25</);
  assert.match(page, /1h \(12 books left\)/);
  assert.match(page, /2\.4 MB/);
  assert.match(page, /1 gap/);
  assert.match(page, /href="\/library\/9780000000002\/epub"/);
  assert.match(page, /src="\/library\/9780000000002\/epub\/cover"/);

  const forms = page.match(/<form method="post"[\s\S]*?<\/form>/g)!;
  assert.ok(forms.length >= 6);
  for (const f of forms) assert.match(f, /<input type="hidden" name="_csrf" value="CSRF-TOKEN"/, f);
  assert.doesNotMatch(page, /<script>alert|<img src=x|"><script>/, 'hostile text is escaped');
  assert.equal(page.match(/<script/g)!.length, 1, 'one script element, the external one');
  assert.doesNotMatch(page, /<[^>]*\s(style|on[a-z]+)=/i, 'no inline style or handler in any tag');
  await store.close();
});
