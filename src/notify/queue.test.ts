import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock.js';
import { createDeliveryQueue, retryDelay, type DeliveryQueueOptions, type DeliveryResult } from './queue.js';

/** Lets the queue's promise chains run (no timers involved). */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function setup(over: Partial<DeliveryQueueOptions> = {}) {
  const clock = new ManualClock();
  const gaveUp: string[] = [];
  const dropped: string[] = [];
  const q = createDeliveryQueue({
    clock,
    attempts: 3,
    retryBaseMs: 1000,
    retryCapMs: 10_000,
    maxQueued: 10,
    concurrency: 2,
    random: () => 1,
    onGiveUp: (label, why, tries) => gaveUp.push(`${label}: ${why} after ${tries}`),
    onDrop: (label, why) => dropped.push(`${label}: ${why}`),
    ...over,
  });
  return { clock, q, gaveUp, dropped };
}

test('backoff doubles from the base up to the cap, the upper half jittered', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => retryDelay(n, 1000, 10_000, () => 1)),
    [1000, 2000, 4000, 8000, 10_000, 10_000],
  );
  assert.equal(
    retryDelay(3, 1000, 10_000, () => 0),
    2000,
    'never below half',
  );
});

test('a failing delivery is tried again after the backoff, and given up (once, logged) after the last attempt', async () => {
  const { clock, q, gaveUp } = setup();
  const at: number[] = [];
  q.push({
    label: 'x',
    attempt: () => {
      at.push(clock.now());
      return Promise.resolve<DeliveryResult>({ ok: false, retry: true, why: 'ECONNREFUSED' });
    },
  });
  await settle();
  assert.equal(at.length, 1, 'tried at once');
  clock.advance(999);
  await settle();
  assert.equal(at.length, 1, 'not before the backoff');
  clock.advance(1);
  await settle();
  assert.equal(at.length, 2);
  clock.advance(2000);
  await settle();
  assert.equal(at.length, 3);
  clock.advance(60_000);
  await settle();
  assert.equal(at.length, 3, 'bounded attempts');
  assert.deepEqual(gaveUp, ['x: ECONNREFUSED after 3']);
  assert.equal(q.size(), 0);
});

test('a failure another try cannot mend (a 404) is given up at once; a success is not retried; a throw counts as a failure', async () => {
  const { q, gaveUp } = setup();
  let ok = 0;
  q.push({ label: 'gone', attempt: () => Promise.resolve<DeliveryResult>({ ok: false, retry: false, why: 'answered HTTP 404' }) });
  q.push({ label: 'fine', attempt: () => (ok++, Promise.resolve<DeliveryResult>({ ok: true })) });
  q.push({ label: 'throws', attempt: () => Promise.reject(new Error('boom')) });
  await settle();
  assert.deepEqual(gaveUp, ['gone: answered HTTP 404 after 1']);
  assert.equal(ok, 1);
  assert.equal(q.size(), 1, 'the one that threw waits for its retry');
});

test('the queue is bounded: past maxQueued the oldest waiting delivery is dropped (reported), never more kept', async () => {
  const { q, dropped } = setup({ maxQueued: 3, concurrency: 1 });
  const never = () => new Promise<DeliveryResult>(() => {});
  for (let i = 0; i < 6; i++) q.push({ label: `d${i}`, attempt: never });
  await settle();
  assert.equal(q.size(), 3);
  // d0 is in flight (hanging); the waiting ones are dropped oldest first.
  assert.deepEqual(dropped, ['d1: full', 'd2: full', 'd3: full']);
  q.close();
  assert.deepEqual(dropped.slice(3), ['d4: closing', 'd5: closing']);
});

test('a retry waiting for its turn holds no slot: a dead receiver does not hold up the next delivery', async () => {
  const { q } = setup({ concurrency: 1 });
  const done: string[] = [];
  q.push({ label: 'dead', attempt: () => Promise.resolve<DeliveryResult>({ ok: false, retry: true, why: 'ECONNREFUSED' }) });
  q.push({ label: 'live', attempt: () => (done.push('live'), Promise.resolve<DeliveryResult>({ ok: true })) });
  await settle();
  assert.deepEqual(done, ['live']);
});

test('flush waits for what is queued, at most the time it is given', async () => {
  const { clock, q } = setup();
  let release: () => void = () => {};
  q.push({ label: 'slow', attempt: () => new Promise<DeliveryResult>((r) => (release = () => r({ ok: true }))) });
  let flushed = false;
  const f = q.flush(5000).then(() => (flushed = true));
  await settle();
  assert.equal(flushed, false);
  release();
  await f;
  assert.equal(q.size(), 0);

  q.push({ label: 'hangs', attempt: () => new Promise<DeliveryResult>(() => {}) });
  let gaveUpWaiting = false;
  const g = q.flush(5000).then(() => (gaveUpWaiting = true));
  await settle();
  clock.advance(4999);
  await settle();
  assert.equal(gaveUpWaiting, false);
  clock.advance(1);
  await g;
  assert.equal(q.size(), 1, 'still in flight, but flush returned');
});
