import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../clock.js';
import { DEFAULT_EXPIRY_WARNING_MS, DEFAULT_TUNING, tuned, type TuningOverrides } from '../config.js';
import { openStore } from '../db/store.js';
import { BookdError } from '../errors.js';
import { silentLogger } from '../log.js';
import { parseCookieExport } from '../pool/cookie-import.js';
import { jarFromImport, serializeJar } from '../pool/jar.js';
import { SessionPool } from '../pool/pool.js';
import { Daemon, type JobHandler } from './daemon.js';
import { createEventBus, type BookdEvent } from './events.js';

/** A daemon with one session (never asked anything: the handler decides) and two book jobs, run until the queue is empty. */
async function runWith(book: (pool: SessionPool) => JobHandler, overrides: TuningOverrides = {}): Promise<{ heard: BookdEvent[]; fatal: string | undefined }> {
  const url = 'http://127.0.0.1:9';
  const store = openStore(':memory:');
  const jwt = `x.${Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url')}.y`;
  await store.sessions.add({ name: 's1', jarJson: serializeJar(jarFromImport(parseCookieExport(JSON.stringify({ 'orm-jwt': jwt })).cookies, url).jar) });
  await store.jobs.enqueue([
    { kind: 'book', payload: { bookId: '9781000000001', format: 'epub', skills: [], title: 'First' } },
    { kind: 'book', payload: { bookId: '9781000000002', format: 'epub', skills: [] } },
  ]);
  const tuning = tuned({ ...overrides, daemon: { pollMs: 20, tickMs: 50, healthyWithinMs: 1000, ...overrides.daemon } });
  const events = createEventBus(systemClock);
  const heard: BookdEvent[] = [];
  events.on((e) => heard.push(e));
  const pool = await SessionPool.open({ baseUrl: url, store: store.sessions, logger: silentLogger, intervalMs: 0, tuning, events });
  const never: JobHandler = () => Promise.reject(new Error('no discovery here'));
  const daemon = new Daemon({
    store,
    pool,
    handlers: { book: book(pool), discover: never },
    logger: silentLogger,
    graceMs: 1000,
    tuning,
    expiryWarningMs: DEFAULT_EXPIRY_WARNING_MS,
    untilEmpty: true,
    lanes: 1,
    events,
  });
  try {
    const summary = await daemon.run();
    return { heard, fatal: summary.fatal };
  } finally {
    await pool.close();
    await store.close();
  }
}

test('a book that fails permanently is one book.failed with its id, title and job; the drain follows once', async () => {
  const { heard } = await runWith(() => () => Promise.reject(new BookdError('permanent', 'the book is withdrawn')));
  const failed = heard.filter((e) => e.event === 'book.failed');
  assert.deepEqual(
    failed.map((e) => [e.book, e.job]),
    [
      [{ id: '9781000000001', title: 'First' }, 1],
      [{ id: '9781000000002' }, 2],
    ],
  );
  assert.match(failed[0]!.message, /^book 9781000000001 \(First\) failed for good: the book is withdrawn; see bookd jobs show 1, and bookd jobs retry 1/);
  assert.deepEqual(
    heard.filter((e) => e.event === 'job.changed').map((e) => e.message),
    ['job 1 started', 'job 1 failed', 'job 2 started', 'job 2 failed'],
  );
  assert.equal(heard.filter((e) => e.event === 'queue.drained').length, 1);
  assert.match(heard.at(-1)!.message, /^the queue is empty: 0 jobs done, 2 failed for good/);
});

test("the library's disk refusing a write is storage.full with what to do, and no drain (the job waits in the queue)", async () => {
  const { heard, fatal } = await runWith(() => () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })));
  assert.match(fatal ?? '', /disk refused a write/);
  const full = heard.filter((e) => e.event === 'storage.full');
  assert.equal(full.length, 1);
  assert.match(full[0]!.message, /^the library's disk refused a write \(ENOSPC: no space left on device, write\): free space or fix the disk; claiming pauses/);
  assert.equal(full[0]!.job, 1);
  assert.ok(!heard.some((e) => e.event === 'queue.drained' || e.event === 'book.failed'));
});

test('every session paused by the edge past the threshold is one edge.blocked while the episode lasts', async () => {
  let first = true;
  const { heard } = await runWith(
    (pool) => async () => {
      if (first) {
        first = false;
        pool.edge.block();
        await new Promise((r) => setTimeout(r, 600));
      }
      return { message: 'done' };
    },
    {
      edge: { baseMs: 700, maxMs: 700 },
      daemon: { edgeBlockedAlertMs: 200, periods: { ...DEFAULT_TUNING.daemon.periods, budget: 50 } },
    },
  );
  const blocked = heard.filter((e) => e.event === 'edge.blocked');
  assert.equal(blocked.length, 1, `got ${JSON.stringify(heard.map((e) => e.event))}`);
  assert.match(blocked[0]!.message, /^the edge has refused this machine since .* and every session is paused until .*: bookd waits and resumes by itself/);
});
