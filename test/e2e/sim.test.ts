import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { runCli, startCli, tempDir } from '../helpers/cli.js';
import { chapterPathOf, fileItemUrl, simRequest, simWhole, startSimProcess, type SimCatalogue, type SimProcess } from '../helpers/sim.js';
import { generateCatalogue } from '../../src/sim/catalogue.js';
import { bookContent } from '../../src/sim/package.js';
import { chapterText } from '../../src/sim/markup.js';

// The bulk-access guard is off: these tests fire requests back to back (test/e2e/sim-live.test.ts covers it).
const ARGS = ['--seed', '3', '--books', '12', '--poison', '--hostile', '--big-books', '1', '--big-chapters', '250', '--rotate', 'off', '--guard-rate', '0'];

let sim: SimProcess;
let cat: SimCatalogue;
let me: Record<string, string>;

before(async () => {
  sim = await startSimProcess(ARGS);
  cat = await sim.catalogue();
  [me] = (await sim.mint(1)) as [Record<string, string>];
});

after(async () => {
  await sim?.stop();
});

const api = (path: string) => `${sim.url}${path}`;
const get = (path: string, extra: Parameters<typeof simRequest>[1] = {}) => simRequest(api(path), { cookie: me, ...extra });
const bookWith = (pred: (b: SimCatalogue['books'][number]) => boolean) => {
  const b = cat.books.find(pred);
  assert.ok(b, 'no such book in the catalogue');
  return b;
};
const plain = () => bookWith((b) => b.format === 'book' && b.flags.length === 0 && b.chapters === 8);

interface FileItem {
  url?: string;
  full_path: string;
  filename: string;
  filename_ext: string;
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

async function allPages<T>(first: string): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let pages = 0;
  for (let next: string | null = first; next && pages < 100; pages++) {
    const res = await simRequest(next, { cookie: me });
    assert.equal(res.status, 200, next);
    const page = res.json<Page<T>>();
    items.push(...page.results);
    next = page.next;
  }
  return { items, pages };
}

test('bookd sim prints its base URL first, logs to stderr only, and exits 0 on SIGTERM and on SIGINT', async () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const run = await startCli(['sim', '--port', '0', '--books', '2']);
    assert.match(run.firstLine, /^http:\/\/127\.0\.0\.1:\d+$/);
    // A keep-alive connection left open must not hold the exit up.
    const res = await request(`${run.firstLine}/login/`);
    await res.body.dump();
    const exit = await run.stop(signal);
    assert.deepEqual(exit, { code: 0, signal: null }, run.stderr());
    assert.deepEqual(run.lines, [], 'nothing but the URL on stdout');
    assert.doesNotMatch(run.stderr(), /\n\s+at /, 'no stack trace');
  }
});

test('--help documents every flag; bad values exit 2 with one line', async () => {
  const help = await runCli(['sim', '--help']);
  assert.equal(help.code, 0);
  for (const flag of [
    '--host',
    '--port',
    '--seed',
    '--books',
    '--skills',
    '--chapters',
    '--chapter-kb',
    '--images',
    '--image-kb',
    '--big-books',
    '--accounts',
    '--rotate',
    '--rotate-age',
    '--grace',
    '--token-ttl',
    '--stale-mode',
    '--latency',
    '--jitter',
    '--bandwidth',
    '--rate-limit',
    '--burst',
    '--edge-limit',
    '--fail-rate',
    '--reset-rate',
    '--stall-rate',
    '--short-rate',
    '--poison',
    '--hostile',
    '--mint-cookies',
    '--file-gate',
    '--guard-rate',
    '--guard-burst',
    '--partial-cookies',
    '--profile-mode',
    '--profile-refresh',
    '--token-endpoint',
    '--duplicate-login-cookies',
    '--anonymous-listing',
    '--package-layouts',
    '--listing-variants',
  ])
    assert.match(help.stdout, new RegExp(`${flag}\\b`), flag);
  for (const bad of [
    ['--rotate', 'sometimes'],
    ['--stale-mode', 'maybe'],
    ['--fail-rate', '2'],
    ['--port', '70000'],
    ['--books', '-1'],
    ['--skills', ' , '],
    ['--grace', 'x'],
    ['--fail-rate', '0.6', '--stall-rate', '0.6'],
    ['/tmp/somewhere'],
    ['--mint-cookies', '2'],
    ['--latency', '1.5'],
    ['--file-gate', 'maybe'],
    ['--guard-rate', '-1'],
    ['--guard-burst', '0'],
    ['--partial-cookies', '403'],
    ['--profile-mode', 'sso'],
    ['--profile-refresh', 'yes'],
    ['--token-endpoint', '1'],
    ['--duplicate-login-cookies', 'true'],
    ['--anonymous-listing', ''],
    ['--package-layouts', 'varied'],
    ['--listing-variants', 'none'],
  ]) {
    const r = await runCli(['sim', ...bad]);
    assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(r.stdout, '');
  }
});

test('--mint-cookies writes flat cookie files that a later sim with the same seed accepts', async () => {
  const { dir, cleanup } = tempDir('bookd-sim-mint-');
  let later: SimProcess | undefined;
  try {
    const r = await runCli(['sim', '--mint-cookies', '2', dir, '--seed', '11']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(dir).sort(), ['cookies-1.json', 'cookies-2.json']);
    const file = join(dir, 'cookies-1.json');
    assert.equal(statSync(file).mode & 0o777, 0o600, 'cookie files are private');
    const cookies = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    for (const name of ['orm-jwt', 'orm-rt', 'groot_sessionid', 'logged_in', 'csrf_access_token', '_abck', 'bm_sz', 'BrowserCookie']) {
      assert.equal(typeof cookies[name], 'string', name);
    }
    later = await startSimProcess(['--seed', '11', '--books', '3']);
    const res = await simRequest(`${later.url}/api/v2/collections/`, { cookie: cookies });
    assert.equal(res.status, 200);
    const stats = await later.stats();
    assert.equal(stats.requests.bySession.m1, 1);
    const other = await simRequest(api('/api/v2/collections/'), { cookie: cookies });
    assert.equal(other.status, 401, 'a sim with another seed refuses them');
  } finally {
    await later?.stop();
    cleanup();
  }
});

test('the same seed serves a byte-identical catalogue and package, equal to bookContent()', async () => {
  const twin = await startSimProcess(ARGS);
  try {
    const [a, b] = await Promise.all([simRequest(api('/__sim/catalogue')), simRequest(`${twin.url}/__sim/catalogue`)]);
    assert.ok(a.body.equals(b.body), 'catalogues differ');
    const book = plain();
    const source = bookContent(generateCatalogue(cat.options), book.id)!;
    const { items } = await allPages<FileItem>(api(`/api/v2/epubs/urn:orm:book:${book.id}/files/?limit=7`));
    assert.deepEqual(
      items.map((f) => f.full_path),
      source.files.filter((f) => f.path !== 'mimetype').map((f) => f.path),
    );
    const [twinCookie] = await twin.mint(1);
    const prefix = `/api/v2/epubs/urn:orm:book:${book.id}/files/`;
    for (const item of items) {
      // download=false and an HTML Accept: the whole file, not a sample.
      const url = fileItemUrl(sim.url, book.id, item);
      const served = await simWhole(url, { cookie: me });
      const again = await simWhole(url.replace(sim.url, twin.url), { cookie: twinCookie });
      assert.equal(served.status, 200, item.full_path);
      assert.equal(served.body.length, item.file_size, `${item.full_path}: file_size`);
      assert.ok(served.body.equals(again.body), `${item.full_path} differs between processes`);
      const expected = source.byPath.get(item.full_path)!.bytes;
      if (/xhtml|oebps|dtbncx|css/.test(item.media_type)) {
        // The files API makes package references absolute; turning them back gives the package bytes.
        const dir = item.full_path.split('/').slice(0, -1);
        const unrewritten = served.text.replace(new RegExp(`${prefix}([^"#)]+)`, 'g'), (_m, target: string) => relative(dir, target.split('/')));
        assert.equal(unrewritten, expected.toString('utf8'), item.full_path);
      } else {
        assert.ok(served.body.equals(expected), item.full_path);
      }
    }
  } finally {
    await twin.stop();
  }
});

function relative(fromDir: string[], to: string[]): string {
  let i = 0;
  while (i < fromDir.length && i < to.length - 1 && fromDir[i] === to[i]) i++;
  return [...fromDir.slice(i).map(() => '..'), ...to.slice(i)].join('/');
}

test('search: by id (archive_id ≠ isbn too), topic listings with pages, videos and foreign books among them, deep pages 403', async () => {
  const odd = bookWith((b) => b.format === 'book' && b.id !== b.isbn);
  for (const q of [odd.id, odd.isbn]) {
    const res = await get(`/api/v2/search/?query=${q}&formats=book&limit=1`);
    assert.equal(res.status, 200);
    const [hit] = res.json<{ results: Record<string, unknown>[] }>().results;
    assert.equal(hit?.archive_id, odd.id);
    assert.equal(hit?.isbn, odd.isbn);
    for (const key of ['title', 'authors', 'publishers', 'cover_url', 'issued', 'topics', 'web_url', 'language', 'format']) assert.ok(key in hit, key);
  }
  const skill = cat.skills[0]!;
  const listed = cat.books.filter((b) => b.skills.includes(skill));
  const seen: Record<string, unknown>[] = [];
  let page = 0;
  for (let url: string | null = api(`/api/v2/search/?query=*&topics=${encodeURIComponent(skill)}&formats=book&limit=5&page=0`); url; page++) {
    const body: { results: Record<string, unknown>[]; total: number; page: number; next: string | null } = (await simRequest(url, { cookie: me })).json();
    assert.equal(body.total, listed.length);
    assert.equal(body.page, page);
    seen.push(...body.results);
    url = body.next;
  }
  assert.deepEqual(
    seen.map((r) => r.archive_id),
    listed.map((b) => b.id),
  );
  assert.ok(
    seen.some((r) => r.format === 'video'),
    'a video among the books',
  );
  const cpp = await get(`/api/v2/search/?query=*&topics=${encodeURIComponent('C++')}&limit=100&page=0`);
  assert.ok(cpp.json<{ total: number }>().total > 0);
  const all = await get('/api/v2/search/?query=*&limit=100&page=0');
  assert.ok(
    all.json<{ results: { language: string }[] }>().results.some((r) => r.language !== 'en'),
    'a non-English book',
  );
  const deep = await get(`/api/v2/search/?query=*&topics=${encodeURIComponent(skill)}&formats=book&limit=100&page=11`);
  assert.equal(deep.status, 403);
  assert.equal((await get('/api/v2/search/?query=*&limit=100&page=10')).status, 200);
});

test('metadata (no authors/publishers/cover), table of contents, spine, collections and covers', async () => {
  const book = plain();
  const meta = (await get(`/api/v2/epubs/urn:orm:book:${book.id}/`)).json<Record<string, unknown>>();
  for (const key of [
    'ourn',
    'identifier',
    'isbn',
    'title',
    'descriptions',
    'language',
    'publication_date',
    'virtual_pages',
    'tags',
    'content_format',
    'chapters',
    'table_of_contents',
    'spine',
    'files',
  ]) {
    assert.ok(key in meta, key);
  }
  for (const key of ['authors', 'publishers', 'cover', 'cover_url']) assert.ok(!(key in meta), key);
  assert.equal(meta.title, book.title);
  const toc = (await simRequest(meta.table_of_contents as string, { cookie: me })).json<
    { depth: number; href: string; children: { fragment: string; href: string; depth: number }[] }[]
  >();
  assert.equal(toc.length, 8);
  assert.equal(toc[0]!.depth, 1);
  assert.ok(toc[0]!.children.length >= 2 && toc[0]!.children[0]!.fragment === 'sec-1-1' && toc[0]!.children[0]!.depth === 2);
  const spine = (await simRequest(meta.spine as string, { cookie: me })).json<{
    count: number;
    next: string | null;
    results: { title: string; reference_id: string; ourn: string }[];
  }>();
  assert.equal(spine.count, 8);
  assert.equal(spine.next, null);
  assert.deepEqual(
    spine.results.map((r) => r.title),
    toc.map((t) => (t as unknown as { title: string }).title),
    'reading order',
  );
  const cols = (await get('/api/v2/collections/')).json<{ uuid: string; name: string; content: { ourn: string }[] }[]>();
  assert.ok(cols.length >= 2 && cols.every((c) => c.content.length > 0));
  assert.ok(
    cols.some((c) => c.content.some((x) => x.ourn.startsWith('urn:orm:video:'))),
    'a playlist holds a video',
  );
  assert.equal((await get(`/api/v2/collections/${cols[0]!.uuid}/`)).json<{ name: string }>().name, cols[0]!.name);
  const cover = await simRequest(api(`/library/cover/${book.id}/`));
  assert.equal(cover.status, 200);
  assert.equal(cover.headers['content-type'], 'image/jpeg');
  assert.equal(cover.body.subarray(0, 2).toString('hex'), 'ffd8');
  const full = await simRequest(api(`/library/cover/${book.id}/600/`));
  assert.equal(full.status, 200);
  assert.ok(full.body.length > cover.body.length, 'the /600/ cover is the full-resolution one, the bare URL a thumbnail');
  assert.ok(full.body.equals(bookContent(generateCatalogue(cat.options), book.id)!.files.find((f) => f.path.endsWith('images/cover.jpg'))!.bytes));
});

test("the chapter list paginates (a 250-chapter book too); each content_url serves an HTML page with the XHTML file's text", async () => {
  const big = bookWith((b) => b.chapters === 250);
  const { items, pages } = await allPages<{ content_url: string; reference_id: string }>(
    api(`/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${big.id}&limit=100`),
  );
  assert.equal(items.length, 250);
  assert.equal(pages, 3);
  const files = await allPages<FileItem>(api(`/api/v2/epubs/urn:orm:book:${big.id}/files/?limit=100`));
  assert.equal(files.items.length, big.files);
  assert.ok(files.pages >= 3);

  const book = plain();
  const chapters = (await get(`/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${book.id}`)).json<
    Page<{
      ourn: string;
      title: string;
      reference_id?: string;
      content_url: string;
      related_assets: { images: string[]; stylesheets: string[] };
      virtual_pages: number;
      minutes_required: number;
    }>
  >();
  assert.equal(chapters.count, 8);
  for (const ch of chapters.results) {
    // reference_id, or (variant encoded-ourn) the percent-encoded end of the ourn.
    const path = chapterPathOf(ch);
    assert.match(path, book.layout === 'root-html' ? /^ch\d\d\.html$/ : /^(OEBPS|EPUB)\/(text|xhtml)\/ch\d\d\.xhtml$/);
    assert.ok(decodeURIComponent(ch.ourn).endsWith(path));
    assert.equal(ch.reference_id === undefined, book.variants.includes('encoded-ourn'));
    assert.ok(ch.content_url.startsWith(`${sim.url}/api/v2/epubs/urn:orm:book:${book.id}/files/${path}`));
    assert.ok(ch.related_assets.images.length >= 2 && ch.related_assets.images.every((u) => u.startsWith('http://')));
    assert.equal(ch.related_assets.stylesheets.length, 1);
    assert.ok(ch.virtual_pages > 0 && ch.minutes_required > 0);
    const page = await simWhole(ch.content_url, { cookie: me });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.text, /^<html><head><link rel="stylesheet"/);
    assert.match(page.text, /<div id="sbo-rt-content"><section data-type="chapter"/);
    const xhtml = await simWhole(api(`/api/v2/epubs/urn:orm:book:${book.id}/files/${path}`), { cookie: me });
    assert.match(xhtml.text, /^<\?xml /);
    assert.equal(chapterText(page.text), chapterText(xhtml.text), path);
    for (const img of ch.related_assets.images) assert.equal((await simRequest(img, { cookie: me })).status, 200, img);
    // Relative image references resolve against content_url to the files API.
    for (const m of page.text.matchAll(/<img src="([^"]+)"/g)) {
      const resolved = new URL(m[1]!, ch.content_url).href;
      assert.ok(ch.related_assets.images.includes(resolved), `${m[1]} → ${resolved}`);
    }
  }
});

test('the files list has every package file but mimetype, with the live fields, and each url serves its bytes', async () => {
  for (const book of cat.books.filter((b) => b.format === 'book' && b.flags.length === 0 && b.chapters === 8)) {
    const { items } = await allPages<FileItem>(api(`/api/v2/epubs/urn:orm:book:${book.id}/files/`));
    const root = book.layout === 'root-html' ? '' : book.layout === 'epub-xhtml' ? 'EPUB/' : 'OEBPS/';
    assert.equal(items.length, book.files);
    assert.ok(!items.some((f) => f.full_path === 'mimetype'));
    assert.equal(
      items.some((f) => f.full_path === 'META-INF/container.xml'),
      !book.variants.includes('no-container'),
      book.id,
    );
    const opfs = items.filter((f) => f.media_type === 'application/oebps-package+xml');
    assert.equal(opfs.length, book.variants.includes('decoy-opf') ? 2 : 1);
    const opf = opfs.find((f) => f.filename === 'content.opf')!;
    assert.equal(opf.full_path, `${root}content.opf`);
    const keys = ['file_size', 'filename', 'filename_ext', 'full_path', 'kind', 'media_type', ...(book.variants.includes('no-url') ? [] : ['url'])];
    assert.deepEqual(Object.keys(opf).sort(), keys);
    assert.deepEqual([...new Set(items.map((f) => f.kind))].sort(), ['chapter', 'font', 'html', 'image', 'other_asset', 'stylesheet']);
    const png = items.find((f) => f.full_path === `${root}images/b/figure.png`)!;
    assert.deepEqual([png.filename, png.filename_ext, png.media_type], ['figure.png', '.png', 'image/png']);
    const res = await simRequest(fileItemUrl(sim.url, book.id, png), { cookie: me });
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(Number(res.headers['content-length']), res.body.length);
    assert.equal(res.body.length, png.file_size);
    const css = await simRequest(
      fileItemUrl(
        sim.url,
        book.id,
        items.find((f) => f.kind === 'stylesheet')!,
      ),
      { cookie: me },
    );
    assert.match(css.text, new RegExp(`url\\("/api/v2/epubs/urn:orm:book:${book.id}/files/${root}fonts/SimSans-Regular\\.woff"\\)`));
    assert.equal((await get(`/api/v2/epubs/urn:orm:book:${book.id}/files/mimetype`)).status, 404);
  }
  assert.deepEqual(new Set(cat.books.map((b) => b.layout)).size, 4, 'the catalogue holds every layout');
});

test("bad requests get the live service's errors and never crash the sim", async () => {
  const unknown = await get('/api/v2/epubs/urn:orm:book:9999999999999/');
  assert.equal(unknown.status, 404);
  assert.deepEqual(unknown.json(), { message: 'Not found' });
  for (const path of [
    '/api/v2/epubs/urn:orm:book:12ab/',
    '/api/v2/epubs/9781234567890/',
    '/api/v2/epubs/urn:orm:book:%zz/files/x',
    '/api/v2/epub-chapters/?epub_identifier=nope',
  ]) {
    const res = await get(path);
    assert.equal(res.status, 400, path);
    assert.equal(typeof res.json<{ message?: string; detail?: string }>().message, 'string', path);
  }
  assert.deepEqual((await get('/api/v1/book/9781234567890/')).json(), { detail: 'Not found.' });
  assert.equal((await get('/api/v2/epub-chapters/')).status, 400);
  assert.equal((await get(`/api/v2/epubs/urn:orm:book:${plain().id}/files/OEBPS/nope.png`)).status, 404);
  assert.equal((await get(`/api/v2/epubs/urn:orm:book:${plain().id}/files/?limit=abc`)).status, 400);
  assert.equal((await get('/api/v2/search/?query=*&page=-1')).status, 400);
  assert.equal((await get('/api/v2/collections/', { method: 'POST', body: '{}' })).status, 405);
  assert.equal((await get('/api/v1/auth/login/')).status, 405);
  assert.equal((await get('/no/such/page')).status, 404);
  const video = bookWith((b) => b.format === 'video');
  assert.equal((await get(`/api/v2/epubs/urn:orm:book:${video.id}/`)).status, 404);
  const audiobook = bookWith((b) => b.format === 'audiobook');
  assert.match(audiobook.id, /^\d{13}AU$/);
  assert.deepEqual((await get(`/api/v2/epubs/urn:orm:book:${audiobook.id}/`)).json(), { message: 'Not found' });

  // Raw bytes no HTTP client would send.
  for (const raw of [
    'GET //../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
    'NONSENSE\r\n\r\n',
    'GET /profile/ HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
    'GET /api/v2/search/?query=%ff%fe HTTP/1.1\r\nHost: \u0000\r\n\r\n',
  ]) {
    const answer = await new Promise<string>((resolve) => {
      const s = connect(Number(new URL(sim.url).port), '127.0.0.1');
      let out = '';
      s.on('data', (d) => (out += d.toString('latin1')));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
      s.end(raw);
    });
    assert.match(answer, /^HTTP\/1\.1 \d{3} /, JSON.stringify(raw));
  }
  assert.equal((await get('/login/')).status, 200, 'still serving');
});

test('poison books: listed but 404, one chapter always 500 in both APIs, one missing image', async () => {
  const missing = bookWith((b) => b.flags.includes('poison-missing'));
  const listing = (await get(`/api/v2/search/?query=*&topics=${encodeURIComponent(missing.skills[0]!)}&limit=100`)).json<{
    results: { archive_id: string }[];
  }>();
  assert.ok(listing.results.some((r) => r.archive_id === missing.id));
  assert.equal((await get(`/api/v2/epubs/urn:orm:book:${missing.id}/`)).status, 404);
  assert.equal((await get(`/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${missing.id}`)).status, 404);

  const failing = bookWith((b) => b.flags.includes('poison-chapter'));
  const file = `/api/v2/epubs/urn:orm:book:${failing.id}/files/${failing.specialFile}`;
  for (let i = 0; i < 3; i++) {
    assert.equal((await get(file)).status, 500);
    assert.equal((await get(`${file}?format=html`)).status, 500);
  }
  assert.equal((await get(file.replace('ch02', 'ch01'))).status, 200);

  const gap = bookWith((b) => b.flags.includes('poison-image'));
  const { items } = await allPages<FileItem>(api(`/api/v2/epubs/urn:orm:book:${gap.id}/files/?limit=100`));
  assert.ok(
    items.some((f) => f.full_path === gap.specialFile),
    'the missing image is listed',
  );
  assert.equal((await get(`/api/v2/epubs/urn:orm:book:${gap.id}/files/${gap.specialFile}`)).status, 404);
  assert.equal((await get(`/api/v2/epubs/urn:orm:book:${gap.id}/files/OEBPS/images/a/figure.png`)).status, 200);
});

/** Reads at most `limit` bytes of a response, then drops the connection: a client that gives up mid-body. */
async function partial(url: string, limit: number): Promise<{ status: number; headers: Record<string, unknown>; bytes: number; first: Buffer }> {
  const res = await request(url, {
    headers: {
      cookie: Object.entries(me)
        .map(([k, v]) => `${k}=${v}`)
        .join('; '),
    },
  });
  let bytes = 0;
  let first: Buffer = Buffer.alloc(0);
  for await (const chunk of res.body) {
    if (first.length === 0) first = chunk as Buffer;
    bytes += (chunk as Buffer).length;
    if (bytes >= limit) break;
  }
  res.body.destroy();
  return { status: res.statusCode, headers: res.headers, bytes, first };
}

test('hostile books: escaping paths, 1 GiB and endless bodies, a gzip bomb, HTML and JSON as images, invalid XML, remote refs', async () => {
  const of = (flag: string) => bookWith((b) => b.flags.includes(flag as never));
  const files = (id: string) => allPages<FileItem>(api(`/api/v2/epubs/urn:orm:book:${id}/files/?limit=100`)).then((p) => p.items);

  const paths = await files(of('hostile-paths').id);
  assert.ok(paths.some((f) => f.full_path.includes('../')) && paths.some((f) => f.full_path.startsWith('/')));

  const huge = await partial(api(`/api/v2/epubs/urn:orm:book:${of('hostile-huge').id}/files/${of('hostile-huge').specialFile}`), 4 << 20);
  assert.equal(huge.headers['content-length'], String(1 << 30));
  assert.ok(huge.bytes >= 4 << 20);

  const endless = await partial(api(`/api/v2/epubs/urn:orm:book:${of('hostile-endless').id}/files/${of('hostile-endless').specialFile}`), 2 << 20);
  assert.equal(endless.headers['transfer-encoding'], 'chunked');
  assert.equal(endless.headers['content-length'], undefined);

  const bomb = await get(`/api/v2/epubs/urn:orm:book:${of('hostile-gzip-bomb').id}/files/${of('hostile-gzip-bomb').specialFile}`);
  assert.equal(bomb.headers['content-encoding'], 'gzip');
  assert.ok(bomb.body.length < 2 << 20, `${bomb.body.length} bytes on the wire`);
  assert.equal(bomb.body.subarray(0, 2).toString('hex'), '1f8b');

  const fakePng = await get(`/api/v2/epubs/urn:orm:book:${of('hostile-html-image').id}/files/${of('hostile-html-image').specialFile}`);
  assert.equal(fakePng.headers['content-type'], 'image/png');
  assert.match(fakePng.text, /^<!DOCTYPE html>/);

  const jsonImage = await get(`/api/v2/epubs/urn:orm:book:${of('hostile-json-image').id}/files/${of('hostile-json-image').specialFile}`);
  assert.equal(jsonImage.status, 200);
  assert.doesNotThrow(() => jsonImage.json());

  const invalid = await simWhole(api(`/api/v2/epubs/urn:orm:book:${of('hostile-invalid-xml').id}/files/${of('hostile-invalid-xml').specialFile}`), {
    cookie: me,
  });
  assert.match(invalid.text, /<b>bold <i>and<\/b> crossed<\/i>/);

  const remote = of('hostile-remote-refs');
  assert.match(
    (await simWhole(api(`/api/v2/epubs/urn:orm:book:${remote.id}/files/${remote.specialFile}?format=html`), { cookie: me })).text,
    /http:\/\/evil\.invalid\//,
  );
  assert.match((await get(`/api/v2/epubs/urn:orm:book:${remote.id}/files/OEBPS/styles/book.css`)).text, /http:\/\/evil\.invalid\//);

  const flagged = cat.books.filter((b) => b.flags.some((f) => f.startsWith('hostile-')));
  assert.equal(flagged.length, 8);
  assert.equal((await get('/login/')).status, 200, 'still serving after clients gave up mid-body');
});

test('stats: requests by session and endpoint, concurrency per session, full downloads per book', async () => {
  await sim.resetStats();
  const [other] = (await sim.mint(1)) as [Record<string, string>];
  const book = plain();
  const chapters = (await get(`/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${book.id}&limit=50`)).json<Page<{ content_url: string }>>().results;
  for (const ch of chapters) await simRequest(ch.content_url, { cookie: me });
  assert.equal((await sim.stats()).downloads[book.id], undefined, 'samples (no download=false) are no download');
  for (const ch of chapters.slice(0, 7)) await simWhole(ch.content_url, { cookie: me });
  assert.equal((await sim.stats()).downloads[book.id], undefined, 'seven of eight chapters is not a download');
  await simWhole(chapters[7]!.content_url, { cookie: me });
  assert.equal((await sim.stats()).downloads[book.id], 1);

  const { items } = await allPages<FileItem>(api(`/api/v2/epubs/urn:orm:book:${book.id}/files/?limit=100`));
  for (const f of items.filter((x) => x.kind !== 'other_asset' && x.kind !== 'html')) await simWhole(fileItemUrl(sim.url, book.id, f), { cookie: me });
  assert.equal((await sim.stats()).downloads[book.id], 2, 'every chapter and asset through the files API is another');

  // Held for 300 ms each, three requests sent together are in flight at once.
  await sim.control({ latencyMs: 300 });
  try {
    await Promise.all([1, 2, 3].map(() => simRequest(api('/api/v2/collections/'), { cookie: other })));
  } finally {
    await sim.control({ latencyMs: 0 });
  }
  const stats = await sim.stats();
  const mine = Object.entries(stats.requests.bySession).find(([, n]) => n > 20)![0];
  assert.equal(stats.maxConcurrency[mine], 1, 'one request at a time');
  const otherSid = Object.keys(stats.requests.bySession).find((s) => s !== mine)!;
  assert.equal(stats.requests.bySession[otherSid], 3);
  assert.equal(stats.maxConcurrency[otherSid], 3, 'three at once');
  assert.equal(stats.requests.byEndpoint['chapter-content'], 16);
  assert.equal(stats.samplesServed, 8);
  assert.equal(stats.requests.byEndpoint.collections, 3);
  assert.ok(stats.requests.byEndpoint.file! >= items.length - 5);
  assert.equal(
    stats.requests.total,
    Object.values(stats.requests.byEndpoint).reduce((a, b) => a + b, 0),
  );
});
