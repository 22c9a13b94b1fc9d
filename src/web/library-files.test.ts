import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { strToU8, zipSync } from 'fflate';
import { DEFAULT_TUNING } from '../config.js';
import { openStore, type Store } from '../db/store.js';
import { tempDir } from '../../test/helpers/cli.js';
import { libraryRoutes } from './library-routes.js';

const CONTAINER = `<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>`;
const OPF = `<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"/><manifest/></package>`;

describe('the library file routes on a real server and store', () => {
  let store: Store;
  let server: Server;
  let base: string;
  let cleanup: () => void;
  let bytes: Buffer;

  before(async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const root = join(t.dir, 'library');
    mkdirSync(join(root, 'Go'), { recursive: true });
    bytes = Buffer.from(zipSync({ mimetype: strToU8('application/epub+zip'), 'META-INF/container.xml': strToU8(CONTAINER), 'content.opf': strToU8(OPF) }));
    writeFileSync(join(root, 'Go', 'No Cover (1).epub'), bytes);
    writeFileSync(join(root, 'Go', 'Old (2).mobi'), 'MOBI');
    store = openStore(':memory:');
    const row = { title: 'No Cover', authors: [], skills: ['Go'], archivedAt: 1, mode: 'package' as const, gaps: [] };
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await store.books.record({ ...row, id: '1', format: 'epub', path: 'Go/No Cover (1).epub', sha256, bytes: bytes.length });
    await store.books.record({ ...row, id: '2', format: 'kindle', path: 'Go/Old (2).mobi', sha256: 'm', bytes: 4 });
    await store.books.record({ ...row, id: '3', format: 'epub', path: 'Go/Gone (3).epub', sha256: 'g', bytes: 4 });
    const routes = libraryRoutes({ books: store.books, libraryRoot: root, tuning: DEFAULT_TUNING.opds });
    server = createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://x');
        for (const r of routes) if (await r(req, res, url)) return;
        res.writeHead(418).end();
      })();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((r) => server.close(r));
    await store.close();
    cleanup();
  });

  test('a file is streamed whole with its type, length, name and ETag; HEAD and If-None-Match', async () => {
    const res = await fetch(`${base}/library/1/epub`);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
    assert.equal(res.headers.get('content-type'), 'application/epub+zip');
    assert.equal(res.headers.get('content-length'), String(bytes.length));
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="No Cover (1).epub"; filename*=UTF-8''No%20Cover%20%281%29.epub`);
    const etag = res.headers.get('etag')!;
    assert.match(etag, /^"[0-9a-f]{64}"$/);
    const head = await fetch(`${base}/library/1/epub`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    assert.equal((await fetch(`${base}/library/1/epub`, { headers: { 'if-none-match': etag } })).status, 304);
    const mobi = await fetch(`${base}/library/2/kindle`);
    assert.equal(mobi.headers.get('content-type'), 'application/x-mobipocket-ebook');
    assert.equal(await mobi.text(), 'MOBI');
  });

  test('a book without a cover image gets the placeholder; a book whose file is gone is 404', async () => {
    for (const path of ['/library/1/epub/cover', '/library/1/epub/cover?size=thumbnail']) {
      const res = await fetch(base + path);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/svg+xml');
      assert.match(await res.text(), /^<svg [^>]*>.*no cover/);
    }
    const gone = await fetch(`${base}/library/3/epub`, { headers: { accept: 'application/json' } });
    assert.equal(gone.status, 404);
    assert.deepEqual(await gone.json(), { error: 'The book is catalogued but its file is not in the library.' });
    assert.equal((await fetch(`${base}/library/3/epub/cover`)).status, 404);
    const plain = await fetch(`${base}/library/9/epub`);
    assert.equal(plain.status, 404);
    assert.equal(plain.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal((await fetch(`${base}/library/1/epub`, { method: 'PUT' })).headers.get('allow'), 'GET, HEAD');
  });
});
