import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyBehaviour, ControlError, parseControl } from './control.js';
import { request } from 'undici';
import { epubcheckTs } from '../../test/helpers/epubcheck.js';
import { DEFAULT_BEHAVIOUR, type Behaviour } from './options.js';
import { bookContent } from './package.js';
import { startSim } from './server.js';
import { toEpub } from './zip.js';

test('control: the 2026-09 switches are accepted with their types and applied', () => {
  const patch = parseControl({
    fileGate: false,
    guardRate: 2.5,
    guardBurst: 4,
    partialCookies: 'ignore',
    profileMode: 'plain',
    profileRefresh: true,
    tokenEndpoint: false,
    duplicateLoginCookies: false,
    anonymousListing: false,
  });
  const b: Behaviour = structuredClone({ ...DEFAULT_BEHAVIOUR });
  applyBehaviour(b, patch);
  assert.deepEqual(
    [b.fileGate, b.guardRate, b.guardBurst, b.partialCookies, b.profileMode, b.profileRefresh, b.tokenEndpoint, b.duplicateLoginCookies, b.anonymousListing],
    [false, 2.5, 4, 'ignore', 'plain', true, false, false, false],
  );
  assert.equal(parseControl({ partialCookies: 404 }).partialCookies, '404');
  applyBehaviour(b, parseControl({ fileGate: true, guardRate: 0 }));
  assert.equal(b.fileGate, true);
  assert.equal(b.guardRate, 0);
  assert.equal(b.profileMode, 'plain', 'keys not in the patch stay');
});

test('control: bad values and unknown keys are refused with a reason', () => {
  for (const bad of [
    { fileGate: 'off' },
    { fileGate: 1 },
    { guardRate: -1 },
    { guardRate: 'fast' },
    { guardBurst: 0 },
    { guardBurst: 1.5 },
    { partialCookies: 'drop' },
    { profileMode: 'sso' },
    { profileRefresh: null },
    { tokenEndpoint: 'yes' },
    { duplicateLoginCookies: 0 },
    { anonymousListing: [] },
    { fileGates: true },
    { packageLayouts: false },
  ]) {
    assert.throws(() => parseControl(bad), ControlError, JSON.stringify(bad));
  }
  assert.throws(() => parseControl({ profileMode: 'sso' }), /profileMode must be "redirect" or "plain"/);
});

test('control growBook: parsed with an id and an optional chapter count, anything else refused', () => {
  assert.deepEqual(parseControl({ growBook: { id: ' 9781492056348 ' } }).growBook, { id: '9781492056348' });
  assert.deepEqual(parseControl({ growBook: { id: '9781492056348', chapters: 3 } }).growBook, { id: '9781492056348', chapters: 3 });
  for (const bad of [
    { growBook: '9781492056348' },
    { growBook: { id: 'abc' } },
    { growBook: { id: 9781492056348 } },
    { growBook: { id: '9781492056348', chapters: 0 } },
    { growBook: { id: '9781492056348', chapters: 2.5 } },
    { growBook: { id: '9781492056348', chapters: 101 } },
    { growBook: { id: '9781492056348', pages: 3 } },
    { growBook: null },
  ]) {
    assert.throws(() => parseControl(bad), /growBook must be/, JSON.stringify(bad));
  }
});

test('control growBook: a running sim serves the grown book (more chapters and pages, a later date) as a whole, valid EPUB', async () => {
  const sim = await startSim({ books: 6, skills: ['Go'], chapters: 4 });
  try {
    const [s] = sim.mint(1) as [Record<string, string>];
    const book = sim.catalogue.books.find((b) => b.format === 'book' && b.flags.length === 0 && b.variants.length === 0)!;
    const api = async <T>(path: string): Promise<T> => {
      const res = await request(`${sim.url}${path}`, {
        headers: {
          cookie: Object.entries(s)
            .map(([k, v]) => `${k}=${v}`)
            .join('; '),
        },
      });
      assert.equal(res.statusCode, 200, path);
      return (await res.body.json()) as T;
    };
    const meta = () => api<{ virtual_pages: number; publication_date: string }>(`/api/v2/epubs/urn:orm:book:${book.id}/`);
    const chapters = async () => (await api<{ count: number }>(`/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${book.id}`)).count;
    const listed = async () =>
      (await api<{ results: { archive_id: string; issued: string }[] }>('/api/v2/search/?query=*&topics=Go&limit=100&page=0')).results.find(
        (r) => r.archive_id === book.id,
      )!.issued;
    const before = { meta: await meta(), chapters: await chapters(), issued: await listed() };

    const answer = sim.control({ growBook: { id: book.id, chapters: 3 } });
    assert.deepEqual(answer.grownBook, { id: book.id, chapters: before.chapters + 3, issued: book.issued });
    const after = { meta: await meta(), chapters: await chapters(), issued: await listed() };
    assert.equal(after.chapters, before.chapters + 3);
    assert.ok(after.meta.virtual_pages > before.meta.virtual_pages, `${after.meta.virtual_pages} > ${before.meta.virtual_pages}`);
    assert.ok(Date.parse(after.issued) > Date.parse(before.issued), `${after.issued} is later than ${before.issued}`);
    assert.equal(after.meta.publication_date, book.issued);
    // The package the files API serves is the grown one, and it is a valid book.
    const files = await api<{ count: number; results: { full_path: string }[] }>(`/api/v2/epubs/urn:orm:book:${book.id}/files/?limit=300`);
    assert.equal(files.results.filter((f) => /ch\d+\.x?html$/.test(f.full_path)).length, after.chapters);
    assert.deepEqual(await epubcheckTs(toEpub(bookContent(sim.catalogue, book.id)!)), { errors: [], warnings: [] });

    assert.throws(() => sim.control({ growBook: { id: '9780000000002' } }), /no book 9780000000002/);
  } finally {
    await sim.close();
  }
});
