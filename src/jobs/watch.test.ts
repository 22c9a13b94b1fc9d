import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { openStore } from '../db/store.js';
import { silentLogger } from '../log.js';
import type { Playlist } from '../oreilly/types.js';
import type { Listed } from './grown.js';
import { watchRunner } from './watch.js';

const GROWN = '9781492056348';
const SAME = '9781098118723';
const NEW = '9781492077206';

async function setup() {
  const clock = new ManualClock(1_000_000);
  const store = openStore(':memory:', clock, { random: () => 0.5, watchRetryBaseMs: 60_000 });
  for (const id of [GROWN, SAME]) {
    await store.books.record({
      id,
      format: 'epub',
      title: `Book ${id}`,
      authors: [],
      skills: [],
      path: `Uncategorised/${id}.epub`,
      sha256: 'a'.repeat(64),
      bytes: 1,
      archivedAt: 1,
      mode: 'package',
      gaps: [],
      virtualPages: 100,
      issued: '2025-01-01T00:00:00Z',
    });
  }
  let failing = true;
  const asked: string[][] = [];
  const run = watchRunner({
    store,
    clock,
    logger: silentLogger,
    jitterPercent: 10,
    playlists: () => (failing ? Promise.reject(new Error('the playlists request answered 503')) : Promise.resolve([playlist])),
    listed: (ids) => {
      asked.push(ids);
      return Promise.resolve(new Map<string, Listed>(ids.map((id) => [id, { issued: id === GROWN ? '2025-02-01T00:00:00Z' : '2025-01-01T00:00:00Z' }])));
    },
  });
  const playlist: Playlist = { uuid: 'u-1', name: 'Reading list', bookIds: [GROWN, SAME, NEW] };
  return { clock, store, run, asked, succeed: () => (failing = false) };
}

test('a playlist watch whose request failed tries again after a backoff, not a period', async () => {
  const { clock, store, run, succeed } = await setup();
  const w = await store.watches.add({ kind: 'playlist', target: 'Reading list', options: { format: 'epub' }, periodMs: 86_400_000 });
  await run(new AbortController().signal);
  let after = (await store.watches.get(w.id))!;
  assert.equal(after.lastFound?.error, 'the playlists request answered 503');
  assert.equal(after.nextRunAt, clock.now() + 30_000, 'half a minute (random 0.5 of the 1-minute base), not a day');
  clock.advance(29_999);
  await run(new AbortController().signal);
  assert.equal((await store.watches.get(w.id))!.failures, 1, 'not due yet');
  clock.advance(1);
  await run(new AbortController().signal);
  after = (await store.watches.get(w.id))!;
  assert.equal(after.failures, 2);
  assert.equal(after.nextRunAt, clock.now() + 60_000, 'the second failure in a row waits twice as long');
  clock.advance(60_000);
  succeed();
  await run(new AbortController().signal);
  after = (await store.watches.get(w.id))!;
  assert.equal(after.failures, 0);
  assert.equal(after.nextRunAt, clock.now() + 86_400_000, 'a run that worked is a period from the next');
});

test('a playlist watch queues the new book and re-archives only the catalogued one that grew, keeping the previous file when asked', async () => {
  const { store, run, asked, succeed } = await setup();
  succeed();
  const w = await store.watches.add({ kind: 'playlist', target: 'u-1', options: { format: 'epub', keepPrevious: true }, periodMs: 86_400_000 });
  await run(new AbortController().signal);
  assert.deepEqual(asked, [[GROWN, SAME]], 'only the catalogued books are looked up');
  assert.deepEqual((await store.watches.get(w.id))!.lastFound, { added: 1, updated: 1 });
  const jobs = (await store.views.list({})).map((j) => (j.kind === 'book' ? j.payload : undefined));
  assert.deepEqual(
    jobs.map((p) => p && { bookId: p.bookId, update: p.update ?? false, keepPrevious: p.keepPrevious ?? false }),
    [
      { bookId: NEW, update: false, keepPrevious: false },
      { bookId: GROWN, update: true, keepPrevious: true },
    ],
  );
});
