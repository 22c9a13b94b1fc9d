import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, posix } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tuned } from '../../src/config.js';
import type { BookRecord } from '../../src/db/books.js';
import { openStore, type Store } from '../../src/db/store.js';
import { parseXml } from '../../src/epub/xml.js';
import { libraryRoutes } from '../../src/web/library-routes.js';
import { ACQUISITION_TYPE, NAVIGATION_TYPE, OPENSEARCH_TYPE } from '../../src/web/opds-feed.js';
import type { Route } from '../../src/web/route.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { linkOf, parseFeed, type FeedEntry, type ParsedFeed } from '../helpers/feed.js';
import { addSessions, bookdEnv } from '../helpers/library.js';
import { startSimProcess, type SimCatalogue, type SimCatalogueBook, type SimProcess } from '../helpers/sim.js';

const SKILLS = ['Go', 'Rust', 'C++'];
const PAGE_SIZE = 4;
const ACQUISITION = 'http://opds-spec.org/acquisition';

/** The routes on a plain node server, as the daemon's web server mounts them after its auth check. */
async function serve(routes: Route[]): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://placeholder');
      for (const route of routes) if (await route(req, res, url)) return;
      res.writeHead(418, { 'content-type': 'text/plain' }).end('no route\n');
    })().catch((err: unknown) => {
      res.destroy(err as Error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('OPDS and the library files over a library archived from the sim', () => {
  let sim: SimProcess;
  let cat: SimCatalogue;
  /** The sim's ordinary books, and those of them discovery found and archived. */
  let simBooks: SimCatalogueBook[];
  let books: SimCatalogueBook[];
  let store: Store;
  let root: string;
  let base: string;
  let server: Server;
  let cleanup: () => void;
  let dir: string;

  before(async () => {
    sim = await startSimProcess(['--seed', '41', '--books', '14', '--skills', SKILLS.join(', ')]);
    cat = await sim.catalogue();
    simBooks = cat.books.filter((b) => b.format === 'book' && b.flags.length === 0);
    ({ dir, cleanup } = tempDir());
    const env = bookdEnv(join(dir, 'data'), sim.url);
    await addSessions(sim, 2, dir, env);
    const enqueue = await runCli(['enqueue', '--skills', SKILLS.join(', '), '--format', 'both'], { env });
    assert.equal(enqueue.code, 0, enqueue.stderr);
    const run = await runCli(['run', '--until-empty'], { env, timeoutMs: 180_000 });
    assert.equal(run.code, 0, run.stderr);
    root = join(dir, 'data', 'library');
    store = openStore(join(dir, 'data', 'bookd.db'));
    const archived = new Set((await store.books.list()).map((r) => r.id));
    books = simBooks.filter((b) => archived.has(b.id));
    const tuning = tuned({ opds: { pageSize: PAGE_SIZE } });
    ({ url: base, server } = await serve(libraryRoutes({ books: store.books, libraryRoot: root, tuning: tuning.opds })));
  });

  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await store?.close();
    await sim?.stop();
    cleanup?.();
  });

  async function get(path: string, init?: RequestInit): Promise<Response> {
    return fetch(new URL(path, base), init);
  }

  async function feed(path: string, type: string): Promise<ParsedFeed> {
    const res = await get(path);
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    assert.equal(res.headers.get('content-type'), type, path);
    return parseFeed(await res.text(), new URL(path, base).href);
  }

  /** Every entry of an acquisition feed, following `next` (at most 50 pages); the pages' sizes. */
  async function allPages(path: string): Promise<{ entries: FeedEntry[]; sizes: number[]; last: ParsedFeed }> {
    const entries: FeedEntry[] = [];
    const sizes: number[] = [];
    let next: string | undefined = path;
    let last: ParsedFeed | undefined;
    for (let i = 0; next !== undefined && i < 50; i++) {
      last = await feed(next, ACQUISITION_TYPE);
      entries.push(...last.entries);
      sizes.push(last.entries.length);
      next = linkOf(last.links, 'next')?.href;
    }
    assert.equal(next, undefined, 'paging ends');
    return { entries, sizes, last: last! };
  }

  test('the catalogue holds books of the sim, each in both formats and with skills', async () => {
    const rows = await store.books.list();
    assert.ok(books.length >= 10 && books.length >= simBooks.length - 2, `${books.length} of ${simBooks.length} books archived`);
    assert.ok(rows.every((r) => books.some((b) => b.id === r.id)));
    assert.equal(rows.length, books.length * 2);
    assert.ok(rows.every((r) => r.skills.length > 0));
  });

  test('the root is a navigation feed linking newest, by skill, all, and search', async () => {
    const nav = await feed('/opds', NAVIGATION_TYPE);
    const rels = nav.entries.map((e) => [e.title, e.links[0]?.rel, new URL(e.links[0]!.href).pathname, e.links[0]?.type]);
    assert.deepEqual(rels, [
      ['Newest', 'http://opds-spec.org/sort/new', '/opds/newest', ACQUISITION_TYPE],
      ['By skill', 'subsection', '/opds/skills', NAVIGATION_TYPE],
      ['All books', 'subsection', '/opds/all', ACQUISITION_TYPE],
    ]);
    assert.equal(new URL(linkOf(nav.links, 'search')!.href).pathname, '/opds/search.xml');
    assert.equal(linkOf(nav.links, 'search')!.type, OPENSEARCH_TYPE);
    // A trailing slash is the same feed.
    assert.equal((await feed('/opds/', NAVIGATION_TYPE)).entries.length, 3);
  });

  test('"All books" lists every archived book once, in pages of the tuned size, with its metadata and links', async () => {
    const { entries, sizes, last } = await allPages('/opds/all');
    const pages = Math.ceil(books.length / PAGE_SIZE);
    assert.equal(sizes.length, pages);
    assert.ok(sizes.slice(0, -1).every((n) => n === PAGE_SIZE));
    assert.equal(new URL(linkOf(last.links, 'first')!.href).search, '');
    assert.equal(new URL(linkOf(last.links, 'last')!.href).search, `?page=${pages}`);
    assert.equal(new URL(linkOf(last.links, 'previous')!.href).search, pages > 2 ? `?page=${pages - 1}` : '');
    assert.deepEqual(entries.map((e) => e.id).sort(), books.map((b) => `urn:orm:book:${b.id}`).sort());
    const titles = entries.map((e) => e.title);
    assert.deepEqual(
      titles,
      [...titles].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base', numeric: true })),
      'by title',
    );
    for (const e of entries) {
      const b = books.find((x) => `urn:orm:book:${x.id}` === e.id)!;
      assert.equal(e.title, b.title);
      assert.deepEqual(e.authors, b.authors);
      assert.equal(e.summary, b.description, `${b.id}: the summary is the EPUB's dc:description`);
      assert.ok(e.identifier?.startsWith('urn:'), e.identifier);
      assert.deepEqual(new Set(e.categories), new Set(b.skills));
      const acq = e.links.filter((l) => l.rel === ACQUISITION);
      assert.deepEqual(
        acq.map((l) => [new URL(l.href).pathname, l.type]),
        [
          [`/library/${b.id}/epub`, 'application/epub+zip'],
          [`/library/${b.id}/kindle`, 'application/epub+zip'],
        ],
      );
      assert.ok(linkOf(e.links, 'http://opds-spec.org/image'), `${b.id} has a cover`);
      assert.ok(linkOf(e.links, 'http://opds-spec.org/image/thumbnail'), `${b.id} has a thumbnail`);
    }
    assert.equal((await get(`/opds/all?page=${pages + 1}`)).status, 404);
    assert.equal((await get('/opds/all?page=abc')).status, 400);
    assert.equal((await get('/opds/all?page=0')).status, 400);
  });

  test('"Newest" is newest first; each skill feed holds exactly its books', async () => {
    const newest = (await allPages('/opds/newest')).entries;
    const archived = new Map((await store.books.list()).map((r) => [`urn:orm:book:${r.id}`, r.archivedAt]));
    const times = newest.map((e) => archived.get(e.id)!);
    assert.equal(newest.length, books.length);
    assert.ok(
      times.every((t, i) => i === 0 || t <= times[i - 1]!),
      'newest first',
    );

    const nav = await feed('/opds/skills', NAVIGATION_TYPE);
    assert.deepEqual(nav.entries.map((e) => e.title).sort(), [...SKILLS].sort());
    for (const skillEntry of nav.entries) {
      const link = skillEntry.links[0]!;
      assert.equal(link.type, ACQUISITION_TYPE);
      const listed = (await allPages(new URL(link.href).pathname)).entries.map((e) => e.id).sort();
      const expected = books.filter((b) => b.skills.includes(skillEntry.title)).map((b) => `urn:orm:book:${b.id}`);
      assert.deepEqual(listed, expected.sort(), skillEntry.title);
    }
    assert.equal((await get('/opds/skills/Haskell')).status, 404);
  });

  test('an acquisition link downloads the EPUB the catalogue records, under its own name', async () => {
    const entry = (await feed('/opds/all', ACQUISITION_TYPE)).entries[0]!;
    for (const link of entry.links.filter((l) => l.rel === ACQUISITION)) {
      const [, , id, format] = new URL(link.href).pathname.split('/');
      const row = (await store.books.get(id!, format as BookRecord['format']))!;
      const res = await fetch(link.href);
      assert.equal(res.status, 200);
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(sha256(body), row.sha256, 'the bytes the catalogue records');
      assert.equal(body.length, row.bytes);
      assert.equal(res.headers.get('content-length'), String(row.bytes));
      assert.equal(link.length, String(row.bytes));
      assert.equal(res.headers.get('content-type'), 'application/epub+zip');
      assert.equal(res.headers.get('etag'), `"${row.sha256}"`);
      assert.equal(body.subarray(30, 58).toString('latin1'), 'mimetypeapplication/epub+zip');
      const cd = res.headers.get('content-disposition')!;
      const encoded = /filename\*=UTF-8''(\S+)$/.exec(cd)![1]!;
      assert.equal(decodeURIComponent(encoded), posix.basename(row.path));
      assert.match(cd, /^attachment; filename="[\x20-\x7e]+"; /);

      const head = await fetch(link.href, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(row.bytes));
      assert.equal((await head.arrayBuffer()).byteLength, 0);
      const again = await fetch(link.href, { headers: { 'if-none-match': `"${row.sha256}"` } });
      assert.equal(again.status, 304);

      // A download resumed part-way: the rest of the same file, and the whole of it again once it changed.
      const half = Math.floor(row.bytes / 2);
      const rest = await fetch(link.href, { headers: { range: `bytes=${half}-`, 'if-range': `"${row.sha256}"` } });
      assert.equal(rest.status, 206);
      assert.equal(rest.headers.get('content-range'), `bytes ${half}-${row.bytes - 1}/${row.bytes}`);
      assert.equal(res.headers.get('accept-ranges'), 'bytes');
      assert.equal(sha256(Buffer.concat([body.subarray(0, half), Buffer.from(await rest.arrayBuffer())])), row.sha256);
      const changed = await fetch(link.href, { headers: { range: `bytes=${half}-`, 'if-range': '"another-file"' } });
      assert.equal(changed.status, 200);
      assert.equal(sha256(Buffer.from(await changed.arrayBuffer())), row.sha256);
      const past = await fetch(link.href, { headers: { range: `bytes=${row.bytes}-` } });
      assert.equal(past.status, 416);
      assert.equal(past.headers.get('content-range'), `bytes */${row.bytes}`);
      await past.arrayBuffer();
    }
  });

  test('covers and thumbnails are the images inside the EPUBs', async () => {
    const entries = (await allPages('/opds/all')).entries;
    for (const e of entries) {
      for (const rel of ['http://opds-spec.org/image', 'http://opds-spec.org/image/thumbnail']) {
        const link = linkOf(e.links, rel)!;
        const res = await fetch(link.href);
        assert.equal(res.status, 200, link.href);
        assert.equal(res.headers.get('content-type'), link.type);
        const body = Buffer.from(await res.arrayBuffer());
        assert.equal(res.headers.get('content-length'), String(body.length));
        const magic = body.subarray(0, 4).toString('hex');
        const expected: Record<string, (m: string) => boolean> = {
          'image/jpeg': (m) => m.startsWith('ffd8ff'),
          'image/png': (m) => m === '89504e47',
          'image/gif': (m) => m === '47494638',
        };
        assert.ok(expected[link.type!]?.(magic), `${link.href}: ${link.type} starting ${magic}`);
      }
    }
    // The same image as the sim's own full-size cover.
    const b = books[0]!;
    const ours = Buffer.from(await (await get(`/library/${b.id}/epub/cover`)).arrayBuffer());
    const theirs = Buffer.from(await (await fetch(`${sim.url}/library/cover/${b.id}/600/`)).arrayBuffer());
    assert.equal(sha256(ours), sha256(theirs));
  });

  test('OpenSearch: the description parses and its template finds a title', async () => {
    const res = await get('/opds/search.xml');
    assert.equal(res.headers.get('content-type'), OPENSEARCH_TYPE);
    const doc = parseXml(await res.text());
    assert.ok(doc);
    const url = Array.from(doc.documentElement!.getElementsByTagName('Url')).find((u) => u.getAttribute('type') === ACQUISITION_TYPE)!;
    const template = url.getAttribute('template')!;
    const b = books.find((x) => /[^\x00-\x7f]|[:"'/+]/.test(x.title)) ?? books[0]!;
    const hits = await allPages(template.replace('{searchTerms}', encodeURIComponent(b.title)));
    assert.ok(
      hits.entries.some((e) => e.title === b.title),
      `searching "${b.title}" finds it`,
    );
    const none = await feed(`/opds/search?q=${encodeURIComponent('no such book anywhere')}`, ACQUISITION_TYPE);
    assert.equal(none.entries.length, 0);
  });

  test('unknown books and feeds are 404, other methods 405, other paths are left to the next route', async () => {
    const missing = await get('/library/0000000000000/epub', { headers: { accept: 'application/json' } });
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: 'No such book in the library.' });
    assert.equal((await get(`/library/${books[0]!.id}/pdf`)).status, 404);
    assert.equal((await get(`/library/${books[0]!.id}/epub/cover/x`)).status, 418);
    assert.equal((await get('/library/%E0%A4%A/epub')).status, 404);
    assert.equal((await get('/opds/nothing')).status, 404);
    assert.equal((await get(`/library/${books[0]!.id}/epub`, { method: 'POST' })).status, 405);
    assert.equal((await get('/opds', { method: 'DELETE' })).status, 405);
    assert.equal((await get('/api/status')).status, 418);
    assert.equal((await get('/opdsx')).status, 418);
  });

  test('a hostile title and file name: the feed still parses, the download is named right', async () => {
    const row = (await store.books.get(books[1]!.id, 'epub'))!;
    const name = `Evil "quote" <b>tag & 'apos' ü 100%41; x.epub`;
    const rel = posix.join(posix.dirname(row.path), name);
    renameSync(join(root, row.path), join(root, rel));
    const title = `Evil <script>alert("x")</script> & 'apos' \u0001\u0008 ]]> ü`;
    await store.books.record({ ...row, title, path: rel });
    const all = (await allPages('/opds/all')).entries;
    const e = all.find((x) => x.id === `urn:orm:book:${row.id}`)!;
    assert.equal(e.title, `Evil <script>alert("x")</script> & 'apos'  ]]> ü`);
    const res = await fetch(linkOf(e.links, ACQUISITION)!.href);
    assert.equal(res.status, 200);
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), row.sha256);
    const cd = res.headers.get('content-disposition')!;
    assert.equal(
      cd,
      `attachment; filename="Evil _quote_ <b>tag & 'apos' u 100_41; x.epub"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`,
    );
    assert.equal(decodeURIComponent(/filename\*=UTF-8''(\S+)$/.exec(cd)![1]!), name);
  });

  test('a catalogue row that points outside the library is refused, by text or by symbolic link', async () => {
    const secret = join(dir, 'data', 'x');
    writeFileSync(secret, 'not for readers');
    const row = (await store.books.get(books[2]!.id, 'kindle'))!;
    const cover = books[3]!;
    const coverRow = (await store.books.get(cover.id, 'epub'))!;
    // A real EPUB outside the library, reachable through a link inside it.
    const outside = join(dir, 'outside', 'book.epub');
    mkdirSync(dirname(outside), { recursive: true });
    writeFileSync(outside, readFileSync(join(root, coverRow.path)));
    symlinkSync(outside, join(root, 'linked.epub'));
    for (const path of ['../x', join(dir, 'data', 'x'), 'linked.epub', '../outside/book.epub']) {
      await store.books.record({ ...row, path });
      const res = await get(`/library/${row.id}/kindle`);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(await res.text(), /not for readers/);
      await store.books.record({ ...coverRow, path, sha256: `tampered-${path}` });
      assert.equal((await get(`/library/${cover.id}/epub/cover`)).status, 404, `cover through ${path}`);
    }
    // The feed still lists them (the catalogue says they exist), without a cover it cannot read.
    const e = (await allPages('/opds/all')).entries.find((x) => x.id === `urn:orm:book:${cover.id}`)!;
    assert.equal(linkOf(e.links, 'http://opds-spec.org/image'), undefined);
    assert.equal(e.summary, undefined);
  });
});
